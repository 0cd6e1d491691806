import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDetectionStore, str } from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { Alert } from '../../lambda/engine/alerts/alert';
import { awsEvent } from '../support/events';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';
import { Faults, getItem, matchInput, pendingItems, RecordingPublisher, T0 } from './state-support';

const LEASE_MS = 120_000;
const WINDOW_END = Date.parse('2026-11-28T10:00:00.000Z');

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

async function setup(options: { maxPerRun?: number; pageSize?: number } = {}) {
  const table = uniqueName('outbox');
  await createStateTable(aws.dynamodb, table);
  const client = aws.newDynamoDbClient();
  const faults = new Faults(client);
  const publisher = new RecordingPublisher();
  const store = new DynamoDbDetectionStore(client, { tableName: table, leaseMs: LEASE_MS });
  const outbox = new DynamoDbOutbox(client, publisher, { tableName: table, leaseMs: LEASE_MS, ...options });
  /** Records a match of a fresh event at T0 and returns the alert it opened. */
  const open = async (id: string, user = 'alice'): Promise<Alert> => {
    const outcome = await store.recordMatch(matchInput(awsEvent({ id, user }), T0));
    if (outcome.outcome !== 'alert') throw new Error(`expected an alert for ${id}, got ${outcome.outcome}`);
    return outcome.alert;
  };
  return { table, client, faults, publisher, store, outbox, open };
}

describe('DynamoDbOutbox.deliver', () => {
  it('publishes the alert of the match that opened the group at once and marks it SENT', async () => {
    const { table, client, publisher, outbox, open } = await setup();
    const alert = await open('evt-1');

    const result = await outbox.deliver(alert, T0);

    expect(result).toEqual({ status: 'sent' });
    expect(publisher.alerts.map((published) => published.id)).toEqual([alert.id]);
    const group = await getItem(client, table, `grp#${alert.id}`);
    expect(group && str(group, 'outboxState')).toBe('SENT');
    expect(await pendingItems(client, table, 'PENDING')).toEqual([]);
  });

  it('publishes nothing for an alert that is already sent', async () => {
    const { publisher, outbox, open } = await setup();
    const alert = await open('evt-1');
    await outbox.deliver(alert, T0);

    const again = await outbox.deliver(alert, T0 + 1);

    expect(again).toEqual({ status: 'skipped' });
    expect(publisher.alerts).toHaveLength(1);
  });

  it('delivers exactly once after SNS fails the first three times and the redrive retries', async () => {
    const { table, client, publisher, outbox, open } = await setup();
    const alert = await open('evt-1');
    publisher.failuresLeft = 3;

    const first = await outbox.deliver(alert, T0);
    const runs = [];
    for (let run = 1; run <= 5; run += 1) runs.push(await outbox.redrive(T0 + run * 60_000));

    expect(first.status).toBe('failed');
    expect(runs.map((run) => run.sent)).toEqual([0, 0, 1, 0, 0]);
    expect(runs.map((run) => run.failed)).toEqual([1, 1, 0, 0, 0]);
    expect(publisher.attempts).toHaveLength(4);
    expect(publisher.alerts.map((published) => published.id)).toEqual([alert.id]);
    const group = await getItem(client, table, `grp#${alert.id}`);
    expect(group && str(group, 'outboxState')).toBe('SENT');
  });

  it('publishes again through the redrive when the process dies between publishing and marking SENT', async () => {
    const { table, client, faults, publisher, outbox, open } = await setup();
    const alert = await open('evt-1');
    publisher.afterPublish = () => faults.arm(0);

    await expect(outbox.deliver(alert, T0)).rejects.toThrow('crashed');
    faults.disarm();
    publisher.afterPublish = () => undefined;
    const leaseLive = await outbox.redrive(T0 + LEASE_MS - 1);
    const leaseOver = await outbox.redrive(T0 + LEASE_MS + 1);
    const afterwards = await outbox.redrive(T0 + 10 * LEASE_MS);

    expect(leaseLive.found).toBe(0);
    expect(leaseOver.sent).toBe(1);
    expect(afterwards.found).toBe(0);
    expect(publisher.alerts.map((published) => published.id)).toEqual([alert.id, alert.id]);
    const group = await getItem(client, table, `grp#${alert.id}`);
    expect(group && str(group, 'outboxState')).toBe('SENT');
  });

  it('does not re-publish while the lease of the opening match is still running', async () => {
    const { publisher, outbox, open } = await setup();
    const alert = await open('evt-1');

    const early = await outbox.redrive(T0 + LEASE_MS - 1);
    const byAnotherCaller = await outbox.deliver(
      { ...alert, dedupe: { ...alert.dedupe, occurrenceKey: 'x' } },
      T0,
    );
    const late = await outbox.redrive(T0 + LEASE_MS + 1);

    expect(early).toMatchObject({ found: 0, sent: 0 });
    expect(byAnotherCaller).toEqual({ status: 'skipped' });
    expect(late).toMatchObject({ found: 1, sent: 1 });
    expect(publisher.alerts).toHaveLength(1);
  });

  it('publishes once when the opening match and the redrive race for the same alert', async () => {
    const { publisher, outbox, open } = await setup();
    const alert = await open('evt-1');

    await Promise.all([
      outbox.deliver(alert, T0 + LEASE_MS + 1),
      outbox.redrive(T0 + LEASE_MS + 1),
      outbox.redrive(T0 + LEASE_MS + 1),
    ]);

    expect(publisher.alerts).toHaveLength(1);
  });
});

