/**
 * Issue 7, faults: end to end on loopback (kinesalite, dynalite, SNS and S3 mocked at the client), through
 * the real detect pipeline, the redrive and the sweep. Every run is compared with the reference answer
 * (the same engine over a memory store): nothing may be lost, and nothing may be delivered more often than
 * the outbox's documented worst case.
 *
 * Already covered elsewhere and not repeated here: single crash points inside the store and the outbox
 * (test/adapters/dynamodb-store.test.ts, test/adapters/outbox.test.ts), one throttled record of a sample
 * batch and one poison record at the head of a batch (test/handlers/detect.test.ts), failed and cancelled
 * Athena queries, double-fired sweeps and time-outs (test/handlers/sweep.test.ts).
 */
import { GetQueryResultsCommand } from '@aws-sdk/client-athena';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
} from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryRunner } from '../../lambda/adapters/athena';
import { DynamoDbCheckpointStore } from '../../lambda/adapters/checkpoints';
import { KEY_PREFIX } from '../../lambda/adapters/dynamodb-store';
import { matchKeys } from '../../lambda/engine/alerts/alert';
import type { DetectorRule } from '../../lambda/engine/detector/detector';
import type { EcsEvent, SourceName } from '../../lambda/engine/ecs';
import { normalize } from '../../lambda/engine/normalizers';
import type { Rule } from '../../lambda/engine/rules';
import type { CloudTrailBridgeEvent, DetectDependencies } from '../../lambda/handlers/pipeline';
import { detect, RetryableDetectError } from '../../lambda/handlers/pipeline';
import type { SweepRule } from '../../lambda/handlers/sweep-core';
import {
  DEFAULT_LAG_MS,
  SweepFailedError,
  sweep,
  sweepSettingsFromEnv,
} from '../../lambda/handlers/sweep-core';
import type { ScriptedResult, StartedQuery } from '../adapters/athena-fake';
import { FakeAthena, FakeClock } from '../adapters/athena-fake';
import { getItem } from '../adapters/state-support';
import { AthenaOnDuckDb, partitionOf } from '../compile/athena-duckdb';
import type { LocalAws } from '../support/local-aws';
import { startLocalAws } from '../support/local-aws';
import type { EventSpec, Expected, Stack } from './support';
import {
  bridgeEvent,
  byShard,
  cloudTrailRecord,
  expectedAlerts,
  HOUR,
  MINUTE,
  newStack,
  payloadOf,
  prng,
  rawEvent,
  redriveUntilQuiet,
  runShard,
  shippedRules,
  streamOf,
  topicMessage,
} from './support';

const NOW = Date.parse('2026-11-28T10:00:00.000Z');
const DAY = 24 * HOUR;

let aws: LocalAws;
let rules: readonly Rule[];

beforeAll(async () => {
  aws = await startLocalAws();
  rules = await shippedRules();
});

afterAll(async () => {
  await aws.stop();
});

/** Every cloud; alerting and everyday calls; a second match in one group; one event delivered twice. */
function mixedEvents(): EventSpec[] {
  return [
    { cloud: 'aws', id: 'ct-1', user: 'alice', time: '2026-11-28T09:10:00Z', sensitive: true },
    { cloud: 'aws', id: 'ct-2', user: 'alice', time: '2026-11-28T09:20:00Z', sensitive: true },
    { cloud: 'aws', id: 'ct-3', user: 'bob', time: '2026-11-28T09:21:00Z', sensitive: true },
    { cloud: 'aws', id: 'ct-4', user: 'bob', time: '2026-11-28T09:22:00Z', sensitive: false },
    {
      cloud: 'azure',
      id: 'az-1',
      user: 'carol@contoso.example',
      time: '2026-11-28T09:30:00Z',
      sensitive: true,
    },
    {
      cloud: 'azure',
      id: 'az-2',
      user: 'carol@contoso.example',
      time: '2026-11-28T09:31:00Z',
      sensitive: false,
    },
    { cloud: 'gcp', id: 'gcp-1', user: 'dave@acme.example', time: '2026-11-28T09:40:00Z', sensitive: true },
    { cloud: 'gcp', id: 'gcp-1', user: 'dave@acme.example', time: '2026-11-28T09:40:00Z', sensitive: true },
    { cloud: 'gcp', id: 'gcp-2', user: 'erin@acme.example', time: '2026-11-28T09:41:00Z', sensitive: false },
  ];
}

