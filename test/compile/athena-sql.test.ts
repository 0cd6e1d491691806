import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SweepSqlRule } from '../../lambda/engine/compile/athena-sql';
import {
  CLOUDTRAIL_COLUMNS,
  compileSweepFilter,
  compileSweepQuery,
  escapeLike,
  glueTypeString,
  LIKE_ESCAPE,
  recordFromRow,
  renderSweepSql,
  SOURCE_PATH_COLUMN,
  SqlValueError,
  SWEEP_TABLES,
  sqlIdentifier,
  sqlString,
  sweepTableInput,
} from '../../lambda/engine/compile/athena-sql';
import type { SourceName } from '../../lambda/engine/ecs';
import type { KqlNode } from '../../lambda/engine/kql';
import { buildIs, buildLiteral, parseKql } from '../../lambda/engine/kql';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import type { Rule } from '../../lambda/engine/rules';
import { loadRules, loadRuleTests } from '../../lambda/engine/rules';
import { parseSince, SqlCommandError, sweepSqlText } from '../../lambda/local/sql-command';
import { AthenaOnDuckDb, partitionOf } from './athena-duckdb';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
const START = Date.parse('2026-11-28T09:00:00.000Z');
const END = Date.parse('2026-11-28T10:00:00.000Z');
const MINUTE = 60_000;

/** Values chosen to break naive SQL: quotes, comments, LIKE metacharacters, escapes, controls, Unicode. */
const ADVERSARIAL = [
  "'; DROP TABLE x; --",
  "it''s",
  '%',
  '_',
  '\\',
  '\\%_\\_',
  '100%_done\\',
  '--',
  '/* c */',
  'line\nbreak\r\ttab',
  'nul\u0000byte',
  'sep\u2028arator',
  'ünïcödé 𝔘 ☃',
  '"quoted"',
  '$.a["b"]',
];

function rule(query: string | KqlNode, sources: readonly SourceName[] = SOURCES): SweepSqlRule {
  return {
    id: 'test-rule',
    name: 'Test rule',
    sources,
    ast: typeof query === 'string' ? parseKql(query) : query,
  };
}

function isQuery(fieldName: string, value: string): KqlNode {
  return buildIs(buildLiteral(fieldName), buildLiteral(value, true));
}

let db: AthenaOnDuckDb;
let rules: Rule[];

beforeAll(async () => {
  db = await AthenaOnDuckDb.create();
  rules = await loadRules(path.join(ROOT, 'rules'));
});

afterAll(() => {
  db.close();
});

beforeEach(async () => {
  await db.clear();
});

async function selectedPaths(sql: string): Promise<Set<string>> {
  const { rows } = await db.query(sql);
  return new Set(rows.map((row) => row[SOURCE_PATH_COLUMN] as string));
}

/** Inserts a raw record of `source` whose event time is `timeMs`, delivered `delayMs` later. */
async function insert(source: SourceName, record: unknown, objectPath: string, deliveredMs: number) {
  if (source === 'aws-cloudtrail') {
    await db.insertCloudTrail(record, { timestamp: partitionOf(source, deliveredMs) }, objectPath);
  } else {
    await db.insertLine(source, JSON.stringify(record), partitionOf(source, deliveredMs), objectPath);
  }
}

function cloudTrail(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDA4EXAMPLEMALLORY01',
      arn: 'arn:aws:iam::111122223333:user/mallory',
      accountId: '111122223333',
      userName: 'mallory',
      sessionContext: { sessionIssuer: { userName: 'Issuer' }, attributes: { mfaAuthenticated: 'false' } },
    },
    eventTime: '2026-11-28T09:16:12Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'DeleteAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.30',
    requestParameters: { userName: 'alice', accessKeyId: 'AKIA4EXAMPLEALICE001' },
    responseElements: null,
    requestID: '0b7c3f2e-6a51-4d0e-9f3c-2a1d7e9b5c41',
    eventID: '3e8d9a10-52c4-4b7f-8e21-6f0a9c3d7b12',
    readOnly: false,
    resources: [
      { ARN: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', type: 'AWS::IAM::User' },
    ],
    eventType: 'AwsApiCall',
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' },
    ...overrides,
  };
}

