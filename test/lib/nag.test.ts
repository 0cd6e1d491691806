import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { addDetectorStacks } from '../../lib/detector-app';
import { acknowledge, acknowledgeWildcardResource, addSecurityChecks } from '../../lib/nag';
import { RULES_DIRECTORY } from '../../lib/project';
import { loadRepositoryRules } from './helpers';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** An app as bin/app.ts builds it (CloudFormation validation on, both packs), writing to a temp dir. */
function checkedApp(): App {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-nag-'));
  outdirs.push(outdir);
  return new App({ outdir });
}

interface ValidationReport {
  readonly pluginReports: ReadonlyArray<{
    readonly violations?: readonly unknown[];
    readonly summary?: unknown;
  }>;
}

function report(app: App): ValidationReport {
  return JSON.parse(
    readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
}

describe('security gates', () => {
  it('pass with no unacknowledged finding for the fullest configuration, in two regions', async () => {
    const app = checkedApp();
    addDetectorStacks(app, {
      settings: {
        account: '111122223333',
        homeRegion: 'eu-west-1',
        alertEmails: ['soc@example.com'],
        opsEmails: ['ops@example.com'],
        slackWebhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-webhook-AbCdEf',
        organizationId: 'o-abcdefghij',
        azureFederation: {
          tenantId: '11111111-2222-3333-4444-555555555555',
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
          startDate: '2025-01-01',
        },
        sweepLagMinutes: 15,
        athenaBytesScannedCutoffGiB: 10,
        literalPrefilter: false,
        bundling: false,
      },
      rules: await loadRepositoryRules(),
      rulesDirectory: RULES_DIRECTORY,
    });
    addSecurityChecks(app);

    const assembly = app.synth();

    expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual([
      'AbnormalCloudApiCalls',
      'AbnormalCloudApiCalls-IamEventForwarder',
    ]);
    const violations = report(app).pluginReports.flatMap((plugin) => plugin.violations ?? []);
    expect(violations).toEqual([]);
  });

  it('pass for the defaults of a fresh clone', async () => {
    const app = checkedApp();
    addDetectorStacks(app, {
      settings: {
        homeRegion: 'us-east-1',
        alertEmails: [],
        opsEmails: [],
        sweepLagMinutes: 15,
        athenaBytesScannedCutoffGiB: 10,
        literalPrefilter: false,
        bundling: false,
      },
      rules: await loadRepositoryRules(),
      rulesDirectory: RULES_DIRECTORY,
    });
    addSecurityChecks(app);

    expect(() => app.synth()).not.toThrow();
    expect(report(app).pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
  });

  it('fail synthesis on a finding nobody acknowledged', () => {
    const app = checkedApp();
    const stack = new Stack(app, 'Careless', { env: { account: '111122223333', region: 'us-east-1' } });
    new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    addSecurityChecks(app);

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });

  it('acknowledge a wildcard resource by its exact cdk-nag id, and no other', () => {
    const app = checkedApp();
    const stack = new Stack(app, 'Objects', { env: { account: '111122223333', region: 'us-east-1' } });
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: true });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const [acknowledged, forgotten] = [bucket.arnForObjects('read/*'), bucket.arnForObjects('other/*')];
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [acknowledged, forgotten] }),
    );
    acknowledgeWildcardResource(role, acknowledged, 'The objects under read/ are named by someone else.');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5/);
    const findings = JSON.stringify(report(app));
    expect(findings).toContain('AwsSolutions-IAM5[Resource::<Bucket83908E77.Arn>/other/*]');
    expect(findings).not.toContain('/read/*');
  });

  it('refuse an acknowledgement without a reason', () => {
    const stack = new Stack(new App(), 'Lazy');

    expect(() => acknowledge(stack, 'AwsSolutions-SQS2', 'because')).toThrow(/needs a real reason/);
  });
});
