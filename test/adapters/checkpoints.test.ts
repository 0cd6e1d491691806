import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../lambda/adapters/checkpoints';
import { CheckpointError, checkpointKey, DynamoDbCheckpointStore } from '../../lambda/adapters/checkpoints';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';
import { getItem } from './state-support';

const T0 = Date.parse('2026-11-28T09:00:00.000Z');
const HOUR = 3_600_000;

let aws: LocalAws;
let table: string;
let store: DynamoDbCheckpointStore;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

beforeEach(async () => {
  table = uniqueName('checkpoints');
  await createStateTable(aws.dynamodb, table);
  store = new DynamoDbCheckpointStore(aws.dynamodb, { tableName: table });
});

describe('DynamoDbCheckpointStore', () => {
  it('creates a checkpoint once and answers the stored one to a second creator', async () => {
    const first = await store.create('seed', 'aws-cloudtrail', T0, T0);

    const second = await store.create('seed', 'aws-cloudtrail', T0 + HOUR, T0 + 1);

    expect(second).toEqual(first);
    expect(await store.get('seed', 'aws-cloudtrail')).toEqual({
      ruleId: 'seed',
      source: 'aws-cloudtrail',
      position: T0,
      attempt: 0,
      updatedAt: T0,
    });
    expect(await getItem(aws.dynamodb, table, 'chk#seed#aws-cloudtrail')).toMatchObject({
      kind: { S: 'checkpoint' },
    });
  });

  it('keeps rules and sources apart', async () => {
    await store.create('seed', 'aws-cloudtrail', T0, T0);

    expect(await store.get('seed', 'gcp-audit-logs')).toBeUndefined();
    expect(await store.get('other', 'aws-cloudtrail')).toBeUndefined();
    expect(checkpointKey('seed', 'gcp-audit-logs')).toBe('chk#seed#gcp-audit-logs');
  });

  it('advances from where it was read, and records what the window did', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);

    const moved = await store.advance(checkpoint, T0 + HOUR, T0 + 2 * HOUR, {
      queryExecutionId: 'qe-1',
      dataScannedBytes: 2048,
      alertsCreated: 1,
    });

    expect(moved).toBe(true);
    expect((await store.get('seed', 'aws-cloudtrail'))?.position).toBe(T0 + HOUR);
    expect(await getItem(aws.dynamodb, table, 'chk#seed#aws-cloudtrail')).toMatchObject({
      lastWindowStart: { N: String(T0) },
      lastQueryExecutionId: { S: 'qe-1' },
      lastDataScannedBytes: { N: '2048' },
    });
  });

  it('refuses an advance from a position it no longer holds (a concurrent run moved it)', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);
    await store.advance(checkpoint, T0 + HOUR, T0);

    const stale = await store.advance(checkpoint, T0 + 30 * 60_000, T0);

    expect(stale).toBe(false);
    expect((await store.get('seed', 'aws-cloudtrail'))?.position).toBe(T0 + HOUR);
  });

  it.each([0, -1])('never moves a checkpoint backwards or in place (by %i ms)', async (delta) => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);

    await expect(store.advance(checkpoint, T0 + delta, T0)).rejects.toBeInstanceOf(CheckpointError);
  });

  it('records the window being queried, refuses a different one, and forgets it on advance', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);

    expect(await store.begin(checkpoint, T0 + HOUR, T0)).toBe(true);
    expect(await store.begin(checkpoint, T0 + HOUR, T0 + 1)).toBe(true);
    expect(await store.begin(checkpoint, T0 + 2 * HOUR, T0 + 2)).toBe(false);
    expect((await store.get('seed', 'aws-cloudtrail'))?.pendingEnd).toBe(T0 + HOUR);
    await store.advance(checkpoint, T0 + HOUR, T0 + 3);

    const advanced = await store.get('seed', 'aws-cloudtrail');
    expect(advanced).toMatchObject({ position: T0 + HOUR, attempt: 0 });
    expect(advanced?.pendingEnd).toBeUndefined();
    expect(await store.begin(checkpoint, T0 + HOUR, T0 + 4)).toBe(false);
  });

  it('forgets the pending window when its query failed, so the retry chooses afresh', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);
    await store.begin(checkpoint, T0 + HOUR, T0);

    await store.recordFailure(checkpoint, T0 + 1, 'query failed: boom');

    const failed = await store.get('seed', 'aws-cloudtrail');
    expect(failed).toMatchObject({ position: T0, attempt: 1 });
    expect(failed?.pendingEnd).toBeUndefined();
  });

  it('counts failed attempts of the same window, and resets the count on advance', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);

    expect(await store.recordFailure(checkpoint, T0 + 1, 'query failed: boom')).toBe(true);
    expect(await store.recordFailure(checkpoint, T0 + 2, 'the same attempt again')).toBe(false);
    const failedOnce = (await store.get('seed', 'aws-cloudtrail')) as Checkpoint;
    expect(failedOnce.attempt).toBe(1);
    expect(await store.recordFailure(failedOnce, T0 + 3, 'query failed: boom')).toBe(true);
    expect((await store.get('seed', 'aws-cloudtrail'))?.attempt).toBe(2);
    await store.advance(failedOnce, T0 + HOUR, T0 + 4);

    expect((await store.get('seed', 'aws-cloudtrail'))?.attempt).toBe(0);
  });

  it('does not count a failure against a window that has since been swept', async () => {
    const checkpoint = await store.create('seed', 'aws-cloudtrail', T0, T0);
    await store.advance(checkpoint, T0 + HOUR, T0);

    expect(await store.recordFailure(checkpoint, T0, 'late news')).toBe(false);
    expect(await store.get('seed', 'aws-cloudtrail')).toMatchObject({ position: T0 + HOUR, attempt: 0 });
  });
});
