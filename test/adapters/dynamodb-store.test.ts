import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbDetectionStore,
  MAX_ALERT_JSON_BYTES,
  num,
  str,
  strList,
} from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { Alert } from '../../lambda/engine/alerts/alert';
import type { Decision } from '../../lambda/engine/detector/detector';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import type { RecordMatchOutcome } from '../../lambda/engine/detector/store';
import { awsEvent, keyDeletionRule } from '../support/events';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';
import { Faults, getItem, matchInput, pendingItems, RecordingPublisher, T0 } from './state-support';

const CLAIM_MS = 30_000;
const LEASE_MS = 120_000;
const HOUR_MS = 60 * 60 * 1000;

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

async function freshTable(): Promise<string> {
  const table = uniqueName('state');
  await createStateTable(aws.dynamodb, table);
  return table;
}

function storeFor(table: string, client = aws.dynamodb): DynamoDbDetectionStore {
  return new DynamoDbDetectionStore(client, { tableName: table, claimMs: CLAIM_MS, leaseMs: LEASE_MS });
}

describe('DynamoDbDetectionStore', () => {
  it('answers alert for a first match and duplicate for the same event again', async () => {
    const store = storeFor(await freshTable());
    const input = matchInput(awsEvent({ id: 'evt-a' }), T0);

    const first = await store.recordMatch(input);
    const again = await store.recordMatch({ ...input, now: T0 + 1000 });

    expect(first).toEqual({ outcome: 'alert', alert: input.alert });
    expect(again).toEqual({ outcome: 'duplicate' });
  });

  it('writes the occurrence, group and outbox items the design names', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const input = matchInput(awsEvent({ id: 'evt-a' }), T0);

    await store.recordMatch(input);

    const occurrence = await getItem(aws.dynamodb, table, `occ#${input.occurrenceKey}`);
    const group = await getItem(aws.dynamodb, table, `grp#${input.groupKey}`);
    expect(occurrence && str(occurrence, 'state')).toBe('APPLIED');
    expect(occurrence && str(occurrence, 'outboxPending')).toBeUndefined();
    expect(occurrence && num(occurrence, 'expiresAt')).toBe(Math.ceil(input.occurrenceExpiresAt / 1000));
    expect(group && str(group, 'outboxPending')).toBe('PENDING');
    expect(group && num(group, 'leaseUntil')).toBe(T0 + LEASE_MS);
    expect(group && num(group, 'count')).toBe(1);
    expect(group && JSON.parse(str(group, 'alert') ?? '')).toEqual(input.alert);
  });

  it('treats an occurrence whose expiresAt has passed as absent although the item is still there', async () => {
    const store = storeFor(await freshTable());
    const input = matchInput(awsEvent({ id: 'evt-a' }), T0, { occurrenceTtlMs: 5_000 });
    await store.recordMatch(input);

    const beforeExpiry = await store.recordMatch({ ...input, now: T0 + 4_000 });
    const afterExpiry = await store.recordMatch({ ...input, now: T0 + 6_000 });

    expect(beforeExpiry).toEqual({ outcome: 'duplicate' });
    // Counted again, into the still-live group, exactly as the memory store does.
    expect(afterExpiry).toEqual({ outcome: 'suppressed', alertId: input.alert.id, count: 2 });
  });

  it('treats a group whose expiresAt has passed as absent once its alert is sent', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const outbox = new DynamoDbOutbox(aws.dynamodb, new RecordingPublisher(), { tableName: table });
    const first = matchInput(awsEvent({ id: 'evt-a' }), T0);
    await store.recordMatch(first);
    await outbox.deliver(first.alert, T0);
    const later = T0 + 3 * HOUR_MS;

    const outcome = await store.recordMatch(matchInput(awsEvent({ id: 'evt-b' }), later));

    expect(outcome.outcome).toBe('alert');
  });

  it('keeps folding into an expired group whose alert is still unpublished, so that alert is never overwritten', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const first = matchInput(awsEvent({ id: 'evt-a' }), T0);
    await store.recordMatch(first);
    const later = T0 + 3 * HOUR_MS;

    const outcome = await store.recordMatch(matchInput(awsEvent({ id: 'evt-b' }), later));

    expect(outcome).toEqual({ outcome: 'suppressed', alertId: first.alert.id, count: 2 });
    const group = await getItem(aws.dynamodb, table, `grp#${first.groupKey}`);
    expect(group && JSON.parse(str(group, 'alert') ?? '').event.id).toBe('evt-a');
  });

  it('counts later matches of a group into its alert and schedules a digest at the window end', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const times = ['2026-11-28T09:01:00.000Z', '2026-11-28T09:40:00.000Z', '2026-11-28T09:05:00.000Z'];

    const outcomes: RecordMatchOutcome[] = [];
    for (const [index, time] of times.entries()) {
      outcomes.push(await store.recordMatch(matchInput(awsEvent({ id: `evt-${index}`, time }), T0 + index)));
    }

    const groupKey = matchInput(awsEvent({ id: 'evt-0', time: times[0] }), T0).groupKey;
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['alert', 'suppressed', 'suppressed']);
    expect(outcomes.slice(1).map((outcome) => outcome.outcome === 'suppressed' && outcome.count)).toEqual([
      2, 3,
    ]);
    const group = await getItem(aws.dynamodb, table, `grp#${groupKey}`);
    expect(group && num(group, 'count')).toBe(3);
    expect(group && strList(group, 'sampleEventIds')).toEqual(['evt-0', 'evt-1', 'evt-2']);
    expect(group && str(group, 'firstSeen')).toBe(times[0]);
    expect(group && str(group, 'lastSeen')).toBe(times[1]);
    const digest = await getItem(aws.dynamodb, table, `dig#${groupKey}`);
    expect(digest && str(digest, 'outboxPending')).toBe('DIGEST');
    expect(digest && num(digest, 'leaseUntil')).toBe(Date.parse('2026-11-28T10:00:00.000Z'));
  });

  it('alerts exactly once when the same event is delivered ten times at once', async () => {
    const store = storeFor(await freshTable());
    const input = matchInput(awsEvent({ id: 'evt-race' }), T0);

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.recordMatch(input)));

    expect(outcomes.filter((outcome) => outcome.outcome === 'alert')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.outcome === 'duplicate')).toHaveLength(9);
  });

  it('counts ten different events of one group arriving at once exactly', async () => {
    const table = await freshTable();
    const store = new DynamoDbDetectionStore(aws.dynamodb, { tableName: table, maxGroupAttempts: 50 });
    const inputs = Array.from({ length: 10 }, (_, index) => matchInput(awsEvent({ id: `evt-${index}` }), T0));

    const outcomes = await Promise.all(inputs.map((input) => store.recordMatch(input)));

    expect(outcomes.filter((outcome) => outcome.outcome === 'alert')).toHaveLength(1);
    const counts = outcomes.flatMap((outcome) => (outcome.outcome === 'suppressed' ? [outcome.count] : []));
    expect(counts.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const group = await getItem(aws.dynamodb, table, `grp#${inputs[0]?.groupKey}`);
    expect(group && num(group, 'count')).toBe(10);
  });

  it('keeps attacker-controlled values out of expressions', async () => {
    const store = storeFor(await freshTable());
    const hostile = awsEvent({
      id: "x' OR attribute_exists(pk) #pk :nowSeconds ) OR (",
      user: '#count = :one, REMOVE #pk',
    });
    const input = matchInput(hostile, T0);

    const first = await store.recordMatch(input);
    const again = await store.recordMatch(input);

    expect(first.outcome).toBe('alert');
    expect(again.outcome).toBe('duplicate');
  });

  it('cuts the raw document of an alert too large for an item, and marks it', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const normalized = awsEvent({ id: 'evt-big' });
    normalized.doc.padding = 'x'.repeat(MAX_ALERT_JSON_BYTES + 10_000);
    const input = matchInput(normalized, T0);

    const outcome = await store.recordMatch(input);

    expect(outcome.outcome).toBe('alert');
    const group = await getItem(aws.dynamodb, table, `grp#${input.groupKey}`);
    const stored = JSON.parse(str(group ?? {}, 'alert') ?? '{}') as Alert;
    expect(group?.alertTruncated).toEqual({ BOOL: true });
    expect(stored.document.padding).toBeUndefined();
    expect(stored.document.truncated).toMatchObject({ originalBytes: expect.any(Number) });
    expect(stored.event.id).toBe('evt-big');
  });
});

