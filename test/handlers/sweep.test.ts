import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AthenaQueryRunner } from '../../lambda/adapters/athena';
import { DynamoDbCheckpointStore } from '../../lambda/adapters/checkpoints';
import { DynamoDbDetectionStore } from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import type { SourceName } from '../../lambda/engine/ecs';
import { parseKql } from '../../lambda/engine/kql';
import type { Rule } from '../../lambda/engine/rules';
import {
  loadRules,
  PRECOMPILED_RULES_FILE,
  precompileRuleDirectory,
  serializeRuleDocuments,
} from '../../lambda/engine/rules';
import type { CloudTrailBridgeEvent, PipelineLogger, PipelineMetrics } from '../../lambda/handlers/pipeline';
import { detect } from '../../lambda/handlers/pipeline';
import type { SweepDependencies, SweepReport, SweepRule } from '../../lambda/handlers/sweep-core';
import {
  DEFAULT_LAG_MS,
  queryToken,
  SweepConfigError,
  SweepFailedError,
  sweep,
  sweepSettingsFromEnv,
} from '../../lambda/handlers/sweep-core';
import type { ScriptedResult, StartedQuery } from '../adapters/athena-fake';
import { FakeAthena, FakeClock } from '../adapters/athena-fake';
import { RecordingPublisher } from '../adapters/state-support';
import { AthenaOnDuckDb, partitionOf } from '../compile/athena-duckdb';
import { gcpDeleteServiceAccountKey } from '../normalizers/fixtures';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MINUTE = 60_000;
/** With the default 15-minute lag, windows end at 09:52; a first run starts 5 minutes (the interval) earlier. */
const NOW = Date.parse('2026-11-28T10:07:30.000Z');
const TARGET = Date.parse('2026-11-28T09:52:00.000Z');
const LEASE_MS = 120_000;

let aws: LocalAws;
let db: AthenaOnDuckDb;
let seed: Rule;

beforeAll(async () => {
  aws = await startLocalAws();
  db = await AthenaOnDuckDb.create();
  const rules = await loadRules(path.join(ROOT, 'rules'));
  seed = rules.find((rule) => rule.id === 'abnormal-cloud-api-calls') as Rule;
});

afterAll(async () => {
  db.close();
  await aws.stop();
});

beforeEach(async () => {
  await db.clear();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

function only(...sources: SourceName[]): SweepRule {
  return { ...seed, sources };
}

/** A CloudTrail DeleteAccessKey by `user` at `time`, as the trail writes it. */
function trailRecord(options: {
  id: string;
  time: string;
  user?: string;
  name?: string;
}): Record<string, unknown> {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDA4EXAMPLEMALLORY01',
      arn: `arn:aws:iam::111122223333:user/${options.user ?? 'mallory'}`,
      accountId: '111122223333',
      userName: options.user ?? 'mallory',
    },
    eventTime: options.time,
    eventSource: 'iam.amazonaws.com',
    eventName: options.name ?? 'DeleteAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.30',
    requestParameters: { userName: 'alice', accessKeyId: 'AKIA4EXAMPLEALICE001' },
    responseElements: null,
    requestID: `req-${options.id}`,
    eventID: options.id,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  };
}

/** Puts the record in the trail's table, delivered five minutes after it happened. */
async function deliver(
  record: Record<string, unknown>,
  objectPath = `s3://trail/${String(record.eventID)}.json.gz`,
) {
  const delivered = Date.parse(String(record.eventTime)) + 5 * MINUTE;
  await db.insertCloudTrail(record, { timestamp: partitionOf('aws-cloudtrail', delivered) }, objectPath);
}

/** Athena answers with what DuckDB finds for the statement it was given. */
function onDuckDb(overrides: Partial<ScriptedResult> = {}) {
  return async (query: StartedQuery): Promise<ScriptedResult> => {
    const { columns, rows } = await db.query(query.sql);
    return { states: ['QUEUED', 'RUNNING', 'SUCCEEDED'], bytesScanned: 10_000, columns, rows, ...overrides };
  };
}

