import type { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbDetectionStore } from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import type { PipelineLogger, PipelineMetrics } from '../../lambda/handlers/pipeline';
import { redrive } from '../../lambda/handlers/pipeline';
import { Faults, matchInput, RecordingPublisher, T0 } from '../adapters/state-support';
import { awsEvent } from '../support/events';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';

const LEASE_MS = 120_000;
const AFTER_WINDOW = Date.parse('2026-11-28T10:05:00.000Z');

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('@aws-sdk/client-sns');
  vi.resetModules();
});

function observers() {
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const metrics = { addMetric: vi.fn(), publishStoredMetrics: vi.fn() };
  const metric = (name: string): number | undefined =>
    metrics.addMetric.mock.calls.find(([metricName]) => metricName === name)?.[2] as number | undefined;
  return {
    logger,
    metrics,
    metric,
    asDeps: { logger: logger as unknown as PipelineLogger, metrics: metrics as unknown as PipelineMetrics },
  };
}

describe('redrive', () => {
  it('finishes a stalled match, re-publishes a failed alert and publishes a due digest in one run', async () => {
    const table = uniqueName('redrive');
    await createStateTable(aws.dynamodb, table);
    const client = aws.newDynamoDbClient();
    const faults = new Faults(client);
    const publisher = new RecordingPublisher();
    const store = new DynamoDbDetectionStore(client, { tableName: table, leaseMs: LEASE_MS });
    const outbox = new DynamoDbOutbox(client, publisher, { tableName: table, leaseMs: LEASE_MS });
    // A group of two whose alert failed to publish: its digest falls due at 10:00.
    const opened = await store.recordMatch(matchInput(awsEvent({ id: 'evt-a' }), T0));
    if (opened.outcome !== 'alert') throw new Error('expected an alert');
    publisher.failuresLeft = 1;
    await outbox.deliver(opened.alert, T0);
    await store.recordMatch(matchInput(awsEvent({ id: 'evt-b', time: '2026-11-28T09:30:00.000Z' }), T0));
    // Another user's match whose applier died right after recording its intent.
    faults.arm(1);
    await store.recordMatch(matchInput(awsEvent({ id: 'evt-c', user: 'bob' }), T0)).catch(() => undefined);
    faults.disarm();
    const { asDeps, metric } = observers();

    const report = await redrive({ store, outbox, ...asDeps, now: () => new Date(AFTER_WINDOW) });

    expect(report).toEqual({
      resumed: 1,
      resumeFailed: 0,
      alertsSent: 2,
      alertsFailed: 0,
      digestsSent: 1,
      digestsFailed: 0,
    });
    expect(publisher.alerts.map((alert) => alert.event.id).sort()).toEqual(['evt-a', 'evt-c']);
    expect(publisher.digests.map((digest) => digest.count)).toEqual([2]);
    expect(metric('StalledMatchesResumed')).toBe(1);
    expect(metric('AlertsRedriven')).toBe(2);
    expect(metric('DigestsPublished')).toBe(1);
    client.destroy();
  });

  it('runs every step even when one fails, then fails the run', async () => {
    const redriveOutbox = vi.fn(async () => ({ found: 1, sent: 1, failed: 0, skipped: 0 }));
    const digests = vi.fn(async () => ({ found: 0, sent: 0, failed: 0, skipped: 0 }));
    const { asDeps, logger, metric } = observers();

    const run = redrive({
      store: { resumeStalled: () => Promise.reject(new Error('DynamoDB unavailable')) },
      outbox: { deliver: vi.fn(), redrive: redriveOutbox, publishDueDigests: digests },
      ...asDeps,
    });

    await expect(run).rejects.toBeInstanceOf(AggregateError);
    expect(redriveOutbox).toHaveBeenCalledTimes(1);
    expect(digests).toHaveBeenCalledTimes(1);
    expect(metric('AlertsRedriven')).toBe(1);
    expect(logger.error).toHaveBeenCalledWith(
      'redrive step failed: resume stalled matches',
      expect.objectContaining({ error: { name: 'Error', message: 'DynamoDB unavailable' } }),
    );
  });
});

describe('redrive handler (the Lambda entry point)', () => {
  it('re-publishes what is due through the module-scope clients', async () => {
    const table = uniqueName('redrive');
    await createStateTable(aws.dynamodb, table);
    const store = new DynamoDbDetectionStore(aws.dynamodb, { tableName: table });
    await store.recordMatch(matchInput(awsEvent({ id: 'evt-a' }), T0));
    vi.stubEnv('TABLE_NAME', table);
    vi.stubEnv('TOPIC_ARN', 'arn:aws:sns:us-east-1:111122223333:alerts');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'AbnormalCloudApiCalls');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    const { clients, handler } = await import('../../lambda/handlers/redrive');
    const send = vi.fn(async (_command: PublishCommand) => ({ MessageId: 'message-1' }));
    clients.dynamodb = aws.dynamodb;
    clients.sns = { send } as unknown as SnsSender;

    const report = await handler();

    expect(report.alertsSent).toBe(1);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('imports no SNS package when nothing is due', async () => {
    const table = uniqueName('redrive');
    await createStateTable(aws.dynamodb, table);
    vi.stubEnv('TABLE_NAME', table);
    vi.stubEnv('TOPIC_ARN', 'arn:aws:sns:us-east-1:111122223333:alerts');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    let snsImports = 0;
    vi.doMock('@aws-sdk/client-sns', async (importOriginal) => {
      snsImports += 1;
      return importOriginal();
    });
    const { clients, handler } = await import('../../lambda/handlers/redrive');
    clients.dynamodb = aws.dynamodb;

    const report = await handler();

    expect(report).toMatchObject({ resumed: 0, alertsSent: 0, digestsSent: 0 });
    expect(snsImports).toBe(0);
  });

  it('fails to load, naming the variable, when TOPIC_ARN is missing', async () => {
    vi.stubEnv('TABLE_NAME', 'state');
    vi.stubEnv('TOPIC_ARN', '');

    await expect(import('../../lambda/handlers/redrive')).rejects.toThrow('TOPIC_ARN');
  });
});