describe('DynamoDbDetectionStore after a crash between any two writes', () => {
  /**
   * One delivery of `event` as the detect handler does it: record the match, and publish at once on
   * `alert`. Returns whether the injected crash cut it short.
   */
  async function deliverOnce(
    store: DynamoDbDetectionStore,
    outbox: DynamoDbOutbox,
    input: ReturnType<typeof matchInput>,
  ): Promise<void> {
    const outcome = await store.recordMatch(input);
    if (outcome.outcome === 'alert') await outbox.deliver(outcome.alert, input.now);
  }

  async function scenario(crashAfter: number, retryAt: number) {
    const table = await freshTable();
    const client = aws.newDynamoDbClient();
    const faults = new Faults(client);
    const store = storeFor(table, client);
    const publisher = new RecordingPublisher();
    const outbox = new DynamoDbOutbox(client, publisher, { tableName: table, leaseMs: LEASE_MS });
    const input = matchInput(awsEvent({ id: 'evt-crash' }), T0);

    faults.arm(crashAfter);
    await deliverOnce(store, outbox, input).catch(() => undefined);
    const crashed = faults.fired > 0;
    faults.disarm();
    await deliverOnce(store, outbox, { ...input, now: retryAt });
    const later = T0 + 10 * 60 * 1000;
    for (const alert of (await store.resumeStalled(later)).alerts) await outbox.deliver(alert, later);
    await outbox.redrive(later);

    const group = await getItem(client, table, `grp#${input.groupKey}`);
    const occurrence = await getItem(client, table, `occ#${input.occurrenceKey}`);
    client.destroy();
    return { crashed, publisher, group, occurrence };
  }

  it.each([
    ['at once (the claim is still live)', T0],
    ['after the claim expired', T0 + CLAIM_MS + 1],
  ])('publishes the alert once or twice, never zero times, when retried %s', async (_when, retryAt) => {
    for (let crashAfter = 0; crashAfter < 20; crashAfter += 1) {
      const { crashed, publisher, group, occurrence } = await scenario(crashAfter, retryAt);

      expect(publisher.alerts.length, `crash after ${crashAfter} calls`).toBeGreaterThanOrEqual(1);
      expect(publisher.alerts.length, `crash after ${crashAfter} calls`).toBeLessThanOrEqual(2);
      expect(group && num(group, 'count')).toBe(1);
      expect(group && str(group, 'outboxState')).toBe('SENT');
      expect(occurrence && str(occurrence, 'state')).toBe('APPLIED');
      if (!crashed) return;
    }
    throw new Error('the scenario never ran without a crash');
  });

  it('folds a suppressed match exactly once and digests it once, wherever the crash fell', async () => {
    for (let crashAfter = 0; crashAfter < 20; crashAfter += 1) {
      const table = await freshTable();
      const client = aws.newDynamoDbClient();
      const faults = new Faults(client);
      const store = storeFor(table, client);
      const publisher = new RecordingPublisher();
      const outbox = new DynamoDbOutbox(client, publisher, { tableName: table, leaseMs: LEASE_MS });
      const first = matchInput(awsEvent({ id: 'evt-first' }), T0);
      const second = matchInput(awsEvent({ id: 'evt-second', time: '2026-11-28T09:30:00.000Z' }), T0);
      await deliverOnce(store, outbox, first);

      faults.arm(crashAfter);
      await deliverOnce(store, outbox, second).catch(() => undefined);
      const crashed = faults.fired > 0;
      faults.disarm();
      await deliverOnce(store, outbox, second);
      const afterWindow = Date.parse('2026-11-28T10:00:01.000Z');
      for (const alert of (await store.resumeStalled(afterWindow)).alerts)
        await outbox.deliver(alert, afterWindow);
      await outbox.redrive(afterWindow);
      await outbox.publishDueDigests(afterWindow);
      await outbox.publishDueDigests(afterWindow + 1000);

      const group = await getItem(client, table, `grp#${first.groupKey}`);
      expect(group && num(group, 'count'), `crash after ${crashAfter} calls`).toBe(2);
      expect(publisher.alerts).toHaveLength(1);
      expect(publisher.digests.map((digest) => digest.count)).toEqual([2]);
      client.destroy();
      if (!crashed) return;
    }
    throw new Error('the scenario never ran without a crash');
  });
});

