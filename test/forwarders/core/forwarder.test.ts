import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UndeliveredRecordsError } from '../../../forwarders/core/errors';
import { Forwarder, type ForwarderOptions } from '../../../forwarders/core/forwarder';
import { KINESIS_LIMITS } from '../../../forwarders/core/limits';
import { FORWARDER_METRICS } from '../../../forwarders/core/log';
import { FileSystemOversizeSink, type OversizeSink } from '../../../forwarders/core/oversize';
import type { SourceRecord } from '../../../forwarders/core/records';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import { FaultyKinesis, requestSizes } from '../support/faulty-kinesis';
import { memoryLog, readStream } from '../support/stream';

const MIB = 1024 * 1024;
const KEY_BYTES = 32;

let aws: LocalAws;
let oversizeDir: string;

beforeAll(async () => {
  aws = await startLocalAws();
  oversizeDir = await mkdtemp(path.join(tmpdir(), 'forwarder-oversize-'));
});

afterAll(async () => {
  await aws.stop();
  await rm(oversizeDir, { recursive: true, force: true });
});

function record(
  index: number,
  payload: string,
  eventId: string | undefined = `event-${index}`,
): SourceRecord {
  const data = Buffer.from(JSON.stringify({ index, eventId, payload }), 'utf8');
  return eventId === undefined
    ? { data, origin: `record ${index}` }
    : { data, origin: `record ${index}`, eventId };
}

async function forwarderOn(shards: number, options: Partial<ForwarderOptions> = {}) {
  const streamName = uniqueName('forwarder');
  await createStream(aws.kinesis, streamName, shards);
  const kinesis = new FaultyKinesis(aws.kinesis);
  const forwarder = new Forwarder({
    source: 'gcp-audit-logs',
    streamName,
    kinesis,
    deliveryBudgetMs: 10_000,
    sleep: async () => {},
    ...options,
  });
  return { streamName, kinesis, forwarder };
}

/** Records per shard. */
function shardCounts(stored: readonly { shardId: string }[]): number[] {
  const counts = new Map<string, number>();
  for (const { shardId } of stored) counts.set(shardId, (counts.get(shardId) ?? 0) + 1);
  return [...counts.values()];
}