function azure(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: '2026-11-28T09:16:12.4120000Z',
    resourceId:
      '/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/X',
    operationName: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
    category: 'Administrative',
    resultType: 'Success',
    correlationId: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
    identity: { claims: { name: 'eve@contoso.example' } },
    ...overrides,
  };
}

function gcp(
  overrides: Record<string, unknown> = {},
  payload: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    insertId: 'gcp-insert-1',
    logName: 'projects/acme-prod-4821/logs/cloudaudit.googleapis.com%2Factivity',
    timestamp: '2026-11-28T09:16:12.345678Z',
    resource: { type: 'project', labels: { project_id: 'acme-prod-4821' } },
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      serviceName: 'iam.googleapis.com',
      methodName: 'google.iam.admin.v1.DeleteServiceAccountKey',
      authenticationInfo: { principalEmail: 'grace@acme.example' },
      ...payload,
    },
    ...overrides,
  };
}

describe('sqlString', () => {
  it.each(ADVERSARIAL)('yields a literal DuckDB reads back as exactly %j', async (value) => {
    const sql = `SELECT ${sqlString(value)} AS v`;

    const { rows } = await db.query(sql);

    expect(rows[0]?.v).toBe(value);
    expect(await db.statementCount(sql)).toBe(1);
  });

  it('doubles single quotes and writes control characters as chr()', () => {
    expect(sqlString("'; DROP TABLE x; --")).toBe("'''; DROP TABLE x; --'");
    expect(sqlString('a\nb')).toBe("('a' || chr(10) || 'b')");
    expect(sqlString('')).toBe("''");
  });

  it('refuses a lone surrogate rather than change the value', () => {
    expect(() => sqlString('a\ud800b')).toThrow(SqlValueError);
  });
});

describe('escapeLike', () => {
  it.each(ADVERSARIAL)(
    'makes a prefix pattern that matches exactly what startsWith does for %j',
    async (value) => {
      const pattern = sqlString(`${escapeLike(value)}%`);
      const candidates = [
        value,
        `${value}tail`,
        `x${value}`,
        value.slice(0, -1),
        'X',
        value.replace(/[%_\\]/g, 'Q'),
      ];

      for (const candidate of candidates) {
        const { rows } = await db.query(
          `SELECT ${sqlString(candidate)} LIKE ${pattern} ESCAPE ${sqlString(LIKE_ESCAPE)} AS hit`,
        );

        expect(rows[0]?.hit, `${JSON.stringify(candidate)} LIKE ${pattern}`).toBe(
          String(candidate.startsWith(value)),
        );
      }
    },
  );
});

describe('sqlIdentifier', () => {
  it.each(['cloudtrail_logs', 'abnormal_cloud_api_calls'])('quotes the Glue name %s', (name) => {
    expect(sqlIdentifier(name)).toBe(`"${name}"`);
  });

  it.each(['a"b', 'Upper', 'x; DROP', '', 'a-b'])('refuses %j', (name) => {
    expect(() => sqlIdentifier(name)).toThrow(SqlValueError);
  });
});

