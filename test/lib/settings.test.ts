import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readSettings, SettingsError } from '../../lib/settings';

const read = (context: Record<string, unknown>, env: Record<string, string> = {}) =>
  readSettings(new App({ context }).node, env);

describe('readSettings', () => {
  it('takes defaults for everything but the region', () => {
    expect(read({ homeRegion: 'us-east-1' })).toEqual({
      homeRegion: 'us-east-1',
      alertEmails: [],
      opsEmails: [],
      sweepLagMinutes: 15,
      athenaBytesScannedCutoffGiB: 10,
      literalPrefilter: false,
      bundling: true,
    });
  });

  it('reads the values cdk.json gives as JSON', () => {
    const settings = read({
      homeRegion: 'eu-west-1',
      account: '111122223333',
      alertEmails: ['soc@example.com'],
      opsEmails: ['ops@example.com'],
      slackWebhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-AbCdEf',
      organizationId: 'o-abcdefghij',
      azureFederation: {
        tenantId: 'AAAAAAAA-2222-3333-4444-555555555555',
        audience: 'api://fwd',
        subject: 'oid',
      },
      gcpFederation: { audience: 'aws-forwarder', subject: '112233445566778899001' },
      cloudTrailLogs: {
        bucket: 'org-trail-logs',
        prefix: 'trail/',
        organizationId: 'o-abcdefghij',
        accounts: ['111122223333', '444455556666'],
        regions: ['us-east-1', 'eu-west-1'],
        kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/11111111-2222-3333-4444-555555555555',
        startDate: '2024-03-01',
      },
      sweepLagMinutes: 20,
      athenaBytesScannedCutoffGiB: 50,
      literalPrefilter: true,
      bundling: false,
    });

    expect(settings).toEqual({
      account: '111122223333',
      homeRegion: 'eu-west-1',
      alertEmails: ['soc@example.com'],
      opsEmails: ['ops@example.com'],
      slackWebhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-AbCdEf',
      organizationId: 'o-abcdefghij',
      azureFederation: {
        tenantId: 'aaaaaaaa-2222-3333-4444-555555555555',
        audience: 'api://fwd',
        subject: 'oid',
        issuer: 'v1',
      },
      gcpFederation: { audience: 'aws-forwarder', subject: '112233445566778899001' },
      cloudTrailLogs: {
        bucket: 'org-trail-logs',
        prefix: 'trail/',
        organizationId: 'o-abcdefghij',
        accounts: ['111122223333', '444455556666'],
        regions: ['us-east-1', 'eu-west-1'],
        kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/11111111-2222-3333-4444-555555555555',
        startDate: '2024-03-01',
      },
      sweepLagMinutes: 20,
      athenaBytesScannedCutoffGiB: 50,
      literalPrefilter: true,
      bundling: false,
    });
  });

  it('reads the trail, lag and cutoff from -c strings, with the trail defaults', () => {
    const settings = read({
      homeRegion: 'us-east-1',
      cloudTrailLogs: '{"bucket":"trail-bucket","prefix":"logs","regions":"us-east-1, eu-west-1"}',
      sweepLagMinutes: '30',
      athenaBytesScannedCutoffGiB: '2',
    });

    expect(settings.cloudTrailLogs).toEqual({
      bucket: 'trail-bucket',
      prefix: 'logs/',
      regions: ['us-east-1', 'eu-west-1'],
      startDate: '2025-01-01',
    });
    expect(settings.sweepLagMinutes).toBe(30);
    expect(settings.athenaBytesScannedCutoffGiB).toBe(2);
  });

  it('reads the strings -c gives: comma-separated lists, JSON objects, booleans', () => {
    const settings = read({
      homeRegion: 'us-east-1',
      alertEmails: 'a@example.com, b@example.com',
      gcpFederation: '{"audience":"aws","subject":"112233445566778899001"}',
      bundling: 'false',
      literalPrefilter: 'true',
    });

    expect(settings.alertEmails).toEqual(['a@example.com', 'b@example.com']);
    expect(settings.opsEmails).toEqual(['a@example.com', 'b@example.com']);
    expect(settings.gcpFederation).toEqual({ audience: 'aws', subject: '112233445566778899001' });
    expect(settings.bundling).toBe(false);
    expect(settings.literalPrefilter).toBe(true);
  });

  it('falls back to the CLI profile region and account', () => {
    const settings = read(
      { homeRegion: '' },
      { CDK_DEFAULT_REGION: 'eu-central-1', CDK_DEFAULT_ACCOUNT: '444455556666' },
    );

    expect(settings.homeRegion).toBe('eu-central-1');
    expect(settings.account).toBe('444455556666');
  });

  it('prefers the context region to the profile region', () => {
    expect(read({ homeRegion: 'eu-west-1' }, { CDK_DEFAULT_REGION: 'us-east-1' }).homeRegion).toBe(
      'eu-west-1',
    );
  });

  it('fails with what to set when the region is unknown', () => {
    expect(() => read({})).toThrow(SettingsError);
    expect(() => read({})).toThrow(/-c homeRegion=us-east-1/);
  });

  it.each([
    [{ homeRegion: 'Ireland' }, /"homeRegion": "Ireland" is not an AWS region/],
    [{ homeRegion: 'us-east-1', account: '12345' }, /"account"/],
    [{ homeRegion: 'us-east-1', alertEmails: ['not-an-address'] }, /"alertEmails": "not-an-address"/],
    [{ homeRegion: 'us-east-1', alertEmails: 42 }, /"alertEmails": must be a list/],
    [{ homeRegion: 'us-east-1', organizationId: 'org-1' }, /"organizationId"/],
    [{ homeRegion: 'us-east-1', slackWebhookSecretArn: 'slack' }, /"slackWebhookSecretArn"/],
    [
      { homeRegion: 'us-east-1', azureFederation: { tenantId: 'x', audience: 'a', subject: 's' } },
      /"azureFederation.tenantId"/,
    ],
    [
      {
        homeRegion: 'us-east-1',
        azureFederation: { tenantId: '11111111-2222-3333-4444-555555555555', audience: 'a*', subject: 's' },
      },
      /"azureFederation.audience"/,
    ],
    [
      { homeRegion: 'us-east-1', gcpFederation: { audience: 'a', subject: 'sa@p.iam.gserviceaccount.com' } },
      /"gcpFederation.subject"/,
    ],
    [
      {
        homeRegion: 'us-east-1',
        gcpFederation: { audience: 'a', subject: '112233445566778899001', extra: 1 },
      },
      /"gcpFederation.extra"/,
    ],
    [{ homeRegion: 'us-east-1', gcpFederation: '{not json' }, /"gcpFederation": is not valid JSON/],
    [{ homeRegion: 'us-east-1', bundling: 'maybe' }, /"bundling": must be true or false/],
    [{ homeRegion: 'us-east-1', cloudTrailLogs: { prefix: 'x/' } }, /"cloudTrailLogs.bucket": is required/],
    [{ homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'Bad_Bucket' } }, /"cloudTrailLogs.bucket"/],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', prefix: 'a*b/' } },
      /"cloudTrailLogs.prefix"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', organizationId: 'org' } },
      /"cloudTrailLogs.organizationId"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', accounts: ['123'] } },
      /"cloudTrailLogs.accounts": "123"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', accounts: [] } },
      /"cloudTrailLogs.accounts": must name/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', regions: ['mars-1'] } },
      /"cloudTrailLogs.regions"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', kmsKeyArn: 'alias/trail' } },
      /"cloudTrailLogs.kmsKeyArn"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', startDate: '2025-02-30' } },
      /"cloudTrailLogs.startDate"/,
    ],
    [
      { homeRegion: 'us-east-1', cloudTrailLogs: { bucket: 'b-1', trail: 'x' } },
      /"cloudTrailLogs.trail": is not a known field/,
    ],
    [
      { homeRegion: 'us-east-1', sweepLagMinutes: 4 },
      /"sweepLagMinutes": must be a whole number from 5 to 1440/,
    ],
    [{ homeRegion: 'us-east-1', sweepLagMinutes: '7.5' }, /"sweepLagMinutes"/],
    [{ homeRegion: 'us-east-1', athenaBytesScannedCutoffGiB: 0 }, /"athenaBytesScannedCutoffGiB"/],
    [{ homeRegion: 'us-east-1', literalPrefilter: 'sometimes' }, /"literalPrefilter"/],
  ])('rejects %j', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
