import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import type { Alert } from '../../lambda/engine/alerts/alert';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import { loadRules } from '../../lambda/engine/rules';
import type { DetectDependencies } from '../../lambda/handlers/pipeline';
import { cachedRules, detect, streamPrefilter } from '../../lambda/handlers/pipeline';
import { ROOT, RULES_DIR } from '../rules/helpers';

const NOW = new Date('2026-11-28T14:00:00.000Z');
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:111122223333:stream/audit';

/** The literal pre-filter of the loaded rules, as the detect handler wires it. */
const literalPrefilter = streamPrefilter;

function kinesisEvent(payloads: readonly Uint8Array[]): KinesisStreamEvent {
  return {
    Records: payloads.map((payload, i) => ({
      eventID: `shardId-000000000000:${1000 + i}`,
      eventSourceARN: STREAM_ARN,
      eventSource: 'aws:kinesis',
      eventName: 'aws:kinesis:record',
      eventVersion: '1.0',
      invokeIdentityArn: 'arn:aws:iam::111122223333:role/detect',
      awsRegion: 'us-east-1',
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'p',
        sequenceNumber: String(1000 + i),
        approximateArrivalTimestamp: NOW.getTime() / 1000,
        data: Buffer.from(payload).toString('base64'),
      },
    })),
  };
}

/** Every sample the repository ships, as Kinesis payloads: one record each, and gzipped exports. */
function samplePayloads(): Buffer[] {
  const lines = (file: string): Buffer[] =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => Buffer.from(line));
  const cloudTrailFile = gunzipSync(
    readFileSync(
      path.join(
        ROOT,
        'samples/aws/111122223333_CloudTrail_us-east-1_20261128T0930Z_a1b2c3d4e5f6a7b8.json.gz',
      ),
    ),
  );
  const cloudTrailRecords = (JSON.parse(cloudTrailFile.toString('utf8')) as { Records: unknown[] }).Records;
  return [
    ...lines('samples/gcp/cloudaudit-activity-2026-11-28.jsonl'),
    ...lines('samples/aws/eventbridge-iam-events.jsonl'),
    ...cloudTrailRecords.map((record) => Buffer.from(JSON.stringify(record))),
    gzipSync(readFileSync(path.join(ROOT, 'samples/azure/activity-log-PT1H.json'))),
    Buffer.from(readFileSync(path.join(ROOT, 'samples/azure/portal-activity-log-export.json'))),
  ];
}

