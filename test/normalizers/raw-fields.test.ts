import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SourceName } from '../../lambda/engine/ecs';
import {
  CatalogError,
  NormalizationError,
  normalize,
  RAW_FIELDS,
  rawMatchesFor,
  rawMatchHolds,
  rawValuesFor,
} from '../../lambda/engine/normalizers';
import catalog from '../../lambda/engine/normalizers/catalog.json';
import { azRoleAssignmentStart, ctDeleteAccessKey, ctInsight, gcpStorageSetIamPolicy } from './fixtures';

/** Reads a `RawMatch.path` (plain dotted, as the catalog's matchers use) from a raw record. */
function readRaw(record: unknown, path: string): unknown {
  let current = record;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** True when some raw condition for `field = value` holds on the record: what a sound pre-filter checks. */
/**
 * Whether some raw match of `field = value` holds on the record; with `provider`, only the matches that may
 * account for a record of that provider (untagged, or tagged with it: `RawMatch.provider`).
 */
function preFilterAccepts(
  source: SourceName,
  record: unknown,
  field: string,
  value: string,
  provider?: string,
): boolean {
  const matches = rawMatchesFor(source, field, value);
  if (matches === undefined) return true;
  const possible = matches.filter(
    (match) => provider === undefined || (match.provider ?? provider) === provider,
  );
  return possible.some((match) => {
    const raw = readRaw(record, match.path);
    return typeof raw === 'string' && rawMatchHolds(match, raw);
  });
}

const IAM_ACTIONS = catalog.aws.actionSets.flatMap((set) => set.actions);
const GCP_IAM_ACTIONS = catalog.gcp.actionSets.flatMap((set) => set.actions);

const anyCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flips) => [...text].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

const awsRecord = fc
  .record({
    insight: fc.boolean(),
    eventSource: fc.oneof(
      fc.constantFrom(...catalog.aws.services.map((e) => e.eventSource)),
      fc.constantFrom('quantumledger.amazonaws.com', 'Iam.amazonaws.com', 'a.b'),
    ),
    eventName: fc.oneof(fc.constantFrom(...IAM_ACTIONS), fc.constantFrom('ApiCallRateInsight', 'Whatever')),
  })
  .map(({ insight, eventSource, eventName }) =>
    insight
      ? ctInsight({ insightDetails: { eventSource, eventName, insightType: eventName } })
      : ctDeleteAccessKey({ eventSource, eventName }),
  );

const azureRecord = fc
  .record({
    namespace: fc.oneof(
      fc.constantFrom(...catalog.azure.namespaces.map((e) => e.namespace)).chain(anyCase),
      fc.constantFrom('Contoso.Widgets', 'CONTOSO.WIDGETS'),
    ),
    action: fc.oneof(
      fc.constantFrom(...catalog.azure.namespaces.flatMap((e) => e.actions)).chain(anyCase),
      fc.constantFrom('gadgets/write', 'action', 'x/action'),
    ),
    suffix: fc.constantFrom('', '/action', '/ACTION', '/Action'),
    asObject: fc.boolean(),
  })
  .map(({ namespace, action, suffix, asObject }) => {
    const value = `${namespace}/${action}${suffix}`;
    return azRoleAssignmentStart({ operationName: asObject ? { value, localizedValue: 'x' } : value });
  });

const gcpRecord = fc
  .record({
    serviceName: fc.oneof(
      fc.constantFrom(...catalog.gcp.services.map((e) => e.serviceName)),
      fc.constantFrom('newthing.googleapis.com', 'iam', 'k8s.io'),
    ),
    methodName: fc.oneof(
      fc.constantFrom(...GCP_IAM_ACTIONS),
      fc
        .tuple(
          fc.constantFrom('', 'google.iam.v1.IAMPolicy.', 'v1.compute.disks.', 'x.'),
          anyCase('SetIamPolicy'),
        )
        .map(([prefix, name]) => prefix + name),
      fc.constantFrom('storage.setIamPermissions', 'google.example.v1.Get', 'SetIamPolicyX'),
    ),
  })
  .map((payload) => gcpStorageSetIamPolicy({}, payload));

