import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Forwarder } from '../../../forwarders/core/forwarder';
import { createAuditLogHandler } from '../../../forwarders/gcp/handler';
import { recordFromPubSubEvent } from '../../../forwarders/gcp/messages';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import { listen, messagePublishedData, postPubSubEvent } from '../support/cloud-events';
import { type FaultPlan, FaultyKinesis } from '../support/faulty-kinesis';
import { asDetectorSees, gcpEntries } from '../support/fixtures';
import { memoryLog, readStream } from '../support/stream';

let aws: LocalAws;
let registered = 0;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A forwarder function registered with the real Functions Framework under a fresh name, served by the
 * framework's own HTTP server (`getTestServer`) on loopback.
 */
async function servedForwarder(plan: FaultPlan = {}) {
  const streamName = uniqueName('gcp-handler');
  await createStream(aws.kinesis, streamName, 2);
  const log = memoryLog();
  const forwarder = new Forwarder({
    source: 'gcp-audit-logs',
    streamName,
    kinesis: new FaultyKinesis(aws.kinesis, plan),
    deliveryBudgetMs: 2_000,
    sleep: async () => {},
  });
  registered += 1;
  const name = `forwardAuditLogsTest${registered}`;
  functions.cloudEvent(name, createAuditLogHandler({ forwarder, log }));
  const server = await listen(getTestServer(name));
  return { streamName, log, server };
}

describe('createAuditLogHandler (served by the Functions Framework)', () => {
  it.each(['binary', 'structured'] as const)(
    'forwards the LogEntry of a %s-mode Pub/Sub CloudEvent, byte for byte',
    async (mode) => {
      const { streamName, server } = await servedForwarder();
      const entries = gcpEntries().slice(0, 3);

      const answers = [];
      for (const entry of entries) answers.push(await postPubSubEvent(server.url, { data: entry, mode }));
      await server.close();

      expect(answers.map((answer) => answer.status)).toEqual([204, 204, 204]);
      const stored = await readStream(aws.kinesis, streamName);
      expect(stored.map((item) => item.data.toString('utf8')).sort()).toEqual([...entries].sort());
      const seen = stored.flatMap((item) => asDetectorSees(item.data));
      expect(seen.map((view) => view.source)).toEqual(['gcp-audit-logs', 'gcp-audit-logs', 'gcp-audit-logs']);
      expect(seen.map((view) => view.eventId).sort()).toEqual(
        entries.map((entry) => (JSON.parse(entry) as { insertId: string }).insertId).sort(),
      );
    },
  );

  it('answers 500 when the record was not delivered, so Pub/Sub redelivers, and the retry succeeds', async () => {
    let failing = true;
    const { streamName, log, server } = await servedForwarder({
      call: () =>
        failing ? Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) : undefined,
    });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const [entry] = gcpEntries();

    const first = await postPubSubEvent(server.url, { data: entry as string, messageId: '42' });
    failing = false;
    const redelivery = await postPubSubEvent(server.url, { data: entry as string, messageId: '42' });
    await server.close();

    expect(first.status).toBe(500);
    expect(first.body).toMatch(
      /1 of 1 records were not delivered .*message 42: connect ECONNREFUSED \(the time budget ran out\)/,
    );
    expect(log.metric('ForwarderRecordsUndelivered')).toHaveLength(1);
    expect(redelivery.status).toBe(204);
    expect(await readStream(aws.kinesis, streamName)).toHaveLength(1);
  });

  it('forwards a message that is not a LogEntry as received and counts it', async () => {
    const { streamName, log, server } = await servedForwarder();

    const answer = await postPubSubEvent(server.url, { data: 'plain text, not JSON', messageId: '7' });
    await server.close();

    expect(answer.status).toBe(204);
    expect((await readStream(aws.kinesis, streamName)).map((item) => item.data.toString())).toEqual([
      'plain text, not JSON',
    ]);
    expect(log.metric('ForwarderUnrecognizedMessages')).toMatchObject([
      { level: 'warn', fields: { origin: 'message 7', reason: 'the message data is not UTF-8 JSON' } },
    ]);
  });
});

describe('recordFromPubSubEvent', () => {
  const event = (data: unknown) => ({
    id: 'ce-1',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data,
  });

  it('keys the record by the LogEntry insertId', () => {
    const [entry] = gcpEntries();

    const { record, unrecognized } = recordFromPubSubEvent(
      event(messagePublishedData(entry as string, '99')),
    );

    expect(unrecognized).toBeUndefined();
    expect(record).toMatchObject({
      origin: 'message 99',
      eventId: (JSON.parse(entry as string) as { insertId: string }).insertId,
    });
  });

  it.each([
    ['without message data', { message: { messageId: '1' } }, 'the event has no data.message.data'],
    [
      'with data that is not base64',
      { message: { messageId: '1', data: '***' } },
      'data.message.data is not base64',
    ],
    ['with no data at all', undefined, 'the event has no data.message.data'],
  ])('forwards an event %s as received', (_label, data, reason) => {
    const decoded = recordFromPubSubEvent(event(data));

    expect(decoded.unrecognized).toBe(reason);
    expect(decoded.record.data.byteLength).toBeGreaterThan(0);
  });
});