function gcpLines(): string[] {
  return readFileSync(path.join(ROOT, 'samples/gcp/cloudaudit-activity-2026-11-28.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

function harness(overrides: Partial<DetectDependencies> = {}) {
  const alerts: Alert[] = [];
  const deadLetters: unknown[] = [];
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const deps: DetectDependencies = {
    loadRules: cachedRules(() => loadRules(RULES_DIR)),
    store: new MemoryStore(),
    outbox: {
      deliver: async (alert: Alert) => {
        alerts.push(alert);
        return { status: 'sent' as const };
      },
    } as unknown as DetectDependencies['outbox'],
    deadLetters: {
      write: async (letter: unknown) => {
        deadLetters.push(letter);
      },
    } as unknown as DetectDependencies['deadLetters'],
    logger: { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    metrics,
    now: () => NOW,
    ...overrides,
  };
  const metric = (name: string): number | undefined =>
    metrics.addMetric.mock.calls.findLast(([metricName]) => metricName === name)?.[2] as number | undefined;
  return { deps, alerts, deadLetters, metric };
}

describe('detect with a literal pre-filter', () => {
  it('raises the same alerts as without it and skips the payloads no rule can match', async () => {
    const event = kinesisEvent(samplePayloads());
    const plain = harness();
    const filtered = harness({ prefilter: literalPrefilter });

    const plainResponse = await detect(event, plain.deps);
    const filteredResponse = await detect(event, filtered.deps);

    expect(filteredResponse).toEqual(plainResponse);
    expect(filtered.alerts.map((alert) => alert.id)).toEqual(plain.alerts.map((alert) => alert.id));
    expect(filtered.alerts.length).toBeGreaterThan(0);
    for (const name of ['Matched', 'Alerts', 'Suppressed', 'Duplicates', 'Excepted', 'BadRecords']) {
      expect(filtered.metric(name), name).toBe(plain.metric(name));
    }
    expect(filtered.metric('RecordsSkipped')).toBeGreaterThan(0);
    expect(filtered.metric('EventsIn')).toBeLessThan(plain.metric('EventsIn') as number);
    expect(plain.metric('RecordsSkipped')).toBeUndefined();
  });

  it('skips an unreadable payload without a needle instead of dead-lettering it', async () => {
    const event = kinesisEvent([Buffer.from('not json, and no sensitive call in it')]);
    const plain = harness();
    const filtered = harness({ prefilter: literalPrefilter });

    await detect(event, plain.deps);
    await detect(event, filtered.deps);

    expect(plain.deadLetters).toHaveLength(1);
    expect(filtered.deadLetters).toHaveLength(0);
    expect(filtered.metric('RecordsSkipped')).toBe(1);
  });

  it('still dead-letters a payload that is not UTF-8 or does not inflate', async () => {
    const event = kinesisEvent([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from([0x1f, 0x8b, 0x00, 0x01])]);
    const filtered = harness({ prefilter: literalPrefilter });

    await detect(event, filtered.deps);

    expect(filtered.deadLetters).toHaveLength(2);
    expect(filtered.metric('RecordsSkipped')).toBe(0);
  });

  it('raises the alerts of records in gzipped batches', async () => {
    const event = kinesisEvent([gzipSync(Buffer.from(gcpLines().join('\n')))]);
    const plain = harness();
    const filtered = harness({ prefilter: literalPrefilter });

    await detect(event, plain.deps);
    await detect(event, filtered.deps);

    expect(plain.alerts.length).toBeGreaterThan(0);
    expect(filtered.alerts.map((alert) => alert.id)).toEqual(plain.alerts.map((alert) => alert.id));
    expect(filtered.metric('Matched')).toBe(plain.metric('Matched'));
  });

  it('never alerts on Pub/Sub messages on the stream: dead-lettered without it, skipped with it', async () => {
    const gcp = gcpLines();
    // The GCP forwarder decodes messages before writing; a message on the stream is a broken producer.
    const messages = [
      ...gcp.map((line) =>
        Buffer.from(JSON.stringify({ message: { data: Buffer.from(line).toString('base64') } })),
      ),
      ...gcp.map((line) => Buffer.from(JSON.stringify({ data: line }))),
    ];
    const plain = harness();
    const filtered = harness({ prefilter: literalPrefilter });

    await detect(kinesisEvent(messages), plain.deps);
    await detect(kinesisEvent(messages), filtered.deps);

    expect(plain.alerts).toHaveLength(0);
    expect(plain.deadLetters).toHaveLength(messages.length);
    for (const letter of plain.deadLetters) expect(JSON.stringify(letter)).toContain('a Pub/Sub message');
    // Neither base64 data nor JSON text in a string (its keys are `\"…\"`) shows a rule's literals.
    expect(filtered.alerts).toHaveLength(0);
    expect(filtered.deadLetters).toHaveLength(0);
    expect(filtered.metric('RecordsSkipped')).toBe(messages.length);
  });

  it('builds the pre-filter once per rule set', async () => {
    const build = vi.fn(literalPrefilter);
    const { deps } = harness({ prefilter: build });

    await detect(kinesisEvent(samplePayloads().slice(0, 2)), deps);
    await detect(kinesisEvent(samplePayloads().slice(0, 2)), deps);

    expect(build).toHaveBeenCalledTimes(1);
  });
});