describe('DynamoDbOutbox.redrive', () => {
  it('handles at most maxPerRun alerts per run, page by page, and the rest on the next run', async () => {
    const { publisher, outbox, open } = await setup({ maxPerRun: 3, pageSize: 2 });
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) await open(`evt-${user}`, user);
    const due = T0 + LEASE_MS + 1;

    const first = await outbox.redrive(due);
    const second = await outbox.redrive(due);
    const third = await outbox.redrive(due);

    expect([first.sent, second.sent, third.sent]).toEqual([3, 2, 0]);
    expect(new Set(publisher.alerts.map((alert) => alert.id)).size).toBe(5);
  });
});

describe('DynamoDbOutbox.publishDueDigests', () => {
  async function groupOfThree() {
    const context = await setup();
    const times = ['2026-11-28T09:01:00.000Z', '2026-11-28T09:20:00.000Z', '2026-11-28T09:45:00.000Z'];
    const outcomes = [];
    for (const [index, time] of times.entries()) {
      outcomes.push(await context.store.recordMatch(matchInput(awsEvent({ id: `evt-${index}`, time }), T0)));
    }
    const first = outcomes[0];
    if (first?.outcome !== 'alert') throw new Error('expected the first match to alert');
    return { ...context, alert: first.alert };
  }

  it('publishes one digest per group once its window has ended and its alert is sent', async () => {
    const { publisher, outbox, alert } = await groupOfThree();
    await outbox.deliver(alert, T0);

    const beforeEnd = await outbox.publishDueDigests(WINDOW_END - 1);
    const afterEnd = await outbox.publishDueDigests(WINDOW_END + 1);
    const again = await outbox.publishDueDigests(WINDOW_END + 10 * LEASE_MS);

    expect(beforeEnd.found).toBe(0);
    expect(afterEnd.sent).toBe(1);
    expect(again.found).toBe(0);
    expect(publisher.digests).toEqual([
      {
        alertId: alert.id,
        rule: { id: 'test-rule', name: 'Test rule', severity: 'high' },
        groupBy: alert.dedupe.groupBy,
        windowStart: '2026-11-28T09:00:00.000Z',
        windowEnd: '2026-11-28T10:00:00.000Z',
        count: 3,
        firstSeen: '2026-11-28T09:01:00.000Z',
        lastSeen: '2026-11-28T09:45:00.000Z',
        sampleEventIds: ['evt-0', 'evt-1', 'evt-2'],
      },
    ]);
  });

  it('waits for the alert to go out before its digest', async () => {
    const { publisher, outbox, alert } = await groupOfThree();

    const whileAlertPending = await outbox.publishDueDigests(WINDOW_END + 1);
    await outbox.deliver(alert, WINDOW_END + 2);
    const leaseRunning = await outbox.publishDueDigests(WINDOW_END + 3);
    const afterLease = await outbox.publishDueDigests(WINDOW_END + LEASE_MS + 10);

    expect(whileAlertPending).toMatchObject({ found: 1, sent: 0 });
    expect(leaseRunning.found).toBe(0);
    expect(afterLease.sent).toBe(1);
    expect(publisher.digests).toHaveLength(1);
  });

  it('keeps a digest whose publish failed for the next run', async () => {
    const { publisher, outbox, alert } = await groupOfThree();
    await outbox.deliver(alert, T0);
    publisher.failuresLeft = 1;

    const failed = await outbox.publishDueDigests(WINDOW_END + 1);
    const retried = await outbox.publishDueDigests(WINDOW_END + 2);

    expect(failed.failed).toBe(1);
    expect(retried.sent).toBe(1);
    expect(publisher.digests.map((digest) => digest.count)).toEqual([3]);
  });
});