/** `n` events with a user each, cycling through the clouds; every `everyday`-th one is not sensitive. */
function manyEvents(n: number, prefix: string, everyday = 3): EventSpec[] {
  const clouds = ['aws', 'azure', 'gcp'] as const;
  return Array.from({ length: n }, (_, i) => ({
    cloud: clouds[i % 3] as EventSpec['cloud'],
    id: `${prefix}-${i}`,
    user: `${prefix}-user-${i}@example.com`,
    time: new Date(Date.parse('2026-11-28T09:05:00Z') + i * 1000).toISOString(),
    sensitive: i % everyday !== everyday - 1,
  }));
}

/** Each expected alert exactly once, and nothing else. */
function once(expected: Expected): Map<string, number> {
  return new Map([...expected.alertIds].map((id) => [id, 1]));
}

/** The digests delivered, as alert id and the match count each one reported. */
function digestsOf(stack: Stack): { alertId: string; count: number }[] {
  return stack.sns.delivered
    .filter((input) => input.MessageAttributes?.kind?.StringValue === 'digest')
    .map((input) => {
      const digest = topicMessage(input).digest;
      return { alertId: digest?.alertId ?? '', count: digest?.count ?? 0 };
    });
}

/** What Lambda does with an EventBridge event: invoke, and on an error retry (at most `attempts` times). */
async function invokeBridge(event: CloudTrailBridgeEvent, deps: DetectDependencies, attempts = 5) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await detect(event, deps);
    } catch (error) {
      if (!(error instanceof RetryableDetectError) || attempt >= attempts) throw error;
    }
  }
}

const kinesis = (stack: Stack, now: number) => (event: KinesisStreamEvent) =>
  detect(event, stack.detectDeps(now));

const EMPTY = { alerts: 0, digests: 0, applying: 0 };

describe('SNS failing, then recovering', () => {
  it.each([1, 3, 12])(
    'delivers every alert exactly once when SNS fails the first %i publishes',
    async (failures) => {
      const stack = await newStack(aws);
      const payloads = mixedEvents().map(payloadOf);
      const expected = await expectedAlerts(payloads, rules, NOW);
      const records = await streamOf(aws, payloads);
      stack.sns.failNext = failures;

      const run = await runShard(records, kinesis(stack, NOW));
      await redriveUntilQuiet(stack, NOW + MINUTE, { stepMs: MINUTE });

      expect(expected.alertIds.size).toBe(4);
      expect(run.retries).toBe(0);
      expect(stack.sns.alertCounts()).toEqual(once(expected));
      expect(stack.sns.attempts).toBe(stack.sns.delivered.length + failures);
      expect(stack.observers.metric('AlertsDeferred')).toBe(Math.min(failures, expected.alertIds.size));
      expect(digestsOf(stack)).toEqual(
        [...expected.groupSizes].filter(([, n]) => n > 1).map(([alertId, count]) => ({ alertId, count })),
      );
      expect(await stack.pending()).toEqual(EMPTY);
      stack.destroy();
    },
  );

  it('delivers an alert that SNS took but answered with an error at least once and at most twice', async () => {
    const stack = await newStack(aws);
    const payloads = mixedEvents().map(payloadOf);
    const expected = await expectedAlerts(payloads, rules, NOW);
    const records = await streamOf(aws, payloads);
    stack.sns.acceptThenFail = 2;

    await runShard(records, kinesis(stack, NOW));
    await redriveUntilQuiet(stack, NOW + MINUTE, { stepMs: MINUTE });

    const counts = stack.sns.alertCounts();
    expect(new Set(counts.keys())).toEqual(expected.alertIds);
    expect([...counts.values()].sort()).toEqual([1, 1, 2, 2]);
    expect(await stack.pending()).toEqual(EMPTY);
    stack.destroy();
  });
});

