import { describe, expect, it } from 'vitest';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import type { EcsEvent } from '../../lambda/engine/ecs';
import { awsEvent, keyDeletionRule } from '../support/events';

const NOW = new Date('2026-11-29T00:00:00Z');

function detector(rule = keyDeletionRule(), store = new MemoryStore()): Detector {
  return new Detector([rule], store, { now: () => NOW });
}

describe('Detector', () => {
  it('alerts once on the first match of a group', async () => {
    const subject = detector();

    const decisions = await subject.process(awsEvent());

    expect(decisions.map((decision) => decision.kind)).toEqual(['alert']);
    expect(subject.stats).toMatchObject({ events: 1, matched: 1, alerts: 1 });
  });

  it('ignores events the predicate rejects', async () => {
    const subject = detector();

    const decisions = await subject.process(awsEvent({ action: 'CreateAccessKey' }));

    expect(decisions).toEqual([]);
    expect(subject.stats).toMatchObject({ events: 1, matched: 0, alerts: 0 });
  });

  it('reports a second delivery of the same event as a duplicate', async () => {
    const subject = detector();

    await subject.process(awsEvent({ id: 'same' }));
    const decisions = await subject.process(awsEvent({ id: 'same' }));

    expect(decisions.map((decision) => decision.kind)).toEqual(['duplicate']);
    expect(subject.stats).toMatchObject({ alerts: 1, duplicates: 1, suppressed: 0 });
  });

  it('folds later matches of the same group and window into the first alert', async () => {
    const subject = detector();

    const first = await subject.process(awsEvent({ id: 'a', time: '2026-11-28T09:01:00Z' }));
    const second = await subject.process(awsEvent({ id: 'b', time: '2026-11-28T09:40:00Z' }));
    const third = await subject.process(awsEvent({ id: 'c', time: '2026-11-28T09:59:59Z' }));

    expect(first[0]?.kind).toBe('alert');
    expect(second[0]).toMatchObject({ kind: 'suppressed', count: 2 });
    expect(third[0]).toMatchObject({ kind: 'suppressed', count: 3 });
    const alertId = first[0]?.kind === 'alert' ? first[0].alert.id : undefined;
    expect(second[0]?.kind === 'suppressed' && second[0].alertId).toBe(alertId);
  });

  it.each([
    ['another user', { user: 'bob' }],
    ['another account', { account: '444455556666' }],
    ['the next window', { time: '2026-11-28T10:00:00Z' }],
  ])('opens a new alert for %s', async (_name, overrides) => {
    const subject = detector();

    await subject.process(awsEvent({ id: 'a', time: '2026-11-28T09:01:00Z' }));
    const decisions = await subject.process(
      awsEvent({ id: 'b', time: '2026-11-28T09:30:00Z', ...overrides }),
    );

    expect(decisions[0]?.kind).toBe('alert');
  });

  it('counts a match that an active exception covers, and does not alert', async () => {
    const rule = keyDeletionRule({
      exceptions: [
        {
          id: 'ci-bot',
          predicate: (doc) => (doc as EcsEvent & { user: { name: string } }).user.name === 'alice',
          expires: new Date('2027-01-01T00:00:00Z'),
        },
      ],
    });
    const subject = detector(rule);

    const decisions = await subject.process(awsEvent());

    expect(decisions).toMatchObject([{ kind: 'excepted', exceptionId: 'ci-bot' }]);
    expect(subject.stats).toMatchObject({ matched: 1, alerts: 0, excepted: 1, exceptedBy: { 'ci-bot': 1 } });
  });

  it('stops applying an exception once it has expired', async () => {
    const rule = keyDeletionRule({
      exceptions: [{ id: 'old', predicate: () => true, expires: new Date('2026-11-28T23:59:59Z') }],
    });
    const subject = detector(rule);

    const decisions = await subject.process(awsEvent());

    expect(decisions[0]?.kind).toBe('alert');
    expect(subject.stats.excepted).toBe(0);
  });

  it('runs a rule only on the sources its index patterns select', async () => {
    const subject = detector(keyDeletionRule({ sources: ['gcp-audit-logs'] }));

    const decisions = await subject.process(awsEvent());

    expect(decisions).toEqual([]);
  });

  it('keeps dedupe state across detectors that share a store', async () => {
    const store = new MemoryStore();

    await detector(keyDeletionRule(), store).process(awsEvent({ id: 'x' }));
    const decisions = await detector(keyDeletionRule(), store).process(awsEvent({ id: 'x' }));

    expect(decisions[0]?.kind).toBe('duplicate');
  });

  it('treats remembered items whose expiry has passed as absent', async () => {
    const store = new MemoryStore();
    const early = new Detector([keyDeletionRule()], store, { now: () => NOW, occurrenceTtlMs: 1000 });
    const late = new Detector([keyDeletionRule()], store, {
      now: () => new Date(NOW.getTime() + 3 * 60 * 60 * 1000),
    });

    await early.process(awsEvent({ id: 'x', time: NOW.toISOString() }));
    const decisions = await late.process(awsEvent({ id: 'x', time: NOW.toISOString() }));

    expect(decisions[0]?.kind).toBe('alert');
  });

  it('keeps a replayed old window suppressed although the window ended long ago', async () => {
    const subject = detector();

    await subject.process(awsEvent({ id: 'a', time: '2026-10-01T09:01:00Z' }));
    const decisions = await subject.process(awsEvent({ id: 'b', time: '2026-10-01T09:02:00Z' }));

    expect(decisions[0]?.kind).toBe('suppressed');
  });
});

describe('MemoryStore', () => {
  it('restores the decisions of a snapshot, minus expired items', async () => {
    const store = new MemoryStore();
    await detector(keyDeletionRule(), store).process(awsEvent({ id: 'kept' }));
    const snapshot = store.snapshot();

    const restored = new MemoryStore(snapshot, NOW.getTime());
    const expired = new MemoryStore(snapshot, NOW.getTime() + 30 * 24 * 60 * 60 * 1000);

    expect((await detector(keyDeletionRule(), restored).process(awsEvent({ id: 'kept' })))[0]?.kind).toBe(
      'duplicate',
    );
    expect((await detector(keyDeletionRule(), expired).process(awsEvent({ id: 'kept' })))[0]?.kind).toBe(
      'alert',
    );
  });
});
