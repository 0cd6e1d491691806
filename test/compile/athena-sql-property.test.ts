import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSweepQuery, SOURCE_PATH_COLUMN } from '../../lambda/engine/compile/athena-sql';
import type { SourceName } from '../../lambda/engine/ecs';
import type { KqlNode } from '../../lambda/engine/kql';
import { buildAnd, buildIs, buildLiteral, buildWildcard, compileKql } from '../../lambda/engine/kql';
import { normalize } from '../../lambda/engine/normalizers';
import { kqlQueries } from '../support/kql';
import { AthenaOnDuckDb, partitionOf } from './athena-duckdb';

const START = Date.parse('2026-11-28T09:00:00.000Z');
const END = Date.parse('2026-11-28T10:00:00.000Z');
const MINUTE = 60_000;
const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];

// Raw vocabularies: real values, the casings vendors use, near misses and hostile strings.
const AWS_SOURCES = [
  'iam.amazonaws.com',
  'sts.amazonaws.com',
  's3.amazonaws.com',
  'iot.amazonaws.com',
  'Microsoft.Authorization',
];
const AWS_NAMES = [
  'DeleteAccessKey',
  'CreatePolicyVersion',
  'UpdateAssumeRolePolicy',
  'CreateAccessKey',
  'AssumeRole',
  "O'Brien%_\\",
  'SetIamPolicy',
];
const AZURE_NAMESPACES = [
  'Microsoft.Authorization',
  'MICROSOFT.AUTHORIZATION',
  'microsoft.authorization',
  'Microsoft.Compute',
  'Contoso.Widgets',
  'gcp.iam',
];
const AZURE_OPERATIONS = [
  'roleAssignments/write',
  'ROLEASSIGNMENTS/WRITE',
  'roleAssignments/write/action',
  'elevateAccess/action',
  'ELEVATEACCESS/ACTION',
  'roleAssignments/delete',
  'virtualMachines/write',
  'a%b_c\\d',
  'K\u212Aey/write',
];
const GCP_SERVICES = [
  'iam.googleapis.com',
  'iam',
  'storage.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'iamcredentials.googleapis.com',
  'compute.googleapis.com',
];
const GCP_METHODS = [
  'google.iam.admin.v1.DeleteServiceAccountKey',
  'google.iam.admin.v1.CreateServiceAccountKey',
  'SetIamPolicy',
  'google.iam.v1.IAMPolicy.SetIamPolicy',
  'storage.setIamPermissions',
  'v1.compute.instances.setiampolicy',
  'SETIAMPOLICY',
  'google.iam.admin.v1.SetIAMPolicy',
];
const USERS = ['alice', "O'Brien", '%_\\', 'line\nbreak', '\u212Aelvin', 'İstanbul'];

// ECS values a rule may name, including ones no vendor emits literally.
const PROVIDERS = [
  'AWS IAM',
  'AWS STS',
  'Amazon S3',
  'iam.amazonaws.com',
  'iot.amazonaws.com',
  'Microsoft.Authorization',
  'Microsoft.Compute',
  'Contoso.Widgets',
  'gcp.iam',
  'gcp.storage',
  'gcp.cloudresourcemanager',
];
const ACTIONS = [
  ...AWS_NAMES,
  'roleAssignments/write',
  'elevateAccess',
  'roleAssignments/delete',
  'google.iam.admin.v1.DeleteServiceAccountKey',
  'storage.setIamPermissions',
  'a%b_c\\d',
  'Key/write',
];
const WILDCARDS = [
  ['Delete', ''],
  ['', 'Policy'],
  ['Set', ''],
  ['google.iam.', ''],
  ['', 'Key'],
  ['role', '/', ''],
  ['', '%_', ''],
];

const arbProvider = fc.constantFrom(...PROVIDERS).map((v) => is('event.provider', v));
const arbAction = fc.constantFrom(...ACTIONS).map((v) => is('event.action', v));

// Weighted towards what rules are made of: a provider, an action, both.
const arbLeaf: fc.Arbitrary<KqlNode> = fc.oneof(
  { arbitrary: arbProvider, weight: 3 },
  { arbitrary: arbAction, weight: 3 },
  { arbitrary: fc.tuple(arbProvider, arbAction).map((pair) => buildAnd(pair)), weight: 4 },
  {
    arbitrary: fc
      .constantFrom(...WILDCARDS)
      .map((parts) => buildIs(buildLiteral('event.action'), buildWildcard(parts))),
    weight: 2,
  },
  {
    arbitrary: fc
      .constantFrom(...WILDCARDS)
      .map((parts) => buildIs(buildLiteral('event.provider'), buildWildcard(parts))),
    weight: 1,
  },
  { arbitrary: fc.constantFrom(...SOURCES).map((v) => is('event.dataset', v)), weight: 1 },
  { arbitrary: fc.constantFrom('aws', 'azure', 'gcp').map((v) => is('cloud.provider', v)), weight: 1 },
  { arbitrary: fc.constantFrom(...USERS).map((v) => is('user.name', v)), weight: 1 },
  { arbitrary: fc.constantFrom('success', 'failure').map((v) => is('event.outcome', v)), weight: 1 },
);

const arbRule: fc.Arbitrary<KqlNode> = kqlQueries(arbLeaf);