function observers() {
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const metric = (name: string): number | undefined =>
    metrics.addMetric.mock.calls.findLast(([metricName]) => metricName === name)?.[2] as number | undefined;
  return {
    logger,
    metrics,
    metric,
    asDeps: { logger: logger as unknown as PipelineLogger, metrics: metrics as unknown as PipelineMetrics },
  };
}

interface HarnessOptions {
  readonly rules?: readonly SweepRule[];
  readonly now?: number;
  readonly deadlineMs?: number;
  readonly maxWindowMs?: number;
  readonly pageSize?: number;
  readonly table?: string;
  readonly sources?: readonly SourceName[];
}

async function harness(options: HarnessOptions = {}) {
  const table = options.table ?? uniqueName('sweep');
  if (options.table === undefined) await createStateTable(aws.dynamodb, table);
  const clock = new FakeClock(options.now ?? NOW, (options.now ?? NOW) + (options.deadlineMs ?? 10 * MINUTE));
  const athena = new FakeAthena(onDuckDb());
  const publisher = new RecordingPublisher();
  const store = new DynamoDbDetectionStore(aws.dynamodb, { tableName: table, leaseMs: LEASE_MS });
  const outbox = new DynamoDbOutbox(aws.dynamodb, publisher, { tableName: table, leaseMs: LEASE_MS });
  const checkpoints = new DynamoDbCheckpointStore(aws.dynamodb, { tableName: table });
  const runner = new AthenaQueryRunner(athena.client, {
    workGroup: 'detector',
    database: 'abnormal_cloud_api_calls',
    sleep: clock.sleep,
    random: () => 1,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  const seen = observers();
  const deps = (): SweepDependencies => ({
    loadRules: async () => options.rules ?? [only('aws-cloudtrail')],
    store,
    outbox,
    checkpoints,
    athena: runner,
    ...seen.asDeps,
    settings: {
      lagMs: DEFAULT_LAG_MS,
      maxWindowMs: options.maxWindowMs ?? 60 * MINUTE,
      tables: sweepSettingsFromEnv('abnormal_cloud_api_calls', {}).tables,
      ...(options.sources === undefined ? {} : { sources: options.sources }),
    },
    remainingTimeMs: clock.remaining,
    now: clock.date,
  });
  return {
    table,
    clock,
    athena,
    publisher,
    store,
    outbox,
    checkpoints,
    ...seen,
    deps,
    run: (): Promise<SweepReport> => sweep(deps()),
  };
}

/** A GCP audit LogEntry of a service-account key deletion in the swept hour, as a lake line holds it. */
function deleteKeyEntry(insertId: string) {
  return gcpDeleteServiceAccountKey({
    insertId,
    timestamp: '2026-11-28T09:49:00.000Z',
    receiveTimestamp: '2026-11-28T09:49:01.000Z',
  });
}

describe('sweep', () => {
  it('starts a first run at now − lag − interval, alerts on what the real-time path missed and advances', async () => {
    await deliver(trailRecord({ id: 'evt-missed', time: '2026-11-28T09:50:00Z' }));
    await deliver(trailRecord({ id: 'evt-earlier', time: '2026-11-28T09:40:00Z' }));
    const h = await harness();

    const report = await h.run();

    expect(report).toMatchObject({ windowsSwept: 1, alertsCreated: 1, alertsPublished: 1, rows: 1 });
    expect(h.publisher.alerts.map((alert) => alert.event.id)).toEqual(['evt-missed']);
    expect(h.athena.executions).toHaveLength(1);
    expect(h.athena.executions[0]).toMatchObject({
      workGroup: 'detector',
      database: 'abnormal_cloud_api_calls',
    });
    expect(h.athena.executions[0]?.sql).toContain("from_iso8601_timestamp('2026-11-28T09:47:00.000Z')");
    expect(h.athena.executions[0]?.sql).toContain("from_iso8601_timestamp('2026-11-28T09:52:00.000Z')");
    expect(h.athena.tokens()[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(await h.checkpoints.get(seed.id, 'aws-cloudtrail')).toMatchObject({
      position: TARGET,
      attempt: 0,
    });
    expect(h.metric('SweepCreatedAlerts')).toBe(1);
    expect(h.metric('SweepWindowsSwept')).toBe(1);
    expect(h.metric('SweepBytesScanned')).toBe(10_000);
    expect(h.metric('SweepCheckpointLag')).toBe((NOW - TARGET) / 1000);
  });

  it('catches up from an old checkpoint in windows of at most the maximum, one query each', async () => {
    const h = await harness();
    await h.checkpoints.create(seed.id, 'aws-cloudtrail', Date.parse('2026-11-28T06:00:00Z'), NOW);
    await deliver(trailRecord({ id: 'evt-0630', time: '2026-11-28T06:30:00Z' }));
    await deliver(trailRecord({ id: 'evt-0830', time: '2026-11-28T08:30:00Z' }));

    const report = await h.run();

    expect(report.windowsSwept).toBe(4);
    expect(new Set(h.athena.tokens()).size).toBe(4);
    expect(
      h.athena.executions.map((q) => /'(2026-11-28T\d\d:\d\d)/.exec(q.sql.split('>= ')[1] ?? '')?.[1]),
    ).toEqual(['2026-11-28T06:00', '2026-11-28T07:00', '2026-11-28T08:00', '2026-11-28T09:00']);
    expect(h.publisher.alerts.map((alert) => alert.event.id).sort()).toEqual(['evt-0630', 'evt-0830']);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET);
    expect(h.metric('SweepCreatedAlerts')).toBe(2);
    expect(h.metric('SweepBytesScanned')).toBe(40_000);
  });

  it('sweeps only the sources the deployment has tables for', async () => {
    await deliver(trailRecord({ id: 'evt-no-table', time: '2026-11-28T09:50:00Z' }));
    const h = await harness({ sources: ['gcp-audit-logs'] });

    const report = await h.run();

    expect(report).toMatchObject({ windowsSwept: 0, alertsCreated: 0 });
    expect(h.athena.executions).toEqual([]);
    expect(await h.checkpoints.get(seed.id, 'aws-cloudtrail')).toBeUndefined();
  });

  it('stays the lag behind now: a recent event waits for a later run', async () => {
    await deliver(trailRecord({ id: 'evt-recent', time: '2026-11-28T09:55:00Z' }));
    const h = await harness();

    const first = await h.run();
    h.clock.now = Date.parse('2026-11-28T10:20:00Z');
    h.clock.deadline = h.clock.now + 10 * MINUTE;
    const second = await h.run();

    expect(first.alertsCreated).toBe(0);
    expect(second.alertsCreated).toBe(1);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(
      Date.parse('2026-11-28T10:05:00Z'),
    );
  });

  it('does nothing when it has caught up', async () => {
    const h = await harness();
    await h.run();

    const again = await h.run();

    expect(again.windowsSwept).toBe(0);
    expect(h.athena.executions).toHaveLength(1);
    expect(again.pairs).toEqual([
      {
        ruleId: seed.id,
        source: 'aws-cloudtrail',
        status: 'caught-up',
        position: new Date(TARGET).toISOString(),
        windows: 0,
      },
    ]);
  });

  it.each(['FAILED', 'CANCELLED'] as const)(
    'leaves the checkpoint where it was when the query ends %s, and the next run queries afresh',
    async (state) => {
      await deliver(trailRecord({ id: 'evt-1', time: '2026-11-28T09:50:00Z' }));
      const h = await harness();
      h.athena.setScript(() => ({ states: ['RUNNING', state], reason: 'Bytes scanned limit was exceeded' }));

      await expect(h.run()).rejects.toBeInstanceOf(SweepFailedError);

      expect(await h.checkpoints.get(seed.id, 'aws-cloudtrail')).toMatchObject({
        position: TARGET - 5 * MINUTE,
        attempt: 1,
      });
      expect(h.metric('SweepWindowsFailed')).toBe(1);
      expect(h.logger.error).toHaveBeenCalledWith(
        expect.stringContaining('query'),
        expect.objectContaining({ ruleId: seed.id, queryExecutionId: 'qe-1' }),
      );

      h.athena.setScript(onDuckDb());
      const retry = await h.run();

      expect(retry.alertsCreated).toBe(1);
      expect(h.athena.executions).toHaveLength(2);
      expect(h.athena.tokens()[0]).not.toBe(h.athena.tokens()[1]);
      expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET);
    },
  );

  it('stops at the failed window during a catch-up, keeping the windows before it', async () => {
    const h = await harness();
    await h.checkpoints.create(seed.id, 'aws-cloudtrail', Date.parse('2026-11-28T07:00:00Z'), NOW);
    h.athena.setScript(async (query) =>
      query.sql.includes("'2026-11-28T08:00:00.000Z') AND") ? { states: ['FAILED'] } : onDuckDb()(query),
    );

    await expect(h.run()).rejects.toBeInstanceOf(SweepFailedError);

    expect(h.athena.executions).toHaveLength(2);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(
      Date.parse('2026-11-28T08:00:00Z'),
    );
  });

  it('runs a double-fired schedule once: one query, one alert, one advance', async () => {
    await deliver(trailRecord({ id: 'evt-1', time: '2026-11-28T09:50:00Z' }));
    const h = await harness();

    const [a, b] = await Promise.all([h.run(), h.run()]);

    expect(h.athena.tokens()).toHaveLength(2);
    expect(new Set(h.athena.tokens()).size).toBe(1);
    expect(h.athena.executions).toHaveLength(1);
    expect(a.alertsCreated + b.alertsCreated).toBe(1);
    expect(a.duplicates + b.duplicates).toBe(1);
    expect(h.publisher.alerts).toHaveLength(1);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET);
  });

  it('stops cleanly when the time budget runs out mid-query, and the next run resumes the same execution', async () => {
    await deliver(trailRecord({ id: 'evt-1', time: '2026-11-28T09:50:00Z' }));
    const h = await harness({ deadlineMs: 70_000 });
    h.athena.setScript(onDuckDb({ states: [...Array<'RUNNING'>(15).fill('RUNNING'), 'SUCCEEDED'] }));

    const first = await h.run();

    expect(first).toMatchObject({ stoppedForTime: true, windowsSwept: 0, alertsCreated: 0 });
    expect(h.clock.remaining()).toBeGreaterThan(0);
    expect(await h.checkpoints.get(seed.id, 'aws-cloudtrail')).toMatchObject({
      position: TARGET - 5 * MINUTE,
      pendingEnd: TARGET,
    });

    // A minute later the lag allows a later end, but the started window is swept as it was chosen.
    h.clock.now += MINUTE;
    h.clock.deadline = h.clock.now + 10 * MINUTE;
    const second = await h.run();

    expect(second).toMatchObject({ stoppedForTime: false, alertsCreated: 1 });
    expect(h.athena.tokens()[1]).toBe(h.athena.tokens()[0]);
    expect(h.athena.executions[0]?.statusCalls).toBe(16);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET + 2 * MINUTE);
  });

  it('stops a catch-up when too little time is left to start another window', async () => {
    const h = await harness({ deadlineMs: 60_000 });
    await h.checkpoints.create(seed.id, 'aws-cloudtrail', Date.parse('2026-11-28T06:00:00Z'), NOW);
    h.athena.setScript(onDuckDb({ states: [...Array<'RUNNING'>(6).fill('RUNNING'), 'SUCCEEDED'] }));

    const report = await h.run();

    expect(report).toMatchObject({ stoppedForTime: true, windowsSwept: 1 });
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(
      Date.parse('2026-11-28T07:00:00Z'),
    );
    expect(h.metric('SweepCheckpointLag')).toBe((NOW - Date.parse('2026-11-28T07:00:00Z')) / 1000);
  });

  it('waits out throttling and reads every page of the results', async () => {
    for (const [i, minute] of [41, 43, 45, 47, 49].entries()) {
      await deliver(
        trailRecord({ id: `evt-${i}`, time: `2026-11-28T09:${minute}:00Z`, user: `user-${i % 2}` }),
      );
    }
    const h = await harness({ pageSize: 2 });
    await h.checkpoints.create(seed.id, 'aws-cloudtrail', Date.parse('2026-11-28T09:00:00Z'), NOW);
    h.athena.throttle.start = 2;
    h.athena.throttle.status = 1;
    h.athena.throttle.results = 1;

    const report = await h.run();

    expect(report).toMatchObject({ rows: 5, events: 5, matched: 5, alertsCreated: 2, suppressed: 3 });
    expect(h.athena.calls.filter((call) => call.kind === 'results')).toHaveLength(4);
    expect(h.clock.sleeps.slice(0, 2)).toEqual([1000, 2000]);
  });

  it('counts a row that is not a record, and goes on', async () => {
    await deliver(trailRecord({ id: 'evt-1', time: '2026-11-28T09:50:00Z' }));
    const h = await harness();
    h.athena.setScript(async (query) => {
      const result = await onDuckDb()(query);
      return {
        ...result,
        rows: [{ source_path: 's3://trail/broken', useridentity: '{' }, ...(result.rows ?? [])],
      };
    });

    const report = await h.run();

    expect(report).toMatchObject({ badRecords: 1, alertsCreated: 1, windowsSwept: 1 });
    expect(h.logger.warn).toHaveBeenCalledWith(
      'bad record',
      expect.objectContaining({ source: 'aws-cloudtrail' }),
    );
  });

  it('advances without a query for a source no record of which can match', async () => {
    const rule: SweepRule = {
      ...only('aws-cloudtrail', 'gcp-audit-logs'),
      ast: parseKql('event.dataset:"aws-cloudtrail" and event.provider:"AWS IAM"'),
    };
    const h = await harness({ rules: [rule] });

    const report = await h.run();

    expect(report.windowsSwept).toBe(2);
    expect(h.athena.executions).toHaveLength(1);
    expect((await h.checkpoints.get(seed.id, 'gcp-audit-logs'))?.position).toBe(TARGET);
  });

  it('sweeps every source of a rule from its own checkpoint', async () => {
    await deliver(trailRecord({ id: 'evt-aws', time: '2026-11-28T09:50:00Z' }));
    await db.insertLine(
      'gcp-audit-logs',
      JSON.stringify(deleteKeyEntry('gcp-1')),
      '2026-11-28-09',
      's3://lake/gcp/1',
    );
    const h = await harness({ rules: [seed] });

    const report = await h.run();

    expect(report.windowsSwept).toBe(3);
    expect(h.publisher.alerts.map((alert) => alert.event.id).sort()).toEqual(['evt-aws', 'gcp-1']);
    expect(h.publisher.alerts.find((alert) => alert.event.id === 'gcp-1')?.location).toMatchObject({
      file: 's3://lake/gcp/1',
    });
  });

  it('reads lake lines as the stream carried them: a Pub/Sub message is a bad record, as in detect', async () => {
    const entry = deleteKeyEntry('gcp-wrapped');
    const message = { message: { data: Buffer.from(JSON.stringify(entry)).toString('base64') } };
    await db.insertLine('gcp-audit-logs', JSON.stringify(message), '2026-11-28-09', 's3://lake/gcp/2');
    const h = await harness({ rules: [seed], sources: ['gcp-audit-logs'] });

    const report = await h.run();

    expect(report).toMatchObject({ badRecords: 1, alertsCreated: 0 });
    expect(h.logger.warn).toHaveBeenCalledWith(
      'bad record',
      expect.objectContaining({ reason: expect.stringContaining('a Pub/Sub message') }),
    );
  });

  it('leaves a window whose store writes fail to the next run', async () => {
    await deliver(trailRecord({ id: 'evt-1', time: '2026-11-28T09:50:00Z' }));
    const h = await harness();
    const failing = { recordMatch: () => Promise.reject(new Error('DynamoDB is unavailable')) };

    await expect(sweep({ ...h.deps(), store: failing })).rejects.toBeInstanceOf(SweepFailedError);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET - 5 * MINUTE);

    const retry = await h.run();

    expect(retry.alertsCreated).toBe(1);
    expect((await h.checkpoints.get(seed.id, 'aws-cloudtrail'))?.position).toBe(TARGET);
  });

  describe('with the real-time path', () => {
    it('alerts once for an event both paths see: SweepCreatedAlerts stays 0', async () => {
      const record = trailRecord({ id: 'evt-both', time: '2026-11-28T09:50:00Z' });
      await deliver(record);
      const h = await harness();
      await detect(bridgeEvent(record), {
        loadRules: async () => [seed],
        store: h.store,
        outbox: h.outbox,
        deadLetters: { write: () => Promise.resolve() },
        ...observers().asDeps,
        now: () => new Date(Date.parse('2026-11-28T09:50:30Z')),
      });

      const report = await h.run();

      expect(report).toMatchObject({ matched: 1, alertsCreated: 0, duplicates: 1 });
      expect(h.publisher.alerts.map((alert) => alert.event.id)).toEqual(['evt-both']);
      expect(h.metric('SweepCreatedAlerts')).toBe(0);
    });

    it('counts an event only the sweep sees: SweepCreatedAlerts is 1', async () => {
      const seenByBoth = trailRecord({ id: 'evt-both', time: '2026-11-28T09:50:00Z' });
      await deliver(seenByBoth);
      await deliver(trailRecord({ id: 'evt-only-sweep', time: '2026-11-28T09:51:00Z', user: 'trudy' }));
      const h = await harness();
      await detect(bridgeEvent(seenByBoth), {
        loadRules: async () => [seed],
        store: h.store,
        outbox: h.outbox,
        deadLetters: { write: () => Promise.resolve() },
        ...observers().asDeps,
        now: () => new Date(Date.parse('2026-11-28T09:50:30Z')),
      });

      const report = await h.run();

      expect(report).toMatchObject({ matched: 2, alertsCreated: 1, duplicates: 1 });
      expect(h.publisher.alerts.map((alert) => alert.event.id)).toEqual(['evt-both', 'evt-only-sweep']);
      expect(h.metric('SweepCreatedAlerts')).toBe(1);
    });
  });
});