/** Pearson's chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const expected = counts.reduce((sum, count) => sum + count, 0) / counts.length;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

describe('Forwarder', () => {
  it('spreads records with event ids evenly over the shards', async () => {
    const { streamName, forwarder } = await forwarderOn(4);
    const records = Array.from({ length: 4_000 }, (_, i) => record(i, 'x'));

    await forwarder.forward(records, memoryLog());

    const stored = await readStream(aws.kinesis, streamName);
    const counts = shardCounts(stored);
    expect(counts).toHaveLength(4);
    // 16.27 is the 0.1% critical value for 3 degrees of freedom: the keys are as even as random.
    expect(chiSquare(counts)).toBeLessThan(16.27);
  });

  it('spreads records without event ids evenly too, with random keys', async () => {
    const { streamName, forwarder } = await forwarderOn(4);
    const records = Array.from({ length: 4_000 }, (_, i) => record(i, 'x', undefined));

    await forwarder.forward(records, memoryLog());

    const stored = await readStream(aws.kinesis, streamName);
    const counts = shardCounts(stored);
    expect(counts).toHaveLength(4);
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.3);
    expect(new Set(stored.map((item) => item.partitionKey)).size).toBe(4_000);
  });

  it('keys a record by a hash of its event id, the same on every delivery', async () => {
    const { streamName, forwarder } = await forwarderOn(1);

    await forwarder.forward([record(1, 'a', 'insert-1')], memoryLog());
    await forwarder.forward([record(1, 'a', 'insert-1')], memoryLog());

    const [first, second] = await readStream(aws.kinesis, streamName);
    expect(first?.partitionKey).toMatch(/^[0-9a-f]{32}$/);
    expect(second?.partitionKey).toBe(first?.partitionKey);
  });

  it('sends a record that fits as it is, and gzips one that does not', async () => {
    const { streamName, kinesis, forwarder } = await forwarderOn(1);
    const fits = {
      data: Buffer.alloc(KINESIS_LIMITS.maxBytesPerRecord - KEY_BYTES, 'a'),
      origin: 'fits',
      eventId: 'a',
    };
    const over = {
      data: Buffer.alloc(KINESIS_LIMITS.maxBytesPerRecord - KEY_BYTES + 1, 'b'),
      origin: 'over',
      eventId: 'b',
    };
    const log = memoryLog();

    const report = await forwarder.forward([fits, over], log);

    expect(report).toMatchObject({ sent: 2, compressed: 1, oversizeStored: 0 });
    const stored = await readStream(aws.kinesis, streamName);
    expect(stored.map((item) => item.data.subarray(0, 2).toString('hex'))).toEqual(['6161', '1f8b']);
    expect(gunzipSync(stored[1]?.data ?? Buffer.alloc(0)).equals(over.data)).toBe(true);
    for (const request of kinesis.requests) {
      expect(requestSizes(request).total).toBeLessThanOrEqual(KINESIS_LIMITS.maxBytesPerCall);
      for (const size of requestSizes(request).entries)
        expect(size).toBeLessThanOrEqual(KINESIS_LIMITS.maxBytesPerRecord);
    }
    expect(log.metric(FORWARDER_METRICS.recordsCompressed)).toHaveLength(1);
  });

  it('stores a record too large even gzipped, logs the metric, and delivers the rest', async () => {
    const sink = new FileSystemOversizeSink(oversizeDir);
    const { streamName, forwarder } = await forwarderOn(1, { oversizeSink: sink });
    // Random bytes do not compress: 1.5 MiB of base64 gzips to about 1.1 MiB.
    const huge = record(2, randomBytes(1.5 * MIB).toString('base64'), 'huge-1');
    const log = memoryLog();

    const report = await forwarder.forward([record(1, 'small'), huge, record(3, 'small')], log);

    expect(report).toMatchObject({ received: 3, sent: 2, oversizeStored: 1, undelivered: [] });
    expect(
      (await readStream(aws.kinesis, streamName)).map((item) => JSON.parse(item.data.toString()).index),
    ).toEqual([1, 3]);
    const [line] = log.metric(FORWARDER_METRICS.oversizeStored);
    expect(line).toMatchObject({
      level: 'error',
      fields: { metric: 'ForwarderOversizeRecordsStored', value: 1, origin: 'record 2', eventId: 'huge-1' },
    });
    const location = String(line?.fields.location);
    expect(location.startsWith(path.join(oversizeDir, 'oversize', 'gcp-audit-logs'))).toBe(true);
    expect(location.endsWith('.json')).toBe(true);
    expect((await readFile(location)).equals(huge.data)).toBe(true);
  });

  it('stores a redelivered oversize record under the same name instead of a second copy', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'forwarder-oversize-again-'));
    const { forwarder } = await forwarderOn(1, { oversizeSink: new FileSystemOversizeSink(dir) });
    const huge = record(1, randomBytes(1.5 * MIB).toString('base64'));

    await forwarder.forward([huge], memoryLog());
    await forwarder.forward([huge], memoryLog());

    const files = await readdir(dir, { recursive: true });
    expect(files.filter((file) => file.endsWith('.json'))).toHaveLength(1);
    await rm(dir, { recursive: true, force: true });
  });

  it('stores rather than gzips a record larger than the detector would inflate', async () => {
    const stored: Uint8Array[] = [];
    const sink: OversizeSink = {
      store: async (item) => {
        stored.push(item.data);
        return 'memory://1';
      },
    };
    const { streamName, forwarder } = await forwarderOn(1, { oversizeSink: sink });
    const bomb = { data: Buffer.alloc(17 * MIB, '{'), origin: 'bomb' };

    const report = await forwarder.forward([bomb], memoryLog());

    expect(report.oversizeStored).toBe(1);
    expect(stored[0]?.byteLength).toBe(17 * MIB);
    expect(await readStream(aws.kinesis, streamName)).toEqual([]);
  });

  it('fails the invocation for an oversize record when no store is configured, after delivering the rest', async () => {
    const { streamName, forwarder } = await forwarderOn(1);
    const huge = record(2, randomBytes(1.5 * MIB).toString('base64'));
    const log = memoryLog();

    const failure = await forwarder.forward([record(1, 'small'), huge], log).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UndeliveredRecordsError);
    expect((failure as UndeliveredRecordsError).undelivered).toEqual([
      { origin: 'record 2', reason: expect.stringContaining('no oversize store is configured') },
    ]);
    expect((failure as UndeliveredRecordsError).delivered).toBe(1);
    expect(await readStream(aws.kinesis, streamName)).toHaveLength(1);
    expect(log.metric(FORWARDER_METRICS.undelivered)).toMatchObject([
      { level: 'error', fields: { value: 1 } },
    ]);
  });

  it('fails the invocation when the oversize store fails', async () => {
    const sink: OversizeSink = {
      store: async () => {
        throw new Error('container not found');
      },
    };
    const { forwarder } = await forwarderOn(1, { oversizeSink: sink });

    await expect(
      forwarder.forward([record(1, randomBytes(1.5 * MIB).toString('base64'))], memoryLog()),
    ).rejects.toThrow(/1 of 1 records were not delivered.*the oversize store failed: container not found/);
  });

  it('logs one summary line with the counts', async () => {
    const { forwarder } = await forwarderOn(1);
    const log = memoryLog();

    await forwarder.forward([record(1, 'a'), record(2, 'b')], log);

    expect(log.metric(FORWARDER_METRICS.recordsSent)).toMatchObject([
      {
        level: 'info',
        fields: { value: 2, received: 2, sent: 2, undelivered: 0, calls: 1, source: 'gcp-audit-logs' },
      },
    ]);
  });
});