function is(fieldName: string, value: string): KqlNode {
  return buildIs(buildLiteral(fieldName), buildLiteral(value, true));
}

interface RawEvent {
  readonly source: SourceName;
  readonly record: Record<string, unknown>;
  readonly timeMs: number;
  readonly delayMs: number;
}

const arbTime = fc.integer({ min: 0, max: 59 * MINUTE + 59_000 }).map((offset) => START + offset);
const arbDelay = fc.integer({ min: 0, max: 14 }).map((minutes) => minutes * MINUTE);

const arbCloudTrail: fc.Arbitrary<RawEvent> = fc
  .record({
    time: arbTime,
    delay: arbDelay,
    eventSource: fc.constantFrom(...AWS_SOURCES),
    eventName: fc.constantFrom(...AWS_NAMES),
    user: fc.constantFrom(...USERS),
    failed: fc.boolean(),
  })
  .map(({ time, delay, eventSource, eventName, user, failed }) => ({
    source: 'aws-cloudtrail' as const,
    timeMs: time,
    delayMs: delay,
    record: {
      eventVersion: '1.09',
      eventTime: new Date(time).toISOString().replace('.000Z', 'Z'),
      eventSource,
      eventName,
      eventType: 'AwsApiCall',
      awsRegion: 'us-east-1',
      recipientAccountId: '111122223333',
      userIdentity: { type: 'IAMUser', userName: user, accountId: '111122223333' },
      requestParameters: { userName: user },
      ...(failed ? { errorCode: 'AccessDenied' } : {}),
    },
  }));

const arbAzure: fc.Arbitrary<RawEvent> = fc
  .record({
    time: arbTime,
    delay: arbDelay,
    namespace: fc.constantFrom(...AZURE_NAMESPACES),
    operation: fc.constantFrom(...AZURE_OPERATIONS),
    rest: fc.boolean(),
    user: fc.constantFrom(...USERS),
  })
  .map(({ time, delay, namespace, operation, rest, user }) => {
    const operationName = `${namespace}/${operation}`;
    return {
      source: 'azure-activity-logs' as const,
      timeMs: time,
      delayMs: delay,
      record: {
        ...(rest
          ? {
              eventTimestamp: new Date(time).toISOString(),
              operationName: { value: operationName, localizedValue: 'Create role assignment' },
              status: { value: 'Succeeded' },
              caller: user,
            }
          : {
              time: new Date(time).toISOString().replace('Z', '0000Z'),
              operationName,
              resultType: 'Success',
              identity: { claims: { name: user } },
            }),
        resourceId: '/subscriptions/00000000-1111-2222-3333-444444444444/providers/X',
        category: 'Administrative',
        correlationId: 'c0ffee',
      },
    };
  });

const arbGcp: fc.Arbitrary<RawEvent> = fc
  .record({
    time: arbTime,
    delay: arbDelay,
    serviceName: fc.constantFrom(...GCP_SERVICES),
    methodName: fc.constantFrom(...GCP_METHODS),
    user: fc.constantFrom(...USERS),
  })
  .map(({ time, delay, serviceName, methodName, user }) => ({
    source: 'gcp-audit-logs' as const,
    timeMs: time,
    delayMs: delay,
    record: {
      timestamp: new Date(time).toISOString(),
      logName: 'projects/acme-prod-4821/logs/cloudaudit.googleapis.com%2Factivity',
      resource: { type: 'project', labels: { project_id: 'acme-prod-4821' } },
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        serviceName,
        methodName,
        authenticationInfo: { principalEmail: user },
      },
    },
  }));

let db: AthenaOnDuckDb;

beforeAll(async () => {
  db = await AthenaOnDuckDb.create();
});

afterAll(() => {
  db.close();
});

describe('compileSweepQuery', () => {
  it('selects, on DuckDB, every generated record of the window whose normalized form the rule accepts', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbRule,
        fc.array(fc.oneof(arbCloudTrail, arbAzure, arbGcp), { minLength: 1, maxLength: 12 }),
        async (ast, events) => {
          await db.clear();
          for (const [i, event] of events.entries()) {
            const delivered = event.timeMs + event.delayMs;
            if (event.source === 'aws-cloudtrail') {
              await db.insertCloudTrail(
                event.record,
                { timestamp: partitionOf(event.source, delivered) },
                `e/${i}`,
              );
            } else {
              await db.insertLine(
                event.source,
                JSON.stringify(event.record),
                partitionOf(event.source, delivered),
                `e/${i}`,
              );
            }
          }
          const predicate = compileKql(ast);
          const rule = { id: 'generated', sources: SOURCES, ast };
          for (const source of SOURCES) {
            const accepted = events.flatMap((event, i) => {
              if (event.source !== source) return [];
              try {
                return predicate(normalize(source, event.record).doc) ? [`e/${i}`] : [];
              } catch {
                return [];
              }
            });
            const query = compileSweepQuery(rule, source, { start: START, end: END });
            if (query.impossible) {
              expect(accepted, `${source} was found impossible`).toEqual([]);
              continue;
            }
            const { rows } = await db.query(query.sql);
            const selected = new Set(rows.map((row) => row[SOURCE_PATH_COLUMN]));
            for (const path of accepted) expect(selected, `${source}\n${query.sql}`).toContain(path);
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