describe('compileSweepFilter', () => {
  it.each<[string, SourceName, string | RegExp, string | undefined]>([
    ['event.provider:"AWS IAM"', 'aws-cloudtrail', `"eventsource" = 'iam.amazonaws.com'`, undefined],
    [
      'event.action:(DeleteAccessKey or CreatePolicyVersion)',
      'aws-cloudtrail',
      `"eventname" IN ('DeleteAccessKey', 'CreatePolicyVersion')`,
      undefined,
    ],
    ['event.action:Delete*', 'aws-cloudtrail', `"eventname" LIKE 'Delete%' ESCAPE '\\'`, undefined],
    ['event.action:Delete*', 'gcp-audit-logs', `LIKE 'Delete%' ESCAPE '\\'`, undefined],
    [
      'event.action:Set*',
      'gcp-audit-logs',
      'TRUE',
      'event.action:Set* (the catalog does not copy it verbatim)',
    ],
    [
      'event.provider:"Microsoft.Authorization"',
      'azure-activity-logs',
      `lower(json_extract_scalar("record", '$.operationName')) LIKE 'microsoft.authorization/%' ESCAPE '\\'`,
      undefined,
    ],
    ['not event.action:DeleteAccessKey', 'aws-cloudtrail', 'TRUE', 'negation (not …)'],
    ['user.name:alice', 'aws-cloudtrail', 'TRUE', 'user.name (no raw mapping in the catalog)'],
    ['alice', 'gcp-audit-logs', 'TRUE', 'free text (a value without a field)'],
    ['event.action:"roleAssignments/wrïte"', 'azure-activity-logs', 'TRUE', undefined],
    [
      'event.provider:"AWS IAM" and user.name:alice',
      'aws-cloudtrail',
      `"eventsource" = 'iam.amazonaws.com'`,
      undefined,
    ],
  ])('compiles %s over %s', (query, source, expected, widened) => {
    const compiled = compileSweepFilter(parseKql(query), source);

    if (typeof expected === 'string') expect(compiled.sql).toContain(expected);
    else expect(compiled.sql).toMatch(expected);
    if (widened !== undefined) expect(compiled.widened).toContain(widened);
    expect(compiled.impossible).toBe(false);
  });

  it.each<[string, SourceName]>([
    ['event.provider:"iam.amazonaws.com"', 'aws-cloudtrail'],
    ['event.dataset:"azure-activity-logs"', 'aws-cloudtrail'],
    ['cloud.provider:gcp', 'azure-activity-logs'],
    ['event.provider:"AWS IAM" and event.dataset:"gcp-audit-logs"', 'aws-cloudtrail'],
  ])('finds %s impossible over %s', (query, source) => {
    expect(compileSweepFilter(parseKql(query), source)).toMatchObject({ sql: 'FALSE', impossible: true });
  });

  it('treats a CloudTrail Insights path as absent: the trail table holds no Insights', () => {
    const compiled = compileSweepFilter(parseKql('event.action:ApiCallRateInsight'), 'aws-cloudtrail');

    expect(compiled.sql).toBe(`"eventname" = 'ApiCallRateInsight'`);
  });
});

