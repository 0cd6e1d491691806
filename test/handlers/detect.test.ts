import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PublishCommand } from '@aws-sdk/client-sns';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3DeadLetterSink } from '../../lambda/adapters/dead-letter';
import { DynamoDbDetectionStore } from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import { SnsAlertPublisher } from '../../lambda/adapters/sns-publisher';
import type { DetectionStats, DetectorRule } from '../../lambda/engine/detector/detector';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import type { EcsEvent } from '../../lambda/engine/ecs';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import { loadRules } from '../../lambda/engine/rules';
import type {
  CloudTrailBridgeEvent,
  DetectDependencies,
  PipelineLogger,
  PipelineMetrics,
} from '../../lambda/handlers/pipeline';
import {
  cachedRules,
  detect,
  parsePayload,
  RetryableDetectError,
  redrive,
} from '../../lambda/handlers/pipeline';
import { Faults } from '../adapters/state-support';
import type { LocalAws } from '../support/local-aws';
import {
  createStateTable,
  createStream,
  putRecords,
  readKinesisEvent,
  startLocalAws,
  uniqueName,
} from '../support/local-aws';

/** What the dead-letter sink puts; the test reads the command's input. */
interface PutObjectInput {
  Bucket: string;
  Key: string;
  Body: string;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES_DIR = path.join(ROOT, 'rules');
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const NOW = Date.parse('2026-11-28T14:00:00.000Z');
const LEASE_MS = 120_000;

const gcpLines = readFileSync(path.join(ROOT, 'samples/gcp/cloudaudit-activity-2026-11-28.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '');
const azureExport = readFileSync(path.join(ROOT, 'samples/azure/activity-log-PT1H.json'));
const bridgeEvents = readFileSync(path.join(ROOT, 'samples/aws/eventbridge-iam-events.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CloudTrailBridgeEvent);

/** Kinesis payloads as the forwarders write them: one GCP entry per record, an Azure export gzipped. */
function samplePayloads(): Buffer[] {
  return [...gcpLines.map((line) => Buffer.from(line)), gzipSync(azureExport)];
}

/** What the engine alone, over a memory store, makes of the same payloads. */
async function reference(payloads: readonly Uint8Array[]): Promise<DetectionStats> {
  const detector = new Detector(await loadRules(RULES_DIR), new MemoryStore(), { now: () => new Date(NOW) });
  for (const payload of payloads) {
    for (const document of parsePayload(payload)) {
      if ('error' in document) continue;
      for (const item of recordsFromDocument(document.value)) {
        if (!('error' in item)) await detector.process(normalize(item.source, item.record));
      }
    }
  }
  return detector.stats;
}

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

interface Harness {
  readonly table: string;
  readonly streamName: string;
  readonly client: DynamoDBClient;
  readonly faults: Faults;
  readonly sns: ReturnType<typeof vi.fn>;
  readonly s3: ReturnType<typeof vi.fn<(input: PutObjectInput) => Promise<unknown>>>;
  readonly logger: { [K in keyof PipelineLogger]: ReturnType<typeof vi.fn> };
  readonly metrics: { addMetric: ReturnType<typeof vi.fn>; publishStoredMetrics: ReturnType<typeof vi.fn> };
  deps(overrides?: Partial<DetectDependencies>): DetectDependencies;
  /** Alert publishes that reached SNS (digests excluded). */
  alertPublishes(): PublishCommand[];
  metric(name: string): number;
}

let harness: Harness;

beforeEach(async () => {
  const table = uniqueName('detect');
  const streamName = uniqueName('stream');
  await createStateTable(aws.dynamodb, table);
  await createStream(aws.kinesis, streamName);
  const client = aws.newDynamoDbClient();
  const faults = new Faults(client);
  const sns = vi.fn(async (_command: PublishCommand) => ({ MessageId: 'message-1' }));
  const s3 = vi.fn(async (_input: PutObjectInput): Promise<unknown> => ({}));
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const rules = cachedRules(() => loadRules(RULES_DIR));
  harness = {
    table,
    streamName,
    client,
    faults,
    sns,
    s3,
    logger,
    metrics,
    deps: (overrides = {}) => ({
      loadRules: rules,
      store: new DynamoDbDetectionStore(client, { tableName: table, leaseMs: LEASE_MS }),
      outbox: new DynamoDbOutbox(
        client,
        new SnsAlertPublisher({ send: sns } as unknown as SnsSender, TOPIC),
        {
          tableName: table,
          leaseMs: LEASE_MS,
        },
      ),
      deadLetters: new S3DeadLetterSink(
        { send: (command: PutObjectCommand) => s3(command.input as PutObjectInput) } as Pick<
          S3Client,
          'send'
        >,
        { bucket: 'dead-letters' },
      ),
      logger: logger as unknown as PipelineLogger,
      metrics: metrics as unknown as PipelineMetrics,
      now: () => new Date(NOW),
      ...overrides,
    }),
    alertPublishes: () =>
      sns.mock.calls
        .map(([command]) => command)
        .filter((command) => command.input.MessageAttributes?.kind?.StringValue === 'alert'),
    metric: (name) =>
      metrics.addMetric.mock.calls
        .filter(([metricName]) => metricName === name)
        .reduce((sum, [, , value]) => sum + (value as number), 0),
  };
});

async function kinesisBatch(payloads: readonly Uint8Array[]): Promise<KinesisStreamEvent> {
  await putRecords(aws.kinesis, harness.streamName, payloads);
  return readKinesisEvent(aws.kinesis, harness.streamName);
}

function eventIdOf(publish: PublishCommand): string {
  const message = JSON.parse(publish.input.Message ?? '{}') as { lambda: string };
  return (JSON.parse(message.lambda) as { alert: { event: { id: string } } }).alert.event.id;
}

describe('detect with Kinesis batches', () => {
  it('alerts once per group for a batch read back from the stream, and not again when it is redelivered', async () => {
    const payloads = samplePayloads();
    const expected = await reference(payloads);
    const event = await kinesisBatch(payloads);

    const first = await detect(event, harness.deps());
    const second = await detect(event, harness.deps());

    expect(event.Records).toHaveLength(payloads.length);
    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(expected.alerts).toBeGreaterThan(2);
    expect(harness.alertPublishes()).toHaveLength(expected.alerts);
    expect(harness.metric('Alerts')).toBe(expected.alerts);
    expect(harness.metric('Suppressed')).toBe(expected.suppressed);
    expect(harness.metric('Duplicates')).toBe(expected.matched - expected.excepted);
    expect(harness.metric('EventsIn')).toBe(2 * expected.events);
    expect(harness.s3).not.toHaveBeenCalled();
  });

  it('keeps an alert whose SNS publish failed in the outbox, without failing the record, and the redrive sends it', async () => {
    const payloads = [Buffer.from(gcpLines[2] ?? '')];
    const event = await kinesisBatch(payloads);
    harness.sns.mockRejectedValueOnce(new Error('SNS throttled'));

    const response = await detect(event, harness.deps());
    const published = harness.alertPublishes().length;
    const store = new DynamoDbDetectionStore(harness.client, { tableName: harness.table });
    const report = await redrive({
      store,
      outbox: harness.deps().outbox as DynamoDbOutbox,
      logger: harness.logger as unknown as PipelineLogger,
      metrics: harness.metrics as unknown as PipelineMetrics,
      now: () => new Date(NOW + 1),
    });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(published).toBe(1);
    expect(harness.metric('AlertsDeferred')).toBe(1);
    expect(report.alertsSent).toBe(1);
    expect(harness.alertPublishes()).toHaveLength(2);
    expect(harness.sns.mock.results[1]?.type).toBe('return');
  });

  it('dead-letters undecodable and poisonous records with their bytes and location while the rest succeed', async () => {
    const poisonId = JSON.parse(gcpLines[0] ?? '{}').insertId as string;
    const poisonRules = async (): Promise<DetectorRule[]> =>
      (await loadRules(RULES_DIR)).map((rule) => ({
        ...rule,
        predicate: (doc: unknown) => {
          if ((doc as EcsEvent).event.id === poisonId) throw new TypeError('predicate blew up');
          return rule.predicate(doc);
        },
      }));
    const notJson = Buffer.from('{"insertId": "SECRET-MARKER", truncated');
    const badGzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]);
    const good = gcpLines.slice(1).map((line) => Buffer.from(line));
    const event = await kinesisBatch([Buffer.from(gcpLines[0] ?? ''), notJson, badGzip, ...good]);
    const template = event.Records[0] as KinesisStreamRecord;
    const notBase64: KinesisStreamRecord = {
      ...template,
      eventID: 'shardId-000000000000:999999',
      kinesis: { ...template.kinesis, sequenceNumber: '999999', data: '!!not base64!!' },
    };
    const expected = await reference(good);

    const response = await detect(
      { Records: [...event.Records, notBase64] },
      harness.deps({ loadRules: poisonRules }),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(harness.alertPublishes()).toHaveLength(expected.alerts);
    expect(harness.metric('BadRecords')).toBe(4);
    const kept = harness.s3.mock.calls.map(([input]) => JSON.parse(input.Body));
    expect(kept.map((body) => body.reason)).toEqual([
      expect.stringContaining('predicate blew up'),
      expect.stringContaining('not JSON'),
      expect.stringContaining('gzip'),
      'Kinesis data is not valid base64',
    ]);
    expect(kept[1].location).toEqual({
      streamArn: template.eventSourceARN,
      shardId: 'shardId-000000000000',
      sequenceNumber: event.Records[1]?.kinesis.sequenceNumber,
    });
    expect(kept[1].raw).toEqual({ encoding: 'utf8', data: notJson.toString() });
    expect(Buffer.from(kept[2].raw.data, 'base64')).toEqual(badGzip);
    expect(harness.s3.mock.calls[0]?.[0]).toMatchObject({
      Bucket: 'dead-letters',
      Key: expect.stringMatching(/^dead-letter\/2026\/11\/28\/kinesis\/.+\.json$/),
    });
    expect(JSON.stringify(harness.logger.warn.mock.calls)).not.toContain('SECRET-MARKER');
  });

  it('reports exactly the record that DynamoDB throttled, and its redelivery alerts without duplicates', async () => {
    const payloads = samplePayloads();
    const expected = await reference(payloads);
    const event = await kinesisBatch(payloads);
    const throttledId = JSON.parse(gcpLines[2] ?? '{}').insertId as string;
    const throttledRecord = event.Records[2] as KinesisStreamRecord;
    harness.faults.when = (input) => {
      const item = input.Item as Record<string, { S?: string }> | undefined;
      return item?.eventId?.S === throttledId
        ? new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} })
        : undefined;
    };

    const first = await detect(event, harness.deps());
    harness.faults.disarm();
    // Lambda resumes the shard from the lowest failed sequence number.
    const second = await detect({ Records: event.Records.slice(2) }, harness.deps());

    expect(first).toEqual({
      batchItemFailures: [{ itemIdentifier: throttledRecord.kinesis.sequenceNumber }],
    });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(harness.alertPublishes()).toHaveLength(expected.alerts);
    expect(harness.alertPublishes().map(eventIdOf)).toContain(throttledId);
    expect(harness.metric('RecordsRetried')).toBe(1);
  });

  it('reports a bad record as failed when it cannot be dead-lettered', async () => {
    const event = await kinesisBatch([Buffer.from('not json at all'), Buffer.from(gcpLines[2] ?? '')]);
    harness.s3.mockRejectedValueOnce(new Error('AccessDenied'));

    const response = await detect(event, harness.deps());

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[0]?.kinesis.sequenceNumber }],
    });
    expect(harness.alertPublishes()).toHaveLength(1);
  });

  it('answers an empty batch with no failures', async () => {
    await expect(detect({ Records: [] }, harness.deps())).resolves.toEqual({ batchItemFailures: [] });
  });
});

