import { InvocationContext, type LogLevel } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivityLogHandler } from '../../../forwarders/azure/handler';
import { unwrapEventHubBatch } from '../../../forwarders/azure/messages';
import { UndeliveredRecordsError } from '../../../forwarders/core/errors';
import { Forwarder } from '../../../forwarders/core/forwarder';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import { type FaultPlan, FaultyKinesis } from '../support/faulty-kinesis';
import { asDetectorSees, azureRecords } from '../support/fixtures';
import { readStream } from '../support/stream';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

/** A real `InvocationContext` as the host builds it for an Event Hub batch, keeping what is logged. */
function eventHubContext(count: number, retryCount?: number) {
  const logs: { level: LogLevel; line: Record<string, unknown> }[] = [];
  const context = new InvocationContext({
    invocationId: '5f8a7c2e-0000-4000-8000-000000000001',
    functionName: 'forwardActivityLogs',
    triggerMetadata: {
      partitionContext: {
        eventHubName: 'insights-activity-logs',
        consumerGroup: '$Default',
        fullyQualifiedNamespace: 'audit.servicebus.windows.net',
        partitionId: '3',
      },
      sequenceNumberArray: Array.from({ length: count }, (_, i) => 1000 + i),
      enqueuedTimeUtcArray: Array.from({ length: count }, () => '2030-01-01T00:00:00Z'),
    },
    ...(retryCount === undefined ? {} : { retryContext: { retryCount, maxRetryCount: -1 } }),
    logHandler: (level, ...args) => logs.push({ level, line: JSON.parse(String(args[0])) }),
  });
  return { context, logs };
}

async function handlerOn(plan: FaultPlan = {}) {
  const streamName = uniqueName('azure-handler');
  await createStream(aws.kinesis, streamName, 2);
  const kinesis = new FaultyKinesis(aws.kinesis, plan);
  const forwarder = new Forwarder({
    source: 'azure-activity-logs',
    streamName,
    kinesis,
    deliveryBudgetMs: 2_000,
    sleep: async () => {},
  });
  return { streamName, kinesis, handler: createActivityLogHandler({ forwarder }) };
}