describe('compileSweepQuery on DuckDB', () => {
  it('selects every record the seed rule matches among its test events and the samples', async () => {
    const seed = rules.find((r) => r.id === 'abnormal-cloud-api-calls') as Rule;
    const fixtures = await fixtureRecords();
    const times = fixtures.map((f) => f.timeMs);
    const start = Math.floor(Math.min(...times) / 86_400_000) * 86_400_000;
    const end = Math.ceil((Math.max(...times) + 1) / MINUTE) * MINUTE;
    for (const [i, fixture] of fixtures.entries()) {
      await insert(fixture.source, fixture.record, `fixture/${i}`, fixture.timeMs + 5 * MINUTE);
    }

    for (const source of SOURCES) {
      const query = compileSweepQuery(seed, source, { start, end });
      const selected = await selectedPaths(query.sql);
      const ofSource = fixtures
        .map((f, i) => ({ ...f, path: `fixture/${i}` }))
        .filter((f) => f.source === source);
      const accepted = ofSource.filter((f) => f.matches);

      expect(accepted.length, source).toBeGreaterThan(0);
      for (const fixture of accepted) expect(selected, `${source}: ${fixture.name}`).toContain(fixture.path);
      expect(selected.size, `${source} keeps out some near misses`).toBeLessThan(ofSource.length);
    }
  });

  it('rebuilds every selected row into a record that normalizes as the original did', async () => {
    const seed = rules.find((r) => r.id === 'abnormal-cloud-api-calls') as Rule;
    const fixtures = await fixtureRecords();
    for (const [i, fixture] of fixtures.entries()) {
      await insert(fixture.source, fixture.record, `fixture/${i}`, fixture.timeMs + 5 * MINUTE);
    }
    const times = fixtures.map((f) => f.timeMs);
    const window = { start: Math.min(...times) - 86_400_000, end: Math.max(...times) + MINUTE };

    for (const source of SOURCES) {
      const { rows } = await db.query(compileSweepQuery(seed, source, window).sql);
      for (const row of rows) {
        const original = fixtures[Number(String(row[SOURCE_PATH_COLUMN]).split('/')[1])];
        const rebuilt = [...recordsFromDocument(recordFromRow(source, row).document)];
        const [item] = rebuilt;
        if (original === undefined || item === undefined || 'error' in item) throw new Error('no record');
        const before = normalize(source, original.record).doc;
        const after = normalize(item.source, item.record).doc;

        expect(after.event, original.name).toEqual(before.event);
        expect(after['@timestamp']).toBe(before['@timestamp']);
        expect(after.user).toEqual(before.user);
        expect(after.cloud).toEqual(before.cloud);
        expect(after.target).toEqual(before.target);
        expect(seed.predicate(after)).toBe(seed.predicate(before));
      }
    }
  });

  describe('time and partitions', () => {
    const matching = rule('event.provider:"AWS IAM"', ['aws-cloudtrail']);

    it.each<[string, string, string, boolean]>([
      ['just before the window', '2026-11-28T08:59:59Z', '2026/11/28', false],
      ['at the window start', '2026-11-28T09:00:00Z', '2026/11/28', true],
      ['just before the window end', '2026-11-28T09:59:59Z', '2026/11/28', true],
      ['at the window end', '2026-11-28T10:00:00Z', '2026/11/28', false],
      ['with a time too old for its partition (a replay)', '2020-01-01T00:00:00Z', '2026/11/28', true],
      ['with a time after its partition (a clock ahead)', '2026-11-30T00:00:00Z', '2026/11/28', true],
      ['with an unparseable time', 'yesterday', '2026/11/28', true],
      ['in a partition the window cannot reach', '2026-11-28T09:30:00Z', '2026/11/30', false],
      ['in the previous day, whose partition is not scanned', '2026-11-27T09:30:00Z', '2026/11/27', false],
    ])('%s: selected = %s', async (_name, eventTime, partition, expected) => {
      await db.insertCloudTrail(cloudTrail({ eventTime }), { timestamp: partition }, 'row');

      const selected = await selectedPaths(
        compileSweepQuery(matching, 'aws-cloudtrail', { start: START, end: END }).sql,
      );

      expect(selected.has('row')).toBe(expected);
    });

    it('scans the next day when a window ends less than the delivery slack before midnight', () => {
      const query = compileSweepQuery(
        matching,
        'aws-cloudtrail',
        { start: Date.parse('2026-11-28T23:00:00Z'), end: Date.parse('2026-11-28T23:50:00Z') },
        { deliverySlackMs: 15 * MINUTE },
      );

      expect(query.sql).toContain(`"timestamp" BETWEEN '2026/11/28' AND '2026/11/29'`);
    });

    it.each<[string, string, string, boolean]>([
      ['on time in its hour', '2026-11-28T09:30:00Z', '2026-11-28-09', true],
      ['delivered within the slack into the next hour', '2026-11-28T09:59:00Z', '2026-11-28-10', true],
      [
        'delivered late into a scanned hour (implausible, so kept)',
        '2026-11-28T09:10:00Z',
        '2026-11-28-10',
        true,
      ],
      ['in an hour past the slack', '2026-11-28T09:30:00Z', '2026-11-28-11', false],
      ['of another window, on time', '2026-11-28T10:05:00Z', '2026-11-28-10', false],
    ])('an Azure record %s: selected = %s', async (_name, time, dt, expected) => {
      await db.insertLine('azure-activity-logs', JSON.stringify(azure({ time })), dt, 'row');
      const query = compileSweepQuery(
        rule('event.provider:"Microsoft.Authorization"'),
        'azure-activity-logs',
        {
          start: START,
          end: END,
        },
      );

      expect((await selectedPaths(query.sql)).has('row')).toBe(expected);
    });

    it('keeps a lake line that wraps records, since SQL cannot see inside it', async () => {
      await db.insertLine(
        'azure-activity-logs',
        JSON.stringify({ records: [azure()] }),
        '2026-11-28-09',
        'wrapped',
      );
      await db.insertLine(
        'azure-activity-logs',
        JSON.stringify(azure({ operationName: 'Microsoft.Compute/x/write' })),
        '2026-11-28-09',
        'other',
      );
      const query = compileSweepQuery(
        rule('event.provider:"Microsoft.Authorization"'),
        'azure-activity-logs',
        {
          start: START,
          end: END,
        },
      );

      const selected = await selectedPaths(query.sql);

      expect([...selected]).toEqual(['wrapped']);
    });

    it('reads the GCP time from receiveTimestamp when timestamp is missing', async () => {
      const record = gcp({ timestamp: undefined, receiveTimestamp: '2026-11-28T08:00:00Z' });
      await db.insertLine('gcp-audit-logs', JSON.stringify(record), '2026-11-28-09', 'early');
      const query = compileSweepQuery(rule('event.provider:"gcp.iam"'), 'gcp-audit-logs', {
        start: START,
        end: END,
      });

      expect((await selectedPaths(query.sql)).has('early')).toBe(true);
    });
  });

  describe('with adversarial rule values', () => {
    it.each(ADVERSARIAL)(
      'matches a CloudTrail eventName of exactly %j and nothing near it',
      async (value) => {
        await db.insertCloudTrail(cloudTrail({ eventName: value }), { timestamp: '2026/11/28' }, 'exact');
        await db.insertCloudTrail(
          cloudTrail({ eventName: `${value}x` }),
          { timestamp: '2026/11/28' },
          'longer',
        );
        await db.insertCloudTrail(
          cloudTrail({ eventName: 'DeleteAccessKey' }),
          { timestamp: '2026/11/28' },
          'other',
        );
        const query = compileSweepQuery(
          rule(isQuery('event.action', value), ['aws-cloudtrail']),
          'aws-cloudtrail',
          {
            start: START,
            end: END,
          },
        );

        expect(await db.statementCount(query.sql)).toBe(1);
        expect([...(await selectedPaths(query.sql))]).toEqual(['exact']);
      },
    );

    it.each(ADVERSARIAL.filter((value) => /^[\u0020-\u007e]*$/.test(value)))(
      'matches an Azure operation ending in /%s without case and nothing near it',
      async (value) => {
        const line = (operationName: string) => JSON.stringify(azure({ operationName }));
        await db.insertLine(
          'azure-activity-logs',
          line(`Contoso.Widgets/${value.toUpperCase()}`),
          '2026-11-28-09',
          'exact',
        );
        await db.insertLine(
          'azure-activity-logs',
          line(`Contoso.Widgets/${value}Q`),
          '2026-11-28-09',
          'longer',
        );
        await db.insertLine(
          'azure-activity-logs',
          line(`Contoso.Widgets/${value.replace(/[%_\\]/g, 'Q')}`),
          '2026-11-28-09',
          'near',
        );
        const query = compileSweepQuery(rule(isQuery('event.action', value)), 'azure-activity-logs', {
          start: START,
          end: END,
        });

        const selected = await selectedPaths(query.sql);

        expect(await db.statementCount(query.sql)).toBe(1);
        expect(selected.has('exact')).toBe(true);
        expect(selected.has('longer')).toBe(false);
        if (/[%_\\]/.test(value)) expect(selected.has('near')).toBe(false);
      },
    );

    it.each(ADVERSARIAL)('matches a GCP methodName of exactly %j', async (value) => {
      await db.insertLine(
        'gcp-audit-logs',
        JSON.stringify(gcp({}, { methodName: value })),
        '2026-11-28-09',
        'exact',
      );
      await db.insertLine(
        'gcp-audit-logs',
        JSON.stringify(gcp({}, { methodName: `${value}x` })),
        '2026-11-28-09',
        'longer',
      );
      const query = compileSweepQuery(rule(isQuery('event.action', value)), 'gcp-audit-logs', {
        start: START,
        end: END,
      });

      expect(await db.statementCount(query.sql)).toBe(1);
      expect([...(await selectedPaths(query.sql))]).toEqual(['exact']);
    });
  });
});