describe('a crash of the detect function at any point', () => {
  const events: EventSpec[] = [
    { cloud: 'aws', id: 'ct-1', user: 'alice', time: '2026-11-28T09:10:00Z', sensitive: true },
    { cloud: 'gcp', id: 'gcp-2', user: 'erin@acme.example', time: '2026-11-28T09:11:00Z', sensitive: false },
    { cloud: 'aws', id: 'ct-2', user: 'alice', time: '2026-11-28T09:20:00Z', sensitive: true },
    {
      cloud: 'azure',
      id: 'az-1',
      user: 'carol@contoso.example',
      time: '2026-11-28T09:30:00Z',
      sensitive: true,
    },
  ];

  it.each([
    ['before the crashed claim expires', 1_000],
    ['after the crashed claim expired', 45_000],
  ])(
    'still delivers every alert once or twice, and each digest with the exact count, when Lambda retries the batch %s',
    async (_when, retryDelayMs) => {
      const payloads = events.map(payloadOf);
      const expected = await expectedAlerts(payloads, rules, NOW);
      const records = await streamOf(aws, payloads);
      const clean = await newStack(aws);
      await detect({ Records: records }, clean.detectDeps(NOW));
      // Every DynamoDB call of a clean run is a crash point, and so is the moment SNS took a message.
      const points: (number | 'sns')[] = [...clean.chaos.trace.keys(), clean.chaos.trace.length, 'sns'];
      clean.destroy();
      const covered: string[] = [];

      for (const point of points) {
        const stack = await newStack(aws);
        if (point === 'sns') {
          let armed = false;
          stack.sns.afterAccept = () => {
            if (!armed) stack.faults.arm(0);
            armed = true;
          };
        } else {
          stack.faults.arm(point);
        }
        await detect({ Records: records }, stack.detectDeps(NOW)).catch(() => undefined);
        stack.faults.disarm();
        stack.sns.afterAccept = () => undefined;
        // The invocation died: Lambda delivers the whole batch again.
        await runShard(records, kinesis(stack, NOW + retryDelayMs));
        await redriveUntilQuiet(stack, NOW + 10 * MINUTE);

        const where =
          point === 'sns'
            ? 'inside the SNS publish, after SNS took the message'
            : `before DynamoDB call ${point + 1} (${describeCall(clean.chaos.trace[point])})`;
        covered.push(where);
        const counts = stack.sns.alertCounts();
        expect(new Set(counts.keys()), where).toEqual(expected.alertIds);
        for (const count of counts.values()) expect(count, where).toBeLessThanOrEqual(2);
        const digests = digestsOf(stack);
        expect(digests.length, where).toBeGreaterThanOrEqual(1);
        expect(digests.length, where).toBeLessThanOrEqual(2);
        for (const digest of digests)
          expect(digest.count, where).toBe(expected.groupSizes.get(digest.alertId));
        expect(await stack.pending(), where).toEqual(EMPTY);
        stack.destroy();
      }
      console.log(`crash points covered (${_when}): ${covered.length}\n  ${covered.join('\n  ')}`);
      expect(covered.length).toBeGreaterThan(15);
    },
  );
});

function describeCall(call: { command: string; key: string; marksSent: boolean } | undefined): string {
  if (call === undefined) return 'after the last call';
  const kind = call.key.startsWith('index:') ? call.key : `${call.key.split('#')[0]}#`;
  return `${call.command.replace('Command', '')} ${kind}${call.marksSent ? ' SENT' : ''}`;
}