describe('createActivityLogHandler', () => {
  it('forwards each record of every message shape the host hands over as one Kinesis record', async () => {
    // Arrange: the host's shapes for cardinality "many": parsed JSON objects, strings, Buffers.
    const records = azureRecords();
    const [r1, r2, r3, r4, r5, r6] = records;
    const messages = [
      { records: [r1, r2] },
      JSON.stringify({ records: [r3] }),
      Buffer.from(JSON.stringify({ records: [r4, r5] })),
      r6,
    ];
    const { streamName, handler } = await handlerOn();
    const { context, logs } = eventHubContext(messages.length);

    // Act
    await handler(messages, context);

    // Assert: six records, each read by the detector as one Azure Activity Log record, unchanged.
    const stored = await readStream(aws.kinesis, streamName);
    expect(stored).toHaveLength(6);
    const seen = stored.flatMap((item) => asDetectorSees(item.data));
    expect(seen.every((view) => view.source === 'azure-activity-logs')).toBe(true);
    expect(seen.map((view) => view.record)).toEqual(expect.arrayContaining([r1, r2, r3, r4, r5, r6]));
    expect(logs.find((entry) => entry.line.metric === 'ForwarderRecordsSent')?.line).toMatchObject({
      message: 'forwarded batch',
      invocationId: '5f8a7c2e-0000-4000-8000-000000000001',
      value: 6,
    });
  });

  it('forwards every record of a large export', async () => {
    const all = azureRecords();
    const { streamName, handler } = await handlerOn();
    const messages = Array.from({ length: 30 }, (_, i) => ({ records: all.map((r) => ({ ...r, copy: i })) }));

    await handler(messages, eventHubContext(messages.length).context);

    expect(await readStream(aws.kinesis, streamName)).toHaveLength(30 * all.length);
  });

  it('forwards a message that is not JSON as received and counts it', async () => {
    const { streamName, handler } = await handlerOn();
    const { context, logs } = eventHubContext(2);

    await handler([{ records: [azureRecords()[0]] }, 'not json at all'], context);

    const stored = await readStream(aws.kinesis, streamName);
    expect(stored.map((item) => item.data.toString('utf8'))).toContain('not json at all');
    expect(logs.find((entry) => entry.line.metric === 'ForwarderUnrecognizedMessages')).toMatchObject({
      level: 'warning',
      line: { value: 1, examples: [{ origin: 'partition 3 sequence 1001', reason: 'not UTF-8 JSON' }] },
    });
  });

  it('takes a single message too (cardinality "one")', async () => {
    const { streamName, handler } = await handlerOn();
    const [record] = azureRecords();

    await handler(JSON.stringify({ records: [record] }), eventHubContext(1).context);

    expect(await readStream(aws.kinesis, streamName)).toHaveLength(1);
  });

  it('fails the invocation after delivering what it could, and the redelivery yields the same event ids', async () => {
    // Arrange: the first entry of every call of the first invocation (10 rounds) is throttled.
    // Records without eventDataId, as Event Hub delivers them: the detector derives their id from content.
    const records = azureRecords()
      .filter((record) => record.eventDataId === undefined)
      .slice(0, 4);
    let calls = 0;
    const { streamName, handler } = await handlerOn({
      entry: (call, entry) =>
        call < 10 && entry === 0 ? 'ProvisionedThroughputExceededException' : undefined,
    });
    const forwarderHandler = async (messages: unknown, context: InvocationContext) => {
      calls += 1;
      return handler(messages, context);
    };
    const first = eventHubContext(1);

    // Act: the failed invocation, then the host's retry of the same batch.
    const failure = await Promise.resolve(forwarderHandler([{ records }], first.context)).catch(
      (error: unknown) => error,
    );
    const retry = eventHubContext(1, 1);
    await forwarderHandler([{ records }], retry.context);

    // Assert
    expect(failure).toBeInstanceOf(UndeliveredRecordsError);
    expect(first.logs.find((entry) => entry.level === 'error')?.line).toMatchObject({
      metric: 'ForwarderRecordsUndelivered',
      value: 1,
    });
    expect(retry.logs[0]?.line).toMatchObject({
      message: 'retrying a batch that failed before',
      retryCount: 1,
    });
    const stored = await readStream(aws.kinesis, streamName);
    expect(stored).toHaveLength(3 + 4);
    const ids = stored.flatMap((item) => asDetectorSees(item.data)).map((view) => view.eventId);
    expect(new Set(ids).size).toBe(4);
    expect(calls).toBe(2);
  });
});

describe('unwrapEventHubBatch', () => {
  it('names each record by partition, sequence number and position', () => {
    const [r1, r2] = azureRecords();

    const batch = unwrapEventHubBatch([{ records: [r1, r2] }], { partitionId: '7', sequenceNumbers: [42] });

    expect(batch.records.map((record) => record.origin)).toEqual([
      'partition 7 sequence 42 record 1',
      'partition 7 sequence 42 record 2',
    ]);
  });

  it('takes the event id from eventDataId when the record has one', () => {
    const withId = azureRecords().find((record) => typeof record.eventDataId === 'string');

    const batch = unwrapEventHubBatch([{ records: [withId] }]);

    expect(batch.records[0]?.eventId).toBe(withId?.eventDataId);
  });

  it.each([
    ['null', null, 'JSON null, not an object'],
    ['a number', 42, 'JSON number, not an object'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]), 'not UTF-8 JSON'],
  ])('keeps %s as an unrecognized message instead of dropping it', (_label, message, reason) => {
    const batch = unwrapEventHubBatch([message]);

    expect(batch.records).toHaveLength(1);
    expect(batch.unrecognized).toEqual([{ origin: 'message 1', reason }]);
  });
});