describe('renderSweepSql', () => {
  it('comments every header line, even when the rule name and query hold line breaks', async () => {
    const evil: SweepSqlRule = {
      ...rule('event.provider:"AWS IAM"'),
      name: 'evil\nDROP TABLE x; --\r\u2028SELECT 1',
      query: 'event.provider:"AWS IAM"\n; DELETE FROM y',
    };

    const [statement] = renderSweepSql([evil], { start: START, end: END });
    const sql = statement?.sql ?? '';
    const header = sql.slice(0, sql.indexOf('SELECT source_path'));

    expect(
      header
        .split('\n')
        .filter((line) => line !== '')
        .every((line) => line.startsWith('-- ')),
    ).toBe(true);
    expect(await db.statementCount(sql)).toBe(1);
    expect(sql.trimEnd().endsWith(';')).toBe(true);
  });

  it('says so instead of querying when no record of a source can match', () => {
    const statements = renderSweepSql([rule('event.dataset:"gcp-audit-logs"')], { start: START, end: END });

    expect(statements.map((s) => [s.source, s.impossible])).toEqual([
      ['aws-cloudtrail', true],
      ['azure-activity-logs', true],
      ['gcp-audit-logs', false],
    ]);
    expect(statements[0]?.sql).toContain('-- No aws-cloudtrail record can match this rule');
  });

  it('renders the seed rule into statements DuckDB runs', async () => {
    for (const statement of renderSweepSql(rules, { start: START, end: END })) {
      expect(await db.statementCount(statement.sql)).toBe(1);
      await db.query(statement.sql);
    }
  });
});