describe('DynamoDB throttling and errors', () => {
  const errors = [
    () => new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }),
    () => new RequestLimitExceeded({ message: 'Throughput exceeds the account limit', $metadata: {} }),
    () => new InternalServerError({ message: 'Internal server error', $metadata: {} }),
    () =>
      Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
        name: 'ThrottlingException',
      }),
    () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
  ];

  it('loses no alert under any storm of errors before or after the write, with Lambda retrying from the lowest failed record', {
    timeout: 180_000,
  }, async () => {
    const payloads = [...mixedEvents(), ...manyEvents(9, 'storm')].map(payloadOf);
    const expected = await expectedAlerts(payloads, rules, NOW);
    const records = await streamOf(aws, payloads);
    let cases = 0;
    let injected = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          rate: fc.double({ min: 0.05, max: 0.6, noNaN: true }),
          afterShare: fc.double({ min: 0, max: 1, noNaN: true }),
          stormCalls: fc.integer({ min: 5, max: 300 }),
        }),
        async ({ seed, rate, afterShare, stormCalls }) => {
          cases += 1;
          const stack = await newStack(aws);
          const random = prng(seed);
          let calls = 0;
          stack.chaos.decide = () => {
            calls += 1;
            if (calls > stormCalls || random() >= rate) return undefined;
            injected += 1;
            const error = errors[Math.floor(random() * errors.length)] as () => Error;
            return { timing: random() < afterShare ? 'after' : 'before', error: error() };
          };

          // Each retry comes 20 s later, so some find a crashed claim still held and some take it over.
          let last = NOW;
          await runShard(
            records,
            (event, attempt) => {
              last = Math.max(last, NOW + (attempt - 1) * 20_000);
              return detect(event, stack.detectDeps(NOW + (attempt - 1) * 20_000));
            },
            { batchSize: 5, maxAttempts: 200 },
          );
          await redriveUntilQuiet(stack, last + 10 * MINUTE, { stepMs: MINUTE, maxRuns: 100 });

          // A publish can repeat only where marking it SENT failed before the write reached DynamoDB.
          const unmarked = new Map<string, number>();
          for (const call of stack.chaos.trace) {
            if (!call.marksSent || call.failed !== 'before' || !call.key.startsWith(KEY_PREFIX.group))
              continue;
            const id = call.key.slice(KEY_PREFIX.group.length);
            unmarked.set(id, (unmarked.get(id) ?? 0) + 1);
          }
          const counts = stack.sns.alertCounts();
          expect(new Set(counts.keys())).toEqual(expected.alertIds);
          for (const [id, count] of counts) expect(count).toBeLessThanOrEqual(1 + (unmarked.get(id) ?? 0));
          expect(stack.deadLetters).toEqual([]);
          expect(await stack.pending()).toEqual(EMPTY);
          stack.destroy();
        },
      ),
      { numRuns: 30 },
    );
    console.log(`DynamoDB fault storms: ${cases} generated cases, ${injected} injected errors`);
  });

  it('resumes each shard from its lowest failed record and re-delivers the rest without a duplicate alert', async () => {
    const stack = await newStack(aws);
    const specs = manyEvents(40, 'partial');
    const payloads = specs.map(payloadOf);
    const expected = await expectedAlerts(payloads, rules, NOW);
    const shards = byShard(await streamOf(aws, payloads, { shards: 2 }));
    const sensitive = (record: KinesisStreamRecord): boolean =>
      specs.find((spec) => spec.id === eventIdOf(record))?.sensitive === true;
    const [first = [], second = []] = shards;
    const inFirst = first.filter(sensitive);
    const inSecond = second.filter(sensitive);
    // Two records of one shard and one of the other are throttled once each.
    const targets = [inFirst[1], inFirst[4], inSecond[2]].map((record) =>
      eventIdOf(record as KinesisStreamRecord),
    );
    const throttledOnce = new Set<string>();
    stack.faults.when = (input, command) => {
      const id = (input.Item as Record<string, { S?: string }> | undefined)?.eventId?.S;
      if (
        command !== 'PutItemCommand' ||
        id === undefined ||
        !targets.includes(id) ||
        throttledOnce.has(id)
      ) {
        return undefined;
      }
      throttledOnce.add(id);
      return new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
    };
    const deliveries: KinesisStreamRecord[][] = [];
    const failures: string[][] = [];

    const reports = await Promise.all(
      shards.map((records) =>
        runShard(records, async (event) => {
          deliveries.push(event.Records);
          const response = await detect(event, stack.detectDeps(NOW));
          failures.push(response?.batchItemFailures?.map((failure) => failure.itemIdentifier) ?? []);
          return response;
        }),
      ),
    );

    const redelivered = deliveries.slice(2).flat();
    const decidedBefore = redelivered.filter(
      (record) => sensitive(record) && !targets.includes(eventIdOf(record)),
    );
    expect(shards).toHaveLength(2);
    expect(reports.map((report) => report.retries)).toEqual([1, 1]);
    expect(failures.flat().sort()).toEqual(
      [inFirst[1], inFirst[4], inSecond[2]].map((record) => record?.kinesis.sequenceNumber).sort(),
    );
    // Each retry starts exactly at the lowest failed record of its shard.
    expect(
      deliveries
        .slice(2)
        .map((batch) => batch[0]?.kinesis.sequenceNumber)
        .sort(),
    ).toEqual([inFirst[1], inSecond[2]].map((record) => record?.kinesis.sequenceNumber).sort());
    expect(stack.sns.alertCounts()).toEqual(once(expected));
    expect(stack.observers.metric('RecordsRetried')).toBe(3);
    expect(stack.observers.metric('Duplicates')).toBe(decidedBefore.length);
    expect(decidedBefore.length).toBeGreaterThan(5);
    stack.destroy();
  });
});

function eventIdOf(record: KinesisStreamRecord): string {
  const raw = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  return String(raw.eventID ?? raw.eventDataId ?? raw.insertId);
}

