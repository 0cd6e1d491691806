import { createServer } from 'node:net';
import { KinesisClient, type PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../forwarders/core/backoff';
import { classifyCallError, deliverEntries, type PutRecordsClient } from '../../../forwarders/core/deliver';
import { CredentialsError } from '../../../forwarders/core/errors';
import { KINESIS_LIMITS } from '../../../forwarders/core/limits';
import type { KinesisEntry } from '../../../forwarders/core/records';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import {
  accessDenied,
  FaultyKinesis,
  internalFailure,
  requestSizes,
  startFlakyProxy,
  throttled,
} from '../support/faulty-kinesis';
import { readStream } from '../support/stream';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

/** Entries whose data says which they are, of the given sizes. */
function entries(sizes: readonly number[]): KinesisEntry[] {
  return sizes.map((size, index) => {
    const label = `record-${index}|`;
    const data = Buffer.alloc(Math.max(size, label.length), '.');
    data.write(label);
    return { data, partitionKey: `key-${index}`, origin: `record ${index}` };
  });
}

const labelOf = (data: Uint8Array): string => Buffer.from(data).toString('utf8').split('|')[0] as string;

/** A fake clock whose sleeps advance it, so budgets are tested without waiting. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('deliverEntries', () => {
  it('delivers every record exactly once through throttled entries and failed calls, within the limits', async () => {
    // Arrange: 1,300 records from 100 B to 40 KiB (several calls), 4 shards; call 1 throttled as a whole,
    // call 3 a 500, and in every other call of the first two rounds, every third entry throttled.
    const stream = uniqueName('deliver');
    await createStream(aws.kinesis, stream, 4);
    const sizes = Array.from({ length: 1_300 }, (_, i) => 100 + ((i * 7919) % 40_000));
    const input = entries(sizes);
    const failedCalls = new Map([
      [1, throttled],
      [3, internalFailure],
    ]);
    const client = new FaultyKinesis(aws.kinesis, {
      call: (call) => failedCalls.get(call)?.(),
      entry: (call, entry) =>
        call < 6 && entry % 3 === 0
          ? entry % 2 === 0
            ? 'ProvisionedThroughputExceededException'
            : 'InternalFailure'
          : undefined,
    });
    const time = fakeTime();

    // Act
    const result = await deliverEntries(input, {
      streamName: stream,
      client,
      deadline: time.now() + 60_000,
      now: time.now,
      sleep: time.sleep,
    });

    // Assert: all delivered, once each, across the shards.
    expect(result.undelivered).toEqual([]);
    expect(result.delivered).toBe(input.length);
    const stored = await readStream(aws.kinesis, stream);
    expect(stored.map((record) => labelOf(record.data)).sort()).toEqual(
      input.map((entry) => labelOf(entry.data)).sort(),
    );
    expect(new Set(stored.map((record) => record.shardId)).size).toBe(4);
    // Every request within the limits.
    expect(client.requests.length).toBe(result.calls);
    for (const request of client.requests) {
      const { entries: entrySizes, total } = requestSizes(request);
      expect(entrySizes.length).toBeLessThanOrEqual(KINESIS_LIMITS.maxRecordsPerCall);
      expect(total).toBeLessThanOrEqual(KINESIS_LIMITS.maxBytesPerCall);
      for (const size of entrySizes) expect(size).toBeLessThanOrEqual(KINESIS_LIMITS.maxBytesPerRecord);
    }
    // Retries resent only what failed, after a backoff.
    expect(result.retriedEntries).toBeLessThan(input.length);
    expect(time.sleeps.length).toBeGreaterThan(0);
  });

  it('retries only the entries that came back with an ErrorCode', async () => {
    const stream = uniqueName('deliver-entries');
    await createStream(aws.kinesis, stream);
    const input = entries([10, 20, 30, 40, 50]);
    const client = new FaultyKinesis(aws.kinesis, {
      entry: (call, entry) =>
        call === 0 && (entry === 1 || entry === 3) ? 'ProvisionedThroughputExceededException' : undefined,
    });
    const time = fakeTime();

    const result = await deliverEntries(input, {
      streamName: stream,
      client,
      deadline: time.now() + 10_000,
      now: time.now,
      sleep: time.sleep,
    });

    expect(result).toMatchObject({ delivered: 5, undelivered: [], calls: 2, retriedEntries: 2 });
    expect(client.requests[1]?.Records?.map((entry) => entry.PartitionKey)).toEqual(['key-1', 'key-3']);
  });

  it('goes through real 503 answers on the wire, parsed by the real SDK', async () => {
    const stream = uniqueName('deliver-503');
    await createStream(aws.kinesis, stream);
    const proxy = await startFlakyProxy(aws.kinesisEndpoint, 2, 503);
    const client = new KinesisClient({
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    const time = fakeTime();
    try {
      const result = await deliverEntries(entries([100, 200, 300]), {
        streamName: stream,
        client,
        deadline: time.now() + 10_000,
        now: time.now,
        sleep: time.sleep,
      });

      expect(result).toMatchObject({ delivered: 3, undelivered: [], calls: 3 });
      expect(proxy.requests()).toBe(3);
      expect(await readStream(aws.kinesis, stream)).toHaveLength(3);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('reports every entry undelivered, without retrying, when the call is refused for good', async () => {
    const client = new FaultyKinesis(aws.kinesis, { call: () => accessDenied() });
    const time = fakeTime();

    const result = await deliverEntries(entries([10, 10]), {
      streamName: 'irrelevant',
      client,
      deadline: time.now() + 10_000,
      now: time.now,
      sleep: time.sleep,
    });

    expect(result.delivered).toBe(0);
    expect(result.calls).toBe(1);
    expect(result.undelivered).toEqual([
      { origin: 'record 0', reason: expect.stringContaining('AccessDeniedException') },
      { origin: 'record 1', reason: expect.stringContaining('AccessDeniedException') },
    ]);
  });

  it('gives up when the time budget runs out, reporting what is still failing', async () => {
    const stream = uniqueName('deliver-budget');
    await createStream(aws.kinesis, stream);
    const client = new FaultyKinesis(aws.kinesis, {
      entry: (_call, entry) => (entry === 0 ? 'ProvisionedThroughputExceededException' : undefined),
    });
    const time = fakeTime();

    const result = await deliverEntries(entries([10, 10, 10]), {
      streamName: stream,
      client,
      deadline: time.now() + 2_000,
      now: time.now,
      sleep: time.sleep,
      random: () => 0.5,
    });

    expect(result.delivered).toBe(2);
    expect(result.undelivered).toEqual([
      {
        origin: 'record 0',
        reason:
          'ProvisionedThroughputExceededException: injected ProvisionedThroughputExceededException (the time budget ran out)',
      },
    ]);
    expect(time.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(2_000);
    expect(await readStream(aws.kinesis, stream)).toHaveLength(2);
  });

  it('treats a refused connection as retryable and reports it when the budget runs out', async () => {
    const port = await closedPort();
    const client = new KinesisClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
    const time = fakeTime();
    try {
      const result = await deliverEntries(entries([10]), {
        streamName: 'unreachable',
        client,
        deadline: time.now() + 1_000,
        now: time.now,
        sleep: time.sleep,
      });

      expect(result.calls).toBeGreaterThan(1);
      expect(result.undelivered).toEqual([
        { origin: 'record 0', reason: expect.stringMatching(/ECONNREFUSED.*time budget ran out/) },
      ]);
    } finally {
      client.destroy();
    }
  });

  it('never loses or duplicates a record whatever fails, for any failure pattern (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 300 }),
        fc.infiniteStream(fc.constantFrom('ok', 'ok', 'ok', 'throttle', 'internal', 'kms-denied')),
        fc.infiniteStream(fc.constantFrom('ok', 'ok', 'ok', 'ok', 'throttled', 'server', 'denied')),
        fc.integer({ min: 1, max: 12 }),
        async (sizes, entryOutcomes, callOutcomes, maxRounds) => {
          const input = entries(sizes);
          const accepted: string[] = [];
          const entryIterator = entryOutcomes[Symbol.iterator]();
          const callIterator = callOutcomes[Symbol.iterator]();
          const client: PutRecordsClient = {
            send: async (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
              const outcome = callIterator.next().value;
              if (outcome === 'throttled') throw throttled();
              if (outcome === 'server') throw internalFailure();
              if (outcome === 'denied') throw accessDenied();
              const records = (command.input.Records ?? []).map((entry) => {
                const result = entryIterator.next().value;
                if (result === 'ok') {
                  accepted.push(labelOf(entry.Data ?? new Uint8Array()));
                  return { SequenceNumber: String(accepted.length), ShardId: 'shardId-000000000000' };
                }
                const code =
                  result === 'throttle'
                    ? 'ProvisionedThroughputExceededException'
                    : result === 'internal'
                      ? 'InternalFailure'
                      : 'KMSAccessDeniedException';
                return { ErrorCode: code, ErrorMessage: 'injected' };
              });
              return { $metadata: {}, Records: records, FailedRecordCount: 0 };
            },
          };
          const time = fakeTime();

          const result = await deliverEntries(input, {
            streamName: 'memory',
            client,
            deadline: time.now() + 30_000,
            maxRounds,
            now: time.now,
            sleep: time.sleep,
          });

          // Each record is either accepted exactly once or reported undelivered, never both, never neither.
          const undelivered = result.undelivered.map((record) => `record-${record.origin.split(' ')[1]}`);
          expect(new Set(accepted).size).toBe(accepted.length);
          expect([...accepted, ...undelivered].sort()).toEqual(
            input.map((entry) => labelOf(entry.data)).sort(),
          );
          expect(result.delivered).toBe(accepted.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('classifyCallError', () => {
  it.each([
    ['whole-call throttling', throttled(), true],
    ['a 500', internalFailure(), true],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      true,
    ],
    ['a socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    ['AccessDenied', accessDenied(), false],
    ['a credentials error STS may recover from', new CredentialsError('sts 503', 'arn', true), true],
    ['a credentials error that needs configuration', new CredentialsError('denied', 'arn', false), false],
    ['a thrown string', 'boom', false],
  ])('says %s is retryable: %s', (_label, error, retryable) => {
    expect(classifyCallError(error).retryable).toBe(retryable);
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap with half of each step jittered', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(retry, { baseMs: 100, maxMs: 500 }, () => 0))).toEqual([
      50, 100, 200, 250,
    ]);
    expect(
      [1, 2, 3, 4].map((retry) => backoffDelay(retry, { baseMs: 100, maxMs: 500 }, () => 0.999999)),
    ).toEqual([100, 200, 400, 500]);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