function bridgeEvent(record: Record<string, unknown>): CloudTrailBridgeEvent {
  return {
    version: '0',
    id: `bridge-${String(record.eventID)}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: '111122223333',
    time: String(record.eventTime),
    region: 'us-east-1',
    resources: [],
    detail: record,
  };
}

describe('queryToken', () => {
  const base = {
    ruleId: 'r',
    source: 'aws-cloudtrail' as const,
    start: 1,
    end: 2,
    attempt: 0,
    sql: 'SELECT 1',
  };

  it('is the same for the same window and 64 hex characters long', () => {
    expect(queryToken(base)).toBe(queryToken({ ...base }));
    expect(queryToken(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, Partial<typeof base>]>([
    ['rule', { ruleId: 's' }],
    ['source', { source: 'aws-cloudtrail', ruleId: 'r2' }],
    ['window start', { start: 0 }],
    ['window end', { end: 3 }],
    ['attempt', { attempt: 1 }],
    ['statement', { sql: 'SELECT 2' }],
  ])('changes with the %s', (_name, change) => {
    expect(queryToken({ ...base, ...change })).not.toBe(queryToken(base));
  });
});

describe('sweepSettingsFromEnv', () => {
  it('defaults to a 15-minute lag, 60-minute windows and the SWEEP_TABLES names', () => {
    expect(sweepSettingsFromEnv('db', {})).toEqual({
      lagMs: 15 * MINUTE,
      maxWindowMs: 60 * MINUTE,
      tables: {
        database: 'db',
        tables: {
          'aws-cloudtrail': 'cloudtrail_logs',
          'azure-activity-logs': 'azure_activity_logs',
          'gcp-audit-logs': 'gcp_audit_logs',
        },
      },
    });
  });

  it('reads the lag, the window and the table names', () => {
    const settings = sweepSettingsFromEnv('db', {
      SWEEP_LAG_MINUTES: '30',
      SWEEP_MAX_WINDOW_MINUTES: '120',
      CLOUDTRAIL_TABLE: 'org_trail',
      AZURE_TABLE: 'azure',
      GCP_TABLE: 'gcp',
    });

    expect(settings).toMatchObject({ lagMs: 30 * MINUTE, maxWindowMs: 120 * MINUTE });
    expect(settings.tables.tables).toEqual({
      'aws-cloudtrail': 'org_trail',
      'azure-activity-logs': 'azure',
      'gcp-audit-logs': 'gcp',
    });
  });

  it('reads the swept sources from SWEEP_SOURCES', () => {
    expect(
      sweepSettingsFromEnv('db', { SWEEP_SOURCES: 'azure-activity-logs, gcp-audit-logs' }).sources,
    ).toEqual(['azure-activity-logs', 'gcp-audit-logs']);
  });

  it.each<[string, string]>([
    ['SWEEP_SOURCES', 'aws-cloudtrail,okta'],
    ['SWEEP_LAG_MINUTES', 'soon'],
    ['SWEEP_LAG_MINUTES', '-5'],
    ['SWEEP_MAX_WINDOW_MINUTES', '0'],
    ['SWEEP_MAX_WINDOW_MINUTES', '1.5'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => sweepSettingsFromEnv('db', { [name]: value })).toThrow(SweepConfigError);
  });
});

describe('handler', () => {
  /** The rules folder as the stack bundles it: the sweep reads only the precompiled `rules.json`. */
  const rulesDir = mkdtempSync(path.join(tmpdir(), 'sweep-rules-'));
  writeFileSync(
    path.join(rulesDir, PRECOMPILED_RULES_FILE),
    serializeRuleDocuments(precompileRuleDirectory(path.join(ROOT, 'rules'))),
  );
  const ENV = {
    TABLE_NAME: 'unused',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
    ATHENA_WORKGROUP: 'sweep-wg',
    ATHENA_DATABASE: 'security_lake',
    CLOUDTRAIL_TABLE: 'org_trail',
    RULES_DIR: rulesDir,
    SWEEP_LAG_MINUTES: '15',
    SWEEP_MAX_WINDOW_MINUTES: '60',
  };

  it('wires the environment, the state table and Athena, and returns the report', async () => {
    const table = uniqueName('sweep-handler');
    await createStateTable(aws.dynamodb, table);
    for (const [name, value] of Object.entries({ ...ENV, TABLE_NAME: table })) vi.stubEnv(name, value);
    const module = await import('../../lambda/handlers/sweep');
    const athena = new FakeAthena(async () => ({
      states: ['SUCCEEDED'],
      columns: ['source_path', 'record'],
      rows: [],
    }));
    const sns = {
      send: vi.fn(() => Promise.reject(new Error('no alert is expected'))),
    } as unknown as SnsSender;
    module.clients.dynamodb = aws.dynamodb;
    module.clients.athena = athena.client;
    module.clients.sns = sns;

    const report = await module.handler({}, { getRemainingTimeInMillis: () => 5 * MINUTE });

    expect(report.pairs.map((pair) => pair.source)).toEqual([
      'aws-cloudtrail',
      'azure-activity-logs',
      'gcp-audit-logs',
    ]);
    expect(athena.executions.every((q) => q.workGroup === 'sweep-wg' && q.database === 'security_lake')).toBe(
      true,
    );
    expect(athena.executions[0]?.sql).toContain('"security_lake"."org_trail"');
    expect(athena.executions[1]?.sql).toContain('"security_lake"."azure_activity_logs"');
  });

  it('fails the cold start on a malformed setting, naming it', async () => {
    for (const [name, value] of Object.entries({ ...ENV, SWEEP_LAG_MINUTES: 'fifteen' }))
      vi.stubEnv(name, value);

    await expect(import('../../lambda/handlers/sweep')).rejects.toThrow('SWEEP_LAG_MINUTES');
  });

  it('fails the cold start without the Athena workgroup', async () => {
    for (const [name, value] of Object.entries({ ...ENV, ATHENA_WORKGROUP: '' })) vi.stubEnv(name, value);

    await expect(import('../../lambda/handlers/sweep')).rejects.toThrow('ATHENA_WORKGROUP');
  });
});