describe('RAW_FIELDS', () => {
  it.each([
    ['aws-cloudtrail', 'event.action', ['eventName', 'insightDetails.insightType']],
    ['aws-cloudtrail', 'event.provider', ['eventSource', 'eventType']],
    ['aws-cloudtrail', 'event.id', ['eventID']],
    ['aws-cloudtrail', '@timestamp', ['eventTime']],
    ['aws-cloudtrail', 'aws.cloudtrail.user_identity', ['userIdentity']],
    ['azure-activity-logs', 'event.action', ['operationName', 'operationName.value']],
    ['azure-activity-logs', 'event.id', ['eventDataId', 'properties.eventDataId']],
    ['gcp-audit-logs', 'event.provider', ['protoPayload.serviceName', 'protoPayload.methodName']],
    ['gcp-audit-logs', 'event.action', ['protoPayload.methodName']],
    ['gcp-audit-logs', 'user.name', ['protoPayload.authenticationInfo.principalEmail']],
    ['gcp-audit-logs', 'event.dataset', []],
  ] as const)('%s %s comes from %j', (source, field, paths) => {
    expect(RAW_FIELDS[source][field]).toEqual(paths);
  });

  it('brackets claim URIs, whose keys contain dots', () => {
    expect(RAW_FIELDS['azure-activity-logs']['user.name']).toContain(
      'identity.claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"]',
    );
  });

  it('lists a raw path for every field of the profile', () => {
    for (const source of ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'] as const) {
      for (const field of [
        '@timestamp',
        'event.id',
        'event.provider',
        'event.action',
        'event.outcome',
        'cloud.account.id',
        'user.name',
        'source.ip',
        'target',
      ]) {
        expect(RAW_FIELDS[source][field]?.length ?? 0, `${source} ${field}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('rawValuesFor', () => {
  it.each([
    ['aws-cloudtrail', 'event.provider', 'AWS IAM', ['iam.amazonaws.com']],
    ['aws-cloudtrail', 'event.provider', 'AWS CloudTrail Insights', ['AwsCloudTrailInsight']],
    ['aws-cloudtrail', 'event.provider', 'quantumledger.amazonaws.com', ['quantumledger.amazonaws.com']],
    ['aws-cloudtrail', 'event.provider', 'iam.amazonaws.com', []],
    ['aws-cloudtrail', 'event.provider', 'AWS STS', ['sts.amazonaws.com']],
    // Sound even for forged data: a host-shaped eventSource the catalog does not know passes through raw.
    ['aws-cloudtrail', 'event.provider', 'Microsoft.Authorization', ['Microsoft.Authorization']],
    ['aws-cloudtrail', 'event.provider', 'AWS  IAM', []],
    ['aws-cloudtrail', 'event.action', 'DeleteAccessKey', ['DeleteAccessKey']],
    [
      'gcp-audit-logs',
      'event.action',
      'google.iam.admin.v1.DeleteServiceAccountKey',
      ['google.iam.admin.v1.DeleteServiceAccountKey'],
    ],
    ['gcp-audit-logs', 'event.action', 'google.iam.admin.v1.SetIAMPolicy', []],
    ['azure-activity-logs', 'event.provider', 'MICROSOFT.AUTHORIZATION', []],
    ['gcp-audit-logs', 'event.dataset', 'aws-cloudtrail', []],
  ] as const)('%s %s %j → %j', (source, field, value, expected) => {
    expect(rawValuesFor(source, field, value)).toEqual(expected);
  });

  it.each([
    ['azure-activity-logs', 'event.provider', 'Microsoft.Authorization'],
    ['azure-activity-logs', 'event.action', 'roleAssignments/write'],
    ['gcp-audit-logs', 'event.action', 'SetIamPolicy'],
    ['gcp-audit-logs', 'event.provider', 'gcp.iam'],
    ['aws-cloudtrail', 'user.name', 'root'],
  ] as const)('refuses %s %s %j, which no value list describes', (source, field, value) => {
    expect(() => rawValuesFor(source, field, value)).toThrow(CatalogError);
  });
});

describe('rawMatchesFor', () => {
  it('describes Azure operations case-insensitively and with the optional /action', () => {
    expect(rawMatchesFor('azure-activity-logs', 'event.action', 'elevateAccess')).toEqual([
      { path: 'operationName', op: 'suffixIgnoreCase', value: '/elevateAccess' },
      { path: 'operationName', op: 'suffixIgnoreCase', value: '/elevateAccess/action' },
      { path: 'operationName.value', op: 'suffixIgnoreCase', value: '/elevateAccess' },
      { path: 'operationName.value', op: 'suffixIgnoreCase', value: '/elevateAccess/action' },
    ]);
  });

  it('describes gcp.iam as the IAM service or any IAM-policy write', () => {
    expect(rawMatchesFor('gcp-audit-logs', 'event.provider', 'gcp.iam')).toEqual([
      { path: 'protoPayload.serviceName', op: 'equals', value: 'iam' },
      { path: 'protoPayload.serviceName', op: 'prefix', value: 'iam.' },
      { path: 'protoPayload.methodName', op: 'equalsIgnoreCase', value: 'SetIamPolicy' },
      { path: 'protoPayload.methodName', op: 'suffixIgnoreCase', value: '.SetIamPolicy' },
    ]);
  });

  it.each([
    ['aws-cloudtrail', awsRecord],
    ['azure-activity-logs', azureRecord],
    ['gcp-audit-logs', gcpRecord],
  ] as const)(
    '%s: is sound — every record accepts the matchers of the values it normalizes to',
    (source, records) => {
      fc.assert(
        fc.property(records, (record) => {
          let doc: ReturnType<typeof normalize>['doc'];
          try {
            doc = normalize(source, record).doc;
          } catch (error) {
            if (error instanceof NormalizationError) return;
            throw error;
          }
          for (const field of [
            'event.provider',
            'event.action',
            'event.dataset',
            'cloud.provider',
          ] as const) {
            const value =
              field === 'event.provider'
                ? doc.event.provider
                : field === 'event.action'
                  ? doc.event.action
                  : field === 'event.dataset'
                    ? doc.event.dataset
                    : doc.cloud.provider;
            expect(preFilterAccepts(source, record, field, value), `${field}=${value}`).toBe(true);
            // The provider tags hold: the matches that may account for this provider's records suffice.
            expect(
              preFilterAccepts(source, record, field, value, doc.event.provider),
              `${field}=${value}`,
            ).toBe(true);
          }
        }),
        { numRuns: 1000 },
      );
    },
  );

  it('tags the insight type as an action only of CloudTrail Insights records', () => {
    expect(rawMatchesFor('aws-cloudtrail', 'event.action', 'DeleteAccessKey')).toEqual([
      { path: 'eventName', op: 'equals', value: 'DeleteAccessKey' },
      {
        path: 'insightDetails.insightType',
        op: 'equals',
        value: 'DeleteAccessKey',
        provider: 'AWS CloudTrail Insights',
      },
    ]);
  });

  it('keeps the seed pre-filter from accepting records of other providers', () => {
    // Arrange
    const s3 = ctDeleteAccessKey({ eventSource: 's3.amazonaws.com' });

    // Act
    const accepted = preFilterAccepts('aws-cloudtrail', s3, 'event.provider', 'AWS IAM');

    // Assert
    expect(accepted).toBe(false);
  });
});