describe('sweepSqlText', () => {
  it('covers the last 30 days by default, ending at the current minute', () => {
    const text = sweepSqlText(rules, { now: new Date('2026-11-28T10:00:30Z') });

    expect(text).toContain('[2026-10-29T10:00:00.000Z, 2026-11-28T10:00:00.000Z)');
    expect(text).toContain(`"timestamp" BETWEEN '2026/10/29' AND '2026/11/28'`);
    expect(text).toContain('"abnormal_cloud_api_calls"."gcp_audit_logs"');
  });

  it('uses the deployment database and table names', () => {
    const text = sweepSqlText(rules, {
      since: '2h',
      now: new Date('2026-11-28T10:00:00Z'),
      database: 'security_lake',
      tables: { 'aws-cloudtrail': 'org_trail' },
    });

    expect(text).toContain('"security_lake"."org_trail"');
    expect(text).toContain(`"dt" BETWEEN '2026-11-28-08' AND '2026-11-28-10'`);
  });

  it.each(['30', 'a month', '-1d', ''])('rejects --since %j', (since) => {
    expect(() => parseSince(since)).toThrow(SqlCommandError);
  });
});

describe('SWEEP_TABLES', () => {
  it('describes the standard CloudTrail table with its partition projection keys', () => {
    const spec = SWEEP_TABLES['aws-cloudtrail'];

    expect(spec.partitionKeys.map((k) => k.name)).toEqual(['account', 'region', 'timestamp']);
    expect(CLOUDTRAIL_COLUMNS.map((c) => c.name)).toContain('sourceipaddress');
    expect(glueTypeString(CLOUDTRAIL_COLUMNS[1]?.type ?? { kind: 'string' })).toMatch(
      /^struct<type:string,principalid:string,.*sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>.*webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>$/,
    );
  });

  it('builds a Glue table input with projection for an organization trail', () => {
    const input = sweepTableInput('aws-cloudtrail', {
      bucket: 'trail-bucket',
      prefix: 'org/',
      organizationId: 'o-abc123',
      accounts: ['111122223333', '444455556666'],
      regions: ['us-east-1', 'eu-west-1'],
      projectionStart: '2026/01/01',
    });

    expect(input.parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.account.values': '111122223333,444455556666',
      'projection.timestamp.format': 'yyyy/MM/dd',
      'projection.timestamp.range': '2026/01/01,NOW',
      'storage.location.template': `s3://trail-bucket/org/AWSLogs/o-abc123/\${account}/CloudTrail/\${region}/\${timestamp}/`,
    });
    expect(input.storageDescriptor.location).toBe('s3://trail-bucket/org/AWSLogs/');
    expect(input.partitionKeys.map((k) => k.name)).toEqual(['account', 'region', 'timestamp']);
  });

  it('builds the lake tables with one record column and an hourly dt projection', () => {
    const input = sweepTableInput('gcp-audit-logs', { bucket: 'lake', projectionStart: '2026-01-01-00' });

    expect(input.storageDescriptor.columns).toEqual([{ name: 'record', type: 'string' }]);
    expect(input.parameters).toMatchObject({
      'projection.dt.format': 'yyyy-MM-dd-HH',
      'projection.dt.interval.unit': 'HOURS',
      'storage.location.template': `s3://lake/gcp-audit-logs/dt=\${dt}/`,
    });
  });

  it('refuses a CloudTrail table without the accounts to project', () => {
    expect(() =>
      sweepTableInput('aws-cloudtrail', {
        bucket: 'b',
        regions: ['us-east-1'],
        projectionStart: '2026/01/01',
      }),
    ).toThrow('accounts are required');
  });
});