describe('the same event delivered more than once, at the same moment', () => {
  it('alerts once when five copies of a Kinesis batch are processed concurrently', async () => {
    const stack = await newStack(aws);
    const payloads = mixedEvents().map(payloadOf);
    const expected = await expectedAlerts(payloads, rules, NOW);
    const records = await streamOf(aws, payloads);

    await Promise.all(Array.from({ length: 5 }, () => runShard(records, kinesis(stack, NOW))));
    await redriveUntilQuiet(stack, NOW + 10 * MINUTE);

    expect(stack.sns.alertCounts()).toEqual(once(expected));
    expect(digestsOf(stack)).toEqual([
      { alertId: [...expected.groupSizes].find(([, n]) => n > 1)?.[0], count: 2 },
    ]);
    stack.destroy();
  });

  it('alerts once when five copies of an EventBridge event arrive concurrently', async () => {
    const stack = await newStack(aws);
    const record = cloudTrailRecord({
      id: 'ct-eb',
      user: 'mallory',
      time: '2026-11-28T09:50:00Z',
      sensitive: true,
    });

    await Promise.all(
      Array.from({ length: 5 }, () => invokeBridge(bridgeEvent(record), stack.detectDeps(NOW))),
    );
    await redriveUntilQuiet(stack, NOW + 10 * MINUTE);

    expect([...stack.sns.alertCounts().values()]).toEqual([1]);
    expect(stack.observers.metric('Duplicates')).toBe(4);
    stack.destroy();
  });
});

// ---------------------------------------------------------------------------------------------------------
// The sweep: Athena scripted over DuckDB running the generated SQL (test/compile/athena-duckdb.ts)

const SWEEP_NOW = Date.parse('2026-11-28T10:07:30.000Z');
/** With the default 15-minute lag, windows end at 09:52. */
const TARGET = Date.parse('2026-11-28T09:52:00.000Z');
const SWEEP_FROM = Date.parse('2026-11-28T09:00:00.000Z');
const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
const SOURCE_OF = { aws: 'aws-cloudtrail', azure: 'azure-activity-logs', gcp: 'gcp-audit-logs' } as const;

let db: AthenaOnDuckDb;

beforeAll(async () => {
  db = await AthenaOnDuckDb.create();
});

afterAll(() => {
  db.close();
});

/** Lands the event in its lake table, `delayMs` after it happened (its partition is the delivery time). */
async function toLake(spec: EventSpec, delayMs = 5 * MINUTE): Promise<void> {
  const delivered = Date.parse(spec.time) + delayMs;
  const source = SOURCE_OF[spec.cloud];
  if (spec.cloud === 'aws') {
    await db.insertCloudTrail(
      rawEvent(spec),
      { timestamp: partitionOf(source, delivered) },
      `s3://trail/${spec.id}.json.gz`,
    );
  } else {
    await db.insertLine(
      source,
      JSON.stringify(rawEvent(spec)),
      partitionOf(source, delivered),
      `s3://lake/${spec.id}`,
    );
  }
}

function onDuckDb() {
  return async (query: StartedQuery): Promise<ScriptedResult> => {
    const { columns, rows } = await db.query(query.sql);
    return { states: ['RUNNING', 'SUCCEEDED'], bytesScanned: 10_000, columns, rows };
  };
}

interface SweepHarness {
  readonly clock: FakeClock;
  readonly athena: FakeAthena;
  readonly checkpoints: DynamoDbCheckpointStore;
  run(): ReturnType<typeof sweep>;
}

