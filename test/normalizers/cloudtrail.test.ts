import { describe, expect, it } from 'vitest';
import {
  NormalizationError,
  normalizeCloudTrail,
  TIMESTAMP_PARSE_FAILURE_TAG,
} from '../../lambda/engine/normalizers';
import {
  ctAccessDeniedByService,
  ctConsoleLoginFailure,
  ctCreatePolicyVersion,
  ctDeleteAccessKey,
  ctInsight,
  ctUpdateAssumeRolePolicy,
  get,
} from './fixtures';

describe('normalizeCloudTrail', () => {
  describe('fields', () => {
    it.each([
      ['@timestamp', ctDeleteAccessKey(), '2024-05-14T08:31:07.000Z'],
      ['event.id', ctDeleteAccessKey(), '0b5e2a71-98c4-4f3d-b1e6-7a2c9d4e8f10'],
      ['event.kind', ctDeleteAccessKey(), 'event'],
      ['event.dataset', ctDeleteAccessKey(), 'aws-cloudtrail'],
      ['event.provider', ctDeleteAccessKey(), 'AWS IAM'],
      ['event.action', ctDeleteAccessKey(), 'DeleteAccessKey'],
      ['event.outcome', ctDeleteAccessKey(), 'success'],
      ['cloud.provider', ctDeleteAccessKey(), 'aws'],
      ['cloud.account.id', ctDeleteAccessKey(), '210987654321'],
      ['cloud.region', ctDeleteAccessKey(), 'us-east-1'],
      ['user.name', ctDeleteAccessKey(), 'maria.ortega'],
      ['user.id', ctDeleteAccessKey(), 'AIDAZXCVBNMASDFGHJKL1'],
      ['source.ip', ctDeleteAccessKey(), '198.51.100.23'],
      ['source.address', ctDeleteAccessKey(), '198.51.100.23'],
      ['user_agent.original', ctDeleteAccessKey(), ctDeleteAccessKey().userAgent],
      ['related.user', ctDeleteAccessKey(), ['maria.ortega', 'ci-deployer']],
      ['related.ip', ctDeleteAccessKey(), ['198.51.100.23']],
      [
        'target',
        ctDeleteAccessKey(),
        { kind: 'access_key', id: 'AKIAQWERTYUIOPLKJH77', principal: 'ci-deployer' },
      ],
      ['aws.cloudtrail.event_source', ctDeleteAccessKey(), 'iam.amazonaws.com'],
      ['aws.cloudtrail.event_name', ctDeleteAccessKey(), 'DeleteAccessKey'],
      ['aws.cloudtrail.request_parameters', ctDeleteAccessKey(), ctDeleteAccessKey().requestParameters],
      ['aws.cloudtrail.user_identity', ctDeleteAccessKey(), ctDeleteAccessKey().userIdentity],
      ['aws.cloudtrail.tls_details.tlsVersion', ctDeleteAccessKey(), 'TLSv1.3'],
      ['user.name', ctUpdateAssumeRolePolicy(), 'AWSReservedSSO_AdminAccess_1a2b3c4d5e6f7a8b'],
      ['user.id', ctUpdateAssumeRolePolicy(), 'AROAYHJKLMNBVCXZ12345:dev.lee@example.org'],
      [
        'related.user',
        ctUpdateAssumeRolePolicy(),
        ['AWSReservedSSO_AdminAccess_1a2b3c4d5e6f7a8b', 'dev.lee@example.org'],
      ],
      ['source.ip', ctUpdateAssumeRolePolicy(), '2001:db8:4:12::7'],
      ['target', ctUpdateAssumeRolePolicy(), { kind: 'role', name: 'billing-exporter' }],
      ['@timestamp', ctCreatePolicyVersion(), '2024-05-14T10:12:31.123Z'],
      ['aws.cloudtrail.event_time', ctCreatePolicyVersion(), '2024-05-14 10:12:31.123456789'],
      [
        'target',
        ctCreatePolicyVersion(),
        { kind: 'policy', id: 'arn:aws:iam::210987654321:policy/app-runtime', set_as_default: true },
      ],
      ['user.name', ctCreatePolicyVersion(), 'github-actions-deploy'],
      ['event.provider', ctConsoleLoginFailure(), 'AWS Sign-In'],
      ['event.outcome', ctConsoleLoginFailure(), 'failure'],
      ['error.message', ctConsoleLoginFailure(), 'Failed authentication'],
      ['user.name', ctConsoleLoginFailure(), 'root'],
      ['event.provider', ctAccessDeniedByService(), 'AWS KMS'],
      ['event.outcome', ctAccessDeniedByService(), 'failure'],
      ['error.code', ctAccessDeniedByService(), 'AccessDenied'],
      ['user.name', ctAccessDeniedByService(), 'config.amazonaws.com'],
      ['source.address', ctAccessDeniedByService(), 'config.amazonaws.com'],
      ['source.ip', ctAccessDeniedByService(), undefined],
      ['related.ip', ctAccessDeniedByService(), undefined],
    ])('sets %s', (field, record, expected) => {
      // Act
      const { doc } = normalizeCloudTrail(record);

      // Assert
      expect(get(doc, field)).toEqual(expected);
    });
  });

  it.each([
    ['2024-05-14T08:31:07Z', '2024-05-14T08:31:07.000Z'],
    ['2024-05-14T08:31:07.5Z', '2024-05-14T08:31:07.500Z'],
    ['2024-05-14 08:31:07', '2024-05-14T08:31:07.000Z'],
    ['2023-01-03 01:52:07.000000000', '2023-01-03T01:52:07.000Z'],
    ['2024-05-14T10:31:07+02:00', '2024-05-14T08:31:07.000Z'],
    ['May 14, 2024 8:31:07 AM', '2024-05-14T08:31:07.000Z'],
    ['May 14, 2024, 8:31:07 PM', '2024-05-14T20:31:07.000Z'],
    [1715675467, '2024-05-14T08:31:07.000Z'],
    [1715675467000, '2024-05-14T08:31:07.000Z'],
  ])('parses eventTime %j as UTC', (eventTime, expected) => {
    // Act
    const { doc } = normalizeCloudTrail(ctDeleteAccessKey({ eventTime }));

    // Assert
    expect(doc['@timestamp']).toBe(expected);
    expect(get(doc, 'aws.cloudtrail.event_time')).toBe(eventTime);
    expect(doc.tags).toBeUndefined();
  });

  it('keeps an unparseable eventTime raw and tags the event at the epoch instead of dropping it', () => {
    // Act
    const { doc } = normalizeCloudTrail(ctDeleteAccessKey({ eventTime: '0000-00-00T00:00:00Z' }));

    // Assert
    expect(doc['@timestamp']).toBe('1970-01-01T00:00:00.000Z');
    expect(doc.tags).toEqual([TIMESTAMP_PARSE_FAILURE_TAG]);
    expect(get(doc, 'aws.cloudtrail.event_time')).toBe('0000-00-00T00:00:00Z');
  });

  it('returns provenance naming the catalog entry and the raw values', () => {
    // Act
    const { provenance } = normalizeCloudTrail(ctDeleteAccessKey());

    // Assert
    expect(provenance).toEqual({
      source: 'aws-cloudtrail',
      providerEntry: 'aws.service.iam',
      actionEntry: 'passthrough',
      rawProvider: 'iam.amazonaws.com',
      rawAction: 'DeleteAccessKey',
    });
  });

  it('passes an uncatalogued eventSource through raw with fallback provenance', () => {
    // Act
    const { doc, provenance } = normalizeCloudTrail(
      ctDeleteAccessKey({ eventSource: 'quantumledger.amazonaws.com' }),
    );

    // Assert
    expect(doc.event.provider).toBe('quantumledger.amazonaws.com');
    expect(provenance.providerEntry).toBe('fallback');
  });

  it('derives a stable event id from content when eventID is absent', () => {
    // Arrange
    const { eventID: _dropped, ...withoutId } = ctDeleteAccessKey();
    const reordered = Object.fromEntries(Object.entries(withoutId).reverse());

    // Act
    const first = normalizeCloudTrail(withoutId).doc.event.id;
    const again = normalizeCloudTrail(reordered).doc.event.id;
    const other = normalizeCloudTrail({ ...withoutId, eventTime: '2024-05-14T08:31:08Z' }).doc.event.id;

    // Assert
    expect(first).toMatch(/^derived-[0-9a-f]{32}$/);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it('attributes an access key deleted without userName to the calling IAM user', () => {
    // Act
    const { doc } = normalizeCloudTrail(
      ctDeleteAccessKey({ requestParameters: { accessKeyId: 'AKIAOWNKEY0000000001' } }),
    );

    // Assert
    expect(doc.target).toEqual({ kind: 'access_key', id: 'AKIAOWNKEY0000000001', principal: 'maria.ortega' });
  });

  it('normalizes an Insights record to the Insights provider so API-call rules do not fire on it', () => {
    // Act
    const { doc, provenance } = normalizeCloudTrail(ctInsight());

    // Assert
    expect(doc.event).toMatchObject({
      provider: 'AWS CloudTrail Insights',
      action: 'ApiCallRateInsight',
      outcome: 'unknown',
    });
    expect(get(doc, 'aws.cloudtrail.insight_details.eventName')).toBe('DeleteAccessKey');
    expect(doc.target).toBeUndefined();
    expect(provenance.providerEntry).toBe('aws.insights');
  });

  it('keeps attacker-controlled strings verbatim', () => {
    // Arrange
    const hostile = '<script>alert(1)</script>\u0000\u202e"; DROP TABLE';

    // Act
    const { doc } = normalizeCloudTrail(
      ctDeleteAccessKey({
        userAgent: hostile,
        requestParameters: { userName: hostile, accessKeyId: 'AKIA1' },
      }),
    );

    // Assert
    expect(get(doc, 'user_agent.original')).toBe(hostile);
    expect(get(doc, 'target.principal')).toBe(hostile);
  });

  it.each([
    ['not an object', 'DeleteAccessKey', '(record)'],
    ['an array', [ctDeleteAccessKey()], '(record)'],
    ['missing eventSource', ctDeleteAccessKey({ eventSource: undefined }), 'eventSource'],
    ['numeric eventSource', ctDeleteAccessKey({ eventSource: 42 }), 'eventSource'],
    ['display name as eventSource', ctDeleteAccessKey({ eventSource: 'AWS IAM' }), 'eventSource'],
    ['missing eventName', ctDeleteAccessKey({ eventName: null }), 'eventName'],
    ['missing eventTime', ctDeleteAccessKey({ eventTime: undefined }), 'eventTime'],
    [
      'Insights without insightType',
      ctInsight({ insightDetails: { state: 'Start' } }),
      'insightDetails.insightType',
    ],
  ])('throws NormalizationError naming the field for %s', (_case, record, field) => {
    // Act
    const act = () => normalizeCloudTrail(record);

    // Assert
    expect(act).toThrow(NormalizationError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({ name: 'NormalizationError', source: 'aws-cloudtrail', field });
    }
  });

  it.each([
    ['userIdentity as a string', { userIdentity: 'root' }],
    ['requestParameters as a number', { requestParameters: 7 }],
    ['responseElements as an array', { responseElements: [1, 2] }],
    ['numeric ids and region', { eventID: 12345, awsRegion: 1, recipientAccountId: 2 }],
    ['sourceIPAddress as an object', { sourceIPAddress: { ip: '1.2.3.4' } }],
    ['userIdentity.arn not an ARN', { userIdentity: { type: 'AssumedRole', arn: 'nonsense' } }],
  ])('tolerates %s', (_case, overrides) => {
    // Act
    const { doc } = normalizeCloudTrail(ctDeleteAccessKey(overrides));

    // Assert
    expect(doc.event.provider).toBe('AWS IAM');
    expect(typeof doc.event.id).toBe('string');
  });
});
