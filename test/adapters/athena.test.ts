import { InvalidRequestException } from '@aws-sdk/client-athena';
import { describe, expect, it } from 'vitest';
import { AthenaQueryRunner, isThrottling, OutOfTimeError } from '../../lambda/adapters/athena';
import type { SweepRow } from '../../lambda/engine/compile/athena-sql';
import type { ScriptedResult } from './athena-fake';
import { FakeAthena, FakeClock } from './athena-fake';

const T0 = Date.parse('2026-11-28T10:07:30.000Z');

function setup(script: ScriptedResult = {}, options: { deadlineMs?: number; pageSize?: number } = {}) {
  const athena = new FakeAthena(() => script);
  const clock = new FakeClock(T0, T0 + (options.deadlineMs ?? 60_000));
  const runner = new AthenaQueryRunner(athena.client, {
    workGroup: 'detector',
    database: 'abnormal_cloud_api_calls',
    sleep: clock.sleep,
    random: () => 1,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
  });
  return { athena, clock, runner, budget: { remainingMs: clock.remaining } };
}

async function allRows(runner: AthenaQueryRunner, id: string, budget: { remainingMs(): number }) {
  const pages: SweepRow[][] = [];
  for await (const page of runner.rows(id, budget)) pages.push(page);
  return pages;
}

describe('AthenaQueryRunner', () => {
  it('starts the query in the workgroup and database with the token, and polls with backoff until it succeeds', async () => {
    const { athena, clock, runner, budget } = setup({
      states: ['QUEUED', 'QUEUED', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'SUCCEEDED'],
      bytesScanned: 4096,
    });

    const outcome = await runner.run('SELECT 1', 'a'.repeat(64), budget);

    expect(outcome).toEqual({ status: 'succeeded', queryExecutionId: 'qe-1', dataScannedBytes: 4096 });
    expect(athena.calls[0]?.input).toMatchObject({
      QueryString: 'SELECT 1',
      ClientRequestToken: 'a'.repeat(64),
      WorkGroup: 'detector',
      QueryExecutionContext: { Database: 'abnormal_cloud_api_calls', Catalog: 'AwsDataCatalog' },
    });
    expect(clock.sleeps).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });

  it.each<['FAILED' | 'CANCELLED', 'failed' | 'cancelled']>([
    ['FAILED', 'failed'],
    ['CANCELLED', 'cancelled'],
  ])('reports a query that ends %s with its reason', async (state, status) => {
    const { runner, budget } = setup({ states: ['RUNNING', state], reason: 'Query exhausted resources' });

    const outcome = await runner.run('SELECT 1', 't'.repeat(64), budget);

    expect(outcome).toEqual({
      status,
      queryExecutionId: 'qe-1',
      reason: 'Query exhausted resources',
      dataScannedBytes: 1024,
    });
  });

  it('answers out-of-time with the execution id when the budget runs out while the query runs', async () => {
    const { athena, runner, budget } = setup({ states: ['RUNNING'] }, { deadlineMs: 20_000 });

    const outcome = await runner.run('SELECT 1', 't'.repeat(64), budget);

    expect(outcome).toEqual({ status: 'out-of-time', queryExecutionId: 'qe-1' });
    expect(athena.executions).toHaveLength(1);
  });

  it('waits out TooManyRequestsException on every call with growing pauses', async () => {
    const { athena, clock, runner, budget } = setup({ rows: [{ a: '1' }] });
    athena.throttle.start = 2;
    athena.throttle.status = 1;
    athena.throttle.results = 1;

    const outcome = await runner.run('SELECT 1', 't'.repeat(64), budget);
    const pages = await allRows(runner, 'qe-1', budget);

    expect(outcome.status).toBe('succeeded');
    expect(pages).toEqual([[{ a: '1' }]]);
    expect(clock.sleeps).toEqual([1000, 2000, 1000, 500, 1000]);
    expect(athena.executions).toHaveLength(1);
  });

  it('gives up throttled starts when the budget runs out', async () => {
    const { athena, runner, budget } = setup({}, { deadlineMs: 2_500 });
    athena.throttle.start = 10;

    expect(await runner.run('SELECT 1', 't'.repeat(64), budget)).toEqual({ status: 'out-of-time' });
  });

  it('lets other errors through', async () => {
    const { athena, runner, budget } = setup();
    athena.client.send = (() =>
      Promise.reject(new InvalidRequestException({ message: 'syntax error', $metadata: {} }))) as never;

    await expect(runner.run('SELEC 1', 't'.repeat(64), budget)).rejects.toThrow('syntax error');
  });

  it('pages through results by NextToken, dropping the header row only once, with NULL as null', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ n: String(i), maybe: i % 2 === 0 ? null : 'x' }));
    const { athena, runner, budget } = setup({ rows, columns: ['n', 'maybe'] }, { pageSize: 2 });
    await runner.run('SELECT n, maybe', 't'.repeat(64), budget);

    const pages = await allRows(runner, 'qe-1', budget);

    expect(pages.map((page) => page.map((row) => row.n))).toEqual([['0'], ['1', '2'], ['3', '4']]);
    expect(pages.flat()[0]).toEqual({ n: '0', maybe: null });
    expect(athena.calls.filter((c) => c.kind === 'results').map((c) => c.input.NextToken)).toEqual([
      undefined,
      '2',
      '4',
    ]);
  });

  it('throws OutOfTimeError between pages when the budget runs out', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ n: String(i) }));
    const { clock, runner, budget } = setup({ rows }, { pageSize: 2 });
    await runner.run('SELECT n', 't'.repeat(64), budget);
    const pages: SweepRow[][] = [];

    const reading = (async () => {
      for await (const page of runner.rows('qe-1', budget)) {
        pages.push(page);
        clock.now = clock.deadline;
      }
    })();

    await expect(reading).rejects.toBeInstanceOf(OutOfTimeError);
    expect(pages).toHaveLength(1);
  });
});

describe('isThrottling', () => {
  it.each<[unknown, boolean]>([
    [Object.assign(new Error('x'), { name: 'TooManyRequestsException' }), true],
    [Object.assign(new Error('x'), { name: 'ThrottlingException' }), true],
    [new Error('x'), false],
    ['TooManyRequestsException', false],
  ])('recognises %s: %s', (error, expected) => {
    expect(isThrottling(error)).toBe(expected);
  });
});