describe('recordFromRow', () => {
  it('reads struct columns given as objects or as positional arrays alike', () => {
    const asObject = recordFromRow('aws-cloudtrail', {
      eventname: 'DeleteAccessKey',
      useridentity: JSON.stringify({ type: 'IAMUser', username: 'bob', principalid: null }),
      readonly: 'false',
      requestparameters: '{"userName":"alice"}',
      errorcode: null,
    });
    const positional = recordFromRow('aws-cloudtrail', {
      eventname: 'DeleteAccessKey',
      useridentity: JSON.stringify(['IAMUser', null, null, null, null, null, 'bob']),
      readonly: 'false',
      requestparameters: '{"userName":"alice"}',
    });

    const expected = {
      eventName: 'DeleteAccessKey',
      userIdentity: { type: 'IAMUser', userName: 'bob' },
      readOnly: false,
      requestParameters: { userName: 'alice' },
    };
    expect(asObject.document).toEqual(expected);
    expect(positional.document).toEqual(expected);
  });

  it('parses a lake line and reports a broken one', () => {
    expect(recordFromRow('gcp-audit-logs', { record: '{"a":1}', source_path: 's3://b/k' })).toEqual({
      document: { a: 1 },
      objectPath: 's3://b/k',
    });
    expect(() => recordFromRow('gcp-audit-logs', { record: '{' })).toThrow('record: is not JSON');
  });
});

interface Fixture {
  readonly name: string;
  readonly source: SourceName;
  readonly record: unknown;
  readonly timeMs: number;
  readonly matches: boolean;
}

/** Every raw record of the seed rule's tests and of samples/, with its event time and the rule's verdict. */
async function fixtureRecords(): Promise<Fixture[]> {
  const seed = rules.find((r) => r.id === 'abnormal-cloud-api-calls') as Rule;
  const documents: { name: string; value: unknown }[] = [];
  const tests = await loadRuleTests(path.join(ROOT, 'rules/abnormal-cloud-api-calls.tests.yaml'));
  for (const test of tests.tests) documents.push({ name: test.name, value: test.event });
  const samples = path.join(ROOT, 'samples');
  const gz = gunzipSync(
    await readFile(
      path.join(samples, 'aws/111122223333_CloudTrail_us-east-1_20261128T0930Z_a1b2c3d4e5f6a7b8.json.gz'),
    ),
  );
  documents.push({ name: 'samples/aws CloudTrail file', value: JSON.parse(gz.toString('utf8')) });
  for (const file of ['aws/eventbridge-iam-events.jsonl', 'gcp/cloudaudit-activity-2026-11-28.jsonl']) {
    const lines = (await readFile(path.join(samples, file), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '');
    lines.forEach((line, i) => {
      documents.push({ name: `samples/${file}:${i + 1}`, value: JSON.parse(line) });
    });
  }
  for (const file of ['azure/activity-log-PT1H.json', 'azure/portal-activity-log-export.json']) {
    documents.push({
      name: `samples/${file}`,
      value: JSON.parse(await readFile(path.join(samples, file), 'utf8')),
    });
  }
  const out: Fixture[] = [];
  for (const document of documents) {
    for (const item of recordsFromDocument(document.value)) {
      if ('error' in item) continue;
      let timeMs: number;
      let matches = false;
      try {
        const normalized = normalize(item.source, item.record);
        timeMs = Date.parse(normalized.doc['@timestamp']);
        matches = seed.predicate(normalized.doc);
      } catch {
        continue;
      }
      out.push({
        name: `${document.name} #${item.index}`,
        source: item.source,
        record: item.record,
        timeMs,
        matches,
      });
    }
  }
  return out;
}