/** The sweep on the stack's table and outbox, with every source's checkpoint at `from`. */
async function sweepOn(
  stack: Stack,
  options: { rules?: readonly SweepRule[]; from?: number; pageSize?: number } = {},
): Promise<SweepHarness> {
  const clock = new FakeClock(SWEEP_NOW, SWEEP_NOW + 10 * MINUTE);
  const athena = new FakeAthena(onDuckDb());
  const checkpoints = new DynamoDbCheckpointStore(stack.client, { tableName: stack.table });
  const runner = new AthenaQueryRunner(athena.client, {
    workGroup: 'detector',
    database: 'abnormal_cloud_api_calls',
    sleep: clock.sleep,
    random: () => 1,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  const sweepRules = options.rules ?? rules;
  for (const rule of sweepRules) {
    for (const source of SOURCES)
      await checkpoints.create(rule.id, source, options.from ?? SWEEP_FROM, SWEEP_NOW);
  }
  return {
    clock,
    athena,
    checkpoints,
    run: () =>
      sweep({
        loadRules: async () => sweepRules,
        store: stack.store,
        outbox: stack.outbox,
        checkpoints,
        athena: runner,
        logger: stack.observers.logger,
        metrics: stack.observers.metrics,
        settings: {
          lagMs: DEFAULT_LAG_MS,
          maxWindowMs: HOUR,
          tables: sweepSettingsFromEnv('abnormal_cloud_api_calls', {}).tables,
        },
        remainingTimeMs: clock.remaining,
        now: clock.date,
      }),
  };
}

async function positions(harness: SweepHarness, ruleId = rules[0]?.id ?? ''): Promise<number[]> {
  return Promise.all(
    SOURCES.map(async (source) => (await harness.checkpoints.get(ruleId, source))?.position ?? 0),
  );
}

describe('the real-time path and the sweep together', () => {
  beforeEach(async () => {
    await db.clear();
  });

  it('alerts once when EventBridge, Kinesis and two sweeps deliver the same events at the same moment', async () => {
    const stack = await newStack(aws);
    const aws1: EventSpec = {
      cloud: 'aws',
      id: 'ct-both',
      user: 'mallory',
      time: '2026-11-28T09:50:00Z',
      sensitive: true,
    };
    const gcp1: EventSpec = {
      cloud: 'gcp',
      id: 'gcp-both',
      user: 'trudy@acme.example',
      time: '2026-11-28T09:49:00Z',
      sensitive: true,
    };
    await toLake(aws1);
    await toLake(gcp1);
    const records = await streamOf(aws, [
      Buffer.from(JSON.stringify({ Records: [rawEvent(aws1)] })),
      payloadOf(gcp1),
    ]);
    const harness = await sweepOn(stack);

    await Promise.all([
      invokeBridge(bridgeEvent(rawEvent(aws1)), stack.detectDeps(SWEEP_NOW)),
      invokeBridge(bridgeEvent(rawEvent(aws1)), stack.detectDeps(SWEEP_NOW)),
      runShard(records, kinesis(stack, SWEEP_NOW)),
      runShard(records, kinesis(stack, SWEEP_NOW)),
      harness.run(),
      harness.run(),
    ]);
    await redriveUntilQuiet(stack, SWEEP_NOW + 10 * MINUTE);

    expect([...stack.sns.alertCounts().values()]).toEqual([1, 1]);
    expect(stack.sns.alertIds().length).toBe(2);
    expect(await positions(harness)).toEqual([TARGET, TARGET, TARGET]);
    stack.destroy();
  });

  it('re-sweeps a window that failed midway: nothing missed, nothing doubled', async () => {
    const stack = await newStack(aws);
    const specs = manyEvents(15, 'midway', 100);
    for (const spec of specs) await toLake(spec);
    // The real-time path already alerted on three of them.
    for (const spec of specs.slice(0, 3)) {
      await runShard(await streamOf(aws, [payloadOf(spec)]), kinesis(stack, SWEEP_NOW));
    }
    const expected = await expectedAlerts(specs.map(payloadOf), rules, SWEEP_NOW);
    let occurrences = 0;
    stack.faults.when = (input, command) => {
      const pk = (input.Item as Record<string, { S?: string }> | undefined)?.pk?.S ?? '';
      if (command !== 'PutItemCommand' || !pk.startsWith(KEY_PREFIX.occurrence)) return undefined;
      occurrences += 1;
      return occurrences > 7
        ? new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} })
        : undefined;
    };
    const harness = await sweepOn(stack);

    await expect(harness.run()).rejects.toBeInstanceOf(SweepFailedError);
    const afterFailure = stack.sns.alertIds().length;
    const stuck = await positions(harness);
    stack.faults.disarm();
    harness.clock.now += 5 * MINUTE;
    harness.clock.deadline = harness.clock.now + 10 * MINUTE;
    const retry = await harness.run();

    expect(afterFailure).toBeGreaterThan(3);
    expect(afterFailure).toBeLessThan(expected.alertIds.size);
    expect(stuck).toContain(SWEEP_FROM);
    expect(stack.sns.alertCounts()).toEqual(once(expected));
    expect(retry.alertsCreated).toBe(expected.alertIds.size - afterFailure);
    expect(await positions(harness)).toEqual(Array(3).fill(TARGET + 5 * MINUTE));
    stack.destroy();
  });

  it('redoes a window whose results it ran out of time reading: nothing missed, nothing doubled', async () => {
    const stack = await newStack(aws);
    const specs = manyEvents(12, 'paged', 100);
    for (const spec of specs) await toLake(spec);
    const expected = await expectedAlerts(specs.map(payloadOf), rules, SWEEP_NOW);
    const harness = await sweepOn(stack, { pageSize: 2 });
    let pages = 0;
    // The invocation's time runs out while the first source's results are being paged through.
    const send = harness.athena.client.send.bind(harness.athena.client);
    harness.athena.client.send = (async (command: unknown) => {
      const output = await send(command as never);
      if (command instanceof GetQueryResultsCommand) {
        pages += 1;
        if (pages === 2) harness.clock.now = harness.clock.deadline - 5_000;
      }
      return output;
    }) as typeof harness.athena.client.send;

    const first = await harness.run();
    const afterFirst = stack.sns.alertIds().length;
    harness.clock.now = SWEEP_NOW + 5 * MINUTE;
    harness.clock.deadline = harness.clock.now + 10 * MINUTE;
    const second = await harness.run();

    expect(first.stoppedForTime).toBe(true);
    expect(afterFirst).toBeGreaterThan(0);
    expect(afterFirst).toBeLessThan(expected.alertIds.size);
    expect(second.stoppedForTime).toBe(false);
    expect(stack.sns.alertCounts()).toEqual(once(expected));
    expect(await positions(harness)).toEqual(Array(3).fill(TARGET + 5 * MINUTE));
    stack.destroy();
  });

  it('still alerts in real time on a CloudTrail event that reaches the lake after its window was swept', async () => {
    const stack = await newStack(aws);
    const late: EventSpec = {
      cloud: 'aws',
      id: 'ct-late',
      user: 'mallory',
      time: '2026-11-28T09:50:00Z',
      sensitive: true,
    };
    const harness = await sweepOn(stack);
    await invokeBridge(bridgeEvent(rawEvent(late)), stack.detectDeps(Date.parse('2026-11-28T09:50:40Z')));

    await harness.run();
    await toLake(late, 3 * HOUR);
    harness.clock.now = Date.parse('2026-11-28T13:30:00Z');
    harness.clock.deadline = harness.clock.now + 10 * MINUTE;
    const later = await harness.run();

    expect([...stack.sns.alertCounts().values()]).toEqual([1]);
    expect(later).toMatchObject({ rows: 0, alertsCreated: 0 });
    stack.destroy();
  });

  it('reports a match that folds into its group after the digest went out in a later digest', async () => {
    const stack = await newStack(aws);
    const alice = (id: string, time: string): EventSpec => ({
      cloud: 'aws',
      id,
      user: 'alice',
      time,
      sensitive: true,
    });
    const at = (time: string) => Date.parse(`2026-11-28T${time}:00.000Z`);
    const inTime = await streamOf(aws, [
      payloadOf(alice('ct-1', '2026-11-28T09:10:00Z')),
      payloadOf(alice('ct-2', '2026-11-28T09:20:00Z')),
    ]);
    await runShard(inTime, kinesis(stack, at('09:25')));
    await redriveUntilQuiet(stack, at('10:01'));
    const first = digestsOf(stack);

    // A third match of the same window arrives late: CloudTrail's delivery delay, or the sweep 15 minutes on.
    await runShard(
      await streamOf(aws, [payloadOf(alice('ct-3', '2026-11-28T09:30:00Z'))]),
      kinesis(stack, at('10:20')),
    );
    await redriveUntilQuiet(stack, at('10:25'));

    expect(first.map((digest) => digest.count)).toEqual([2]);
    expect(stack.observers.metric('Suppressed')).toBe(2);
    expect(stack.sns.alertIds()).toHaveLength(1);
    expect(digestsOf(stack).map((digest) => digest.count)).toEqual([2, 3]);
    stack.destroy();
  });

  it('does not alert on an event the real-time path missed and that reached the lake after its window was swept (the documented gap)', async () => {
    const stack = await newStack(aws);
    const late: EventSpec = {
      cloud: 'aws',
      id: 'ct-late',
      user: 'mallory',
      time: '2026-11-28T09:50:00Z',
      sensitive: true,
    };
    const harness = await sweepOn(stack);

    await harness.run();
    await toLake(late, 3 * HOUR);
    harness.clock.now = Date.parse('2026-11-28T13:30:00Z');
    harness.clock.deadline = harness.clock.now + 10 * MINUTE;
    const later = await harness.run();

    expect(stack.sns.alertIds()).toEqual([]);
    expect(later.rows).toBe(0);
    expect(await positions(harness)).toEqual(Array(3).fill(Date.parse('2026-11-28T13:15:00Z')));
    stack.destroy();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Poison records

/** The shipped rules, with the query or a runbook condition throwing on one event id. */
function poisoned(where: 'query' | 'runbook', poisonId: string): Rule[] {
  const throwsOn = (doc: unknown): void => {
    if ((doc as EcsEvent).event.id === poisonId) throw new TypeError(`poisoned by ${poisonId}`);
  };
  return rules.map((rule) =>
    where === 'query'
      ? {
          ...rule,
          predicate: (doc: unknown) => {
            throwsOn(doc);
            return rule.predicate(doc);
          },
        }
      : {
          ...rule,
          runbook: Object.fromEntries(
            Object.entries(rule.runbook).map(([phase, steps]) => [
              phase,
              steps.map((step) => ({
                ...step,
                commands: step.commands.map((command) => ({
                  ...command,
                  when: (doc: unknown) => {
                    throwsOn(doc);
                    return command.when(doc);
                  },
                })),
              })),
            ]),
          ) as unknown as Rule['runbook'],
        },
  );
}

describe('a poison record that throws inside evaluation', () => {
  beforeEach(async () => {
    await db.clear();
  });

  it.each(['query', 'runbook'] as const)(
    'is dead-lettered alone when the %s throws, and the shard moves on',
    async (where) => {
      const specs = manyEvents(9, `poison-${where}`, 100);
      const poison = specs[4] as EventSpec;
      const stack = await newStack(aws, { rules: async () => poisoned(where, poison.id) });
      const payloads = specs.map(payloadOf);
      const expected = await expectedAlerts(
        specs.filter((spec) => spec !== poison).map(payloadOf),
        rules,
        NOW,
      );
      const records = await streamOf(aws, payloads);

      const report = await runShard(records, kinesis(stack, NOW), { batchSize: 3 });

      expect(report).toEqual({ invocations: 3, retries: 0 });
      expect(stack.sns.alertCounts()).toEqual(once(expected));
      expect(stack.deadLetters).toHaveLength(1);
      expect(stack.deadLetters[0]).toMatchObject({
        source: 'kinesis',
        location: { sequenceNumber: records[4]?.kinesis.sequenceNumber, index: 1 },
        reason: expect.stringContaining(`poisoned by ${poison.id}`),
      });
      expect(Buffer.from(stack.deadLetters[0]?.raw ?? [])).toEqual(payloads[4]);
      expect(stack.observers.metric('BadRecords')).toBe(1);
      stack.destroy();
    },
  );

  it.each(['query', 'runbook'] as const)(
    'is counted as bad by the sweep when the %s throws, and the sweep moves past it',
    async (where) => {
      const specs = manyEvents(6, `sweep-poison-${where}`, 100).map((spec) => ({
        ...spec,
        cloud: 'aws' as const,
      }));
      const poison = specs[2] as EventSpec;
      for (const spec of specs) await toLake(spec);
      const stack = await newStack(aws);
      const expected = await expectedAlerts(
        specs.filter((spec) => spec !== poison).map(payloadOf),
        rules,
        SWEEP_NOW,
      );
      const harness = await sweepOn(stack, { rules: poisoned(where, poison.id) });

      const report = await harness.run();

      expect(report).toMatchObject({ badRecords: 1, alertsCreated: specs.length - 1, windowsFailed: 0 });
      expect(stack.sns.alertCounts()).toEqual(once(expected));
      expect(await positions(harness)).toEqual([TARGET, TARGET, TARGET]);
      stack.destroy();
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// Time: occurrences past their TTL

describe('an occurrence whose TTL has passed but that DynamoDB has not deleted yet', () => {
  it('counts as absent: a copy within the TTL is a duplicate, and copies after it alert once more, however many arrive at once', async () => {
    const stack = await newStack(aws);
    const record = cloudTrailRecord({
      id: 'ct-ttl',
      user: 'mallory',
      time: '2026-11-28T09:50:00Z',
      sensitive: true,
    });
    const rule = rules[0] as DetectorRule;
    const { occurrenceKey } = matchKeys(rule, normalize('aws-cloudtrail', record).doc);
    const afterTtl = NOW + 7 * DAY + 1000;

    await invokeBridge(bridgeEvent(record), stack.detectDeps(NOW));
    await invokeBridge(bridgeEvent(record), stack.detectDeps(NOW + 6 * DAY));
    const beforeExpiry = stack.sns.alertIds().length;
    const item = await getItem(stack.client, stack.table, KEY_PREFIX.occurrence + occurrenceKey);
    await Promise.all(
      Array.from({ length: 5 }, () => invokeBridge(bridgeEvent(record), stack.detectDeps(afterTtl))),
    );

    expect(beforeExpiry).toBe(1);
    expect(Number(item?.expiresAt?.N) * 1000).toBeLessThan(afterTtl);
    expect(stack.sns.alertIds()).toHaveLength(2);
    expect(new Set(stack.sns.alertIds()).size).toBe(1);
    expect(stack.observers.metric('Alerts')).toBe(2);
    expect(stack.observers.metric('Duplicates')).toBe(5);
    stack.destroy();
  });
});
