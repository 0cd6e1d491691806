/**
 * Issue 7, load: 100,000 records (RELIABILITY_LOAD_RECORDS to change it) from the three clouds, about 1 %
 * of them sensitive with some delivered twice and a few unreadable ones, put into a four-shard kinesalite
 * stream with PutRecords, read back shard by shard, and run through the detect pipeline in batches of 100
 * as the event source mapping would (the shards side by side, each shard's batches in order), on dynalite
 * with SNS and S3 mocked at the client. Every expected alert must be delivered exactly once and nothing but
 * the unreadable records may be dead-lettered. Throughput is printed, never asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../lambda/engine/rules';
import { detect } from '../../lambda/handlers/pipeline';
import type { LocalAws } from '../support/local-aws';
import { startLocalAws } from '../support/local-aws';
import type { EventSpec } from './support';
import {
  byShard,
  expectedAlerts,
  newStack,
  prng,
  rawEvent,
  runShard,
  shippedRules,
  streamOf,
} from './support';

const RECORDS = Number(process.env.RELIABILITY_LOAD_RECORDS ?? 100_000);
const SHARDS = 4;
const BATCH_SIZE = 100;
const NOW = Date.parse('2026-11-29T00:30:00.000Z');
const START = Date.parse('2026-11-28T00:00:00.000Z');

let aws: LocalAws;
let rules: readonly Rule[];

beforeAll(async () => {
  aws = await startLocalAws();
  rules = await shippedRules();
});

afterAll(async () => {
  await aws.stop();
});

const CLOUDS = ['aws', 'azure', 'gcp'] as const;
const AWS_EVERYDAY = [
  ['iam.amazonaws.com', 'GetUser'],
  ['iam.amazonaws.com', 'ListRoles'],
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['s3.amazonaws.com', 'GetBucketAcl'],
  ['sts.amazonaws.com', 'AssumeRole'],
  ['kms.amazonaws.com', 'Decrypt'],
] as const;

interface Workload {
  readonly payloads: Buffer[];
  readonly sensitive: number;
  readonly duplicates: number;
  readonly unreadable: Buffer[];
}

/**
 * The records, in arrival order: every 100th is a sensitive call (300 callers across the three clouds,
 * each making four in a row, so suppression groups fill up), every 1,000th re-delivers the latest
 * sensitive one, every 5,000th is not JSON; the rest are everyday calls. Event times spread over a day,
 * so windows open and close.
 */
function workload(count: number): Workload {
  const random = prng(7);
  const payloads: Buffer[] = [];
  const unreadable: Buffer[] = [];
  let sensitive = 0;
  let duplicates = 0;
  let latest: Buffer | undefined;
  for (let k = 0; k < count; k += 1) {
    const time = new Date(START + Math.floor((k * 86_400_000) / count)).toISOString();
    if (k % 5000 === 4999) {
      const bad = Buffer.from(`{"Records": [truncated record ${k}`);
      unreadable.push(bad);
      payloads.push(bad);
      continue;
    }
    if (k % 1000 === 75 && latest !== undefined) {
      duplicates += 1;
      payloads.push(latest);
      continue;
    }
    const cloud = CLOUDS[k % 3] as EventSpec['cloud'];
    if (k % 100 === 50) {
      // Four calls in a row by one caller, minutes apart: most fold into the first one's alert.
      const caller = Math.floor(sensitive / 4) % 300;
      sensitive += 1;
      const spec: EventSpec = {
        cloud: CLOUDS[caller % 3] as EventSpec['cloud'],
        id: `load-${k}`,
        user: `caller-${caller}@example.com`,
        time,
        sensitive: true,
      };
      latest = Buffer.from(JSON.stringify(rawEvent(spec)));
      payloads.push(latest);
      continue;
    }
    const record = rawEvent({
      cloud,
      id: `load-${k}`,
      user: `user-${Math.floor(random() * 5000)}`,
      time,
      sensitive: false,
    });
    if (cloud === 'aws') {
      const [source, name] = AWS_EVERYDAY[Math.floor(random() * AWS_EVERYDAY.length)] as readonly [
        string,
        string,
      ];
      record.eventSource = source;
      record.eventName = name;
    }
    payloads.push(Buffer.from(JSON.stringify(record)));
  }
  return { payloads, sensitive, duplicates, unreadable };
}

const rate = (n: number, ms: number): string => `${Math.round((n * 1000) / ms).toLocaleString('en-US')}/s`;

describe(`${RECORDS.toLocaleString('en-US')} records through the Kinesis handler`, () => {
  it('delivers every expected alert once and dead-letters only the unreadable records', {
    timeout: 600_000,
  }, async () => {
    const stack = await newStack(aws);
    const work = workload(RECORDS);
    const expected = await expectedAlerts(work.payloads, rules, NOW);

    let started = performance.now();
    const records = await streamOf(aws, work.payloads, { shards: SHARDS, concurrency: SHARDS });
    const putAndReadMs = performance.now() - started;
    const shards = byShard(records);
    started = performance.now();
    const reports = await Promise.all(
      shards.map((shard) =>
        runShard(shard, (event) => detect(event, stack.detectDeps(NOW)), { batchSize: BATCH_SIZE }),
      ),
    );
    const pipelineMs = performance.now() - started;

    const invocations = reports.reduce((sum, report) => sum + report.invocations, 0);
    console.log(
      [
        `load: ${RECORDS.toLocaleString('en-US')} Kinesis records (${work.sensitive} sensitive, ${work.duplicates} re-delivered, ${work.unreadable.length} unreadable) on ${shards.length} shards`,
        `  put with PutRecords and read back: ${(putAndReadMs / 1000).toFixed(1)} s (${rate(RECORDS, putAndReadMs)})`,
        `  detect pipeline, ${invocations} invocations of ≤ ${BATCH_SIZE}: ${(pipelineMs / 1000).toFixed(1)} s (${rate(RECORDS, pipelineMs)} records)`,
        `  alerts ${expected.alertIds.size}, suppressed ${stack.observers.metric('Suppressed')}, duplicates ${stack.observers.metric('Duplicates')}, dead letters ${stack.deadLetters.length}`,
      ].join('\n'),
    );
    expect(records).toHaveLength(RECORDS);
    expect(shards).toHaveLength(SHARDS);
    expect(reports.every((report) => report.retries === 0)).toBe(true);
    expect(stack.sns.alertCounts()).toEqual(new Map([...expected.alertIds].map((id) => [id, 1])));
    expect(stack.deadLetters.map((dead) => Buffer.from(dead.raw).toString()).sort()).toEqual(
      work.unreadable.map((bad) => bad.toString()).sort(),
    );
    expect(stack.observers.metric('RecordsIn')).toBe(RECORDS);
    expect(stack.observers.metric('BadRecords')).toBe(work.unreadable.length);
    expect(stack.observers.metric('RecordsRetried')).toBe(0);
    expect(stack.observers.metric('Alerts')).toBe(expected.alertIds.size);
    expect(stack.observers.metric('Duplicates')).toBe(work.duplicates);
    expect(stack.observers.metric('Suppressed')).toBe(
      expected.matched - expected.alertIds.size - work.duplicates,
    );
    expect(await stack.pending()).toMatchObject({ alerts: 0, applying: 0 });
    stack.destroy();
  });
});