describe('DynamoDbDetectionStore compared with MemoryStore', () => {
  const step = fc.record({
    event: fc.integer({ min: 0, max: 5 }),
    user: fc.constantFrom('alice', 'bob'),
    eventSecond: fc.integer({ min: 0, max: 5 }),
    advanceSeconds: fc.integer({ min: 0, max: 3 }),
  });

  function summary(decisions: readonly Decision[]): string[] {
    return decisions.map((decision) => {
      if (decision.kind === 'alert') return `alert ${decision.alert.id}`;
      if (decision.kind === 'suppressed') return `suppressed ${decision.alertId} ${decision.count}`;
      return decision.kind;
    });
  }

  it('decides every generated sequence of deliveries the same way', async () => {
    const table = await freshTable();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        run += 1;
        // Short windows and memory, in whole seconds, so that expiry happens inside a sequence.
        const rule = keyDeletionRule({
          id: `prop-${run}`,
          suppression: { group_by: ['user.name'], windowMs: 2_000 },
        });
        let now = T0;
        const clock = () => new Date(now);
        const options = { now: clock, occurrenceTtlMs: 3_000 };
        const reference = new Detector([rule], new MemoryStore(), options);
        const store = new DynamoDbDetectionStore(aws.dynamodb, { tableName: table });
        const outbox = new DynamoDbOutbox(aws.dynamodb, new RecordingPublisher(), { tableName: table });
        const subject = new Detector([rule], store, options);

        for (const { event, user, eventSecond, advanceSeconds } of steps) {
          now += advanceSeconds * 1000;
          const normalized = awsEvent({
            id: `evt-${event}`,
            user,
            time: new Date(T0 + eventSecond * 1000).toISOString(),
          });
          const expected = await reference.process(normalized);
          const actual = await subject.process(normalized);
          for (const decision of actual)
            if (decision.kind === 'alert') await outbox.deliver(decision.alert, now);
          expect(summary(actual)).toEqual(summary(expected));
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('DynamoDbDetectionStore after a retryable error', () => {
  it('hands its claim back, so the retry of the record applies the match at once', async () => {
    const table = await freshTable();
    const client = aws.newDynamoDbClient();
    const faults = new Faults(client);
    const store = storeFor(table, client);
    const input = matchInput(awsEvent({ id: 'evt-throttled' }), T0);
    let throttles = 1;
    faults.when = (request, command) => {
      const key = request.Key as Record<string, { S?: string }> | undefined;
      if (command !== 'GetItemCommand' || !key?.pk?.S?.startsWith('grp#') || throttles === 0)
        return undefined;
      throttles -= 1;
      return Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
    };

    await expect(store.recordMatch(input)).rejects.toThrow('Rate exceeded');
    const retry = await store.recordMatch(input);

    expect(retry.outcome).toBe('alert');
    client.destroy();
  });
});

describe('DynamoDbDetectionStore.resumeStalled', () => {
  it('finishes a match whose applier died after recording its intent', async () => {
    const table = await freshTable();
    const client = aws.newDynamoDbClient();
    const faults = new Faults(client);
    const store = storeFor(table, client);
    const input = matchInput(awsEvent({ id: 'evt-stalled' }), T0);
    faults.arm(1);
    await expect(store.recordMatch(input)).rejects.toThrow();
    faults.disarm();

    const tooEarly = await store.resumeStalled(T0 + CLAIM_MS - 1);
    const due = await store.resumeStalled(T0 + CLAIM_MS + 1);

    expect(tooEarly).toEqual({ resumed: 0, failed: 0, alerts: [] });
    expect(due.resumed).toBe(1);
    expect(due.alerts.map((alert) => alert.event.id)).toEqual(['evt-stalled']);
    expect(await pendingItems(client, table, 'APPLYING')).toEqual([]);
    client.destroy();
  });

  it('leaves an expired occurrence alone when its item is overwritten by a new delivery', async () => {
    const table = await freshTable();
    const store = storeFor(table);
    const input = matchInput(awsEvent({ id: 'evt-old' }), T0);
    await aws.dynamodb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `occ#${input.occurrenceKey}` },
          state: { S: 'APPLIED' },
          expiresAt: { N: String(T0 / 1000 - 60) },
        },
      }),
    );

    const outcome = await store.recordMatch(input);

    expect(outcome.outcome).toBe('alert');
  });
});