describe('detect with EventBridge events', () => {
  const [matching, notMatching] = bridgeEvents;

  it('alerts on a matching CloudTrail event once, whichever path delivers it again', async () => {
    if (!matching) throw new Error('sample missing');

    const first = await detect(matching, harness.deps());
    const again = await detect(matching, harness.deps());
    const viaKinesis = await detect(
      await kinesisBatch([Buffer.from(JSON.stringify({ Records: [matching.detail] }))]),
      harness.deps(),
    );

    expect(first).toBeUndefined();
    expect(again).toBeUndefined();
    expect(viaKinesis).toEqual({ batchItemFailures: [] });
    expect(harness.alertPublishes().map(eventIdOf)).toEqual([
      (matching.detail as { eventID: string }).eventID,
    ]);
    expect(harness.metric('Duplicates')).toBe(2);
  });

  it('does nothing visible for a CloudTrail event the rule does not match', async () => {
    if (!notMatching) throw new Error('sample missing');

    await detect(notMatching, harness.deps());

    expect(harness.sns).not.toHaveBeenCalled();
    expect(harness.metric('EventsIn')).toBe(1);
    expect(harness.metric('Matched')).toBe(0);
  });

  it('dead-letters an event whose detail is not a CloudTrail record, without throwing', async () => {
    const broken = { ...matching, id: 'evt-broken', detail: 'not a record' } as CloudTrailBridgeEvent;

    await expect(detect(broken, harness.deps())).resolves.toBeUndefined();

    const input = harness.s3.mock.calls[0]?.[0];
    expect(input?.Key).toMatch(/^dead-letter\/\d{4}\/\d{2}\/\d{2}\/eventbridge\/evt-broken\.1\.json$/);
    expect(JSON.parse(JSON.parse(input?.Body ?? '{}').raw.data)).toEqual(broken);
  });

  it('throws on a retryable error so that EventBridge and Lambda retry the event', async () => {
    if (!matching) throw new Error('sample missing');
    harness.faults.when = (_input, command) =>
      command === 'PutItemCommand'
        ? new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} })
        : undefined;

    await expect(detect(matching, harness.deps())).rejects.toBeInstanceOf(RetryableDetectError);
    harness.faults.disarm();
    await expect(detect(matching, harness.deps())).resolves.toBeUndefined();
    expect(harness.alertPublishes()).toHaveLength(1);
  });
});

describe('cachedRules', () => {
  it('loads once, and tries again after a failed load', async () => {
    const load = vi
      .fn<() => Promise<DetectorRule[]>>()
      .mockRejectedValueOnce(new Error('bad rule file'))
      .mockResolvedValue([]);
    const rules = cachedRules(load);

    await expect(rules()).rejects.toThrow('bad rule file');
    await rules();
    await rules();

    expect(load).toHaveBeenCalledTimes(2);
  });

  it('fails the invocation loudly when the rules do not load', async () => {
    const deps = harness.deps({
      loadRules: () => Promise.reject(new Error('rules/x.yaml: query: Expected')),
    });

    await expect(detect({ Records: [] }, deps)).rejects.toThrow('rules/x.yaml');
    expect(harness.logger.error).toHaveBeenCalled();
  });
});
