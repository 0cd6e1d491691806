/**
 * The sweep's Athena client: starts a query idempotently, waits for it within the invocation's time budget
 * and pages through its results. Athena is asynchronous and throttles readily, so every call here can be
 * interrupted by the budget and every `TooManyRequestsException` is waited out with backoff; nothing here
 * decides what a failure means for the checkpoint (the sweep does).
 *
 * `ClientRequestToken` makes a start idempotent: Athena answers a repeated token with the execution it
 * already created, so a double-fired schedule, or a run that resumes a query an earlier run started, reads
 * the same execution instead of scanning again.
 */
import type { AthenaClient, Datum, GetQueryExecutionCommandOutput } from '@aws-sdk/client-athena';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { SweepRow } from '../engine/compile/athena-sql';

/** The boundary tests replace: the client's `send`. */
export type AthenaSender = Pick<AthenaClient, 'send'>;

/** How much time a caller may still spend, in milliseconds (its reserve already deducted). */
export interface TimeBudget {
  remainingMs(): number;
}

export interface AthenaQueryRunnerOptions {
  readonly workGroup: string;
  readonly database: string;
  /** @default 'AwsDataCatalog' */
  readonly catalog?: string;
  /** First wait between status polls; doubles up to `pollMaxMs`. @default 500 */
  readonly pollInitialMs?: number;
  /** @default 5000 */
  readonly pollMaxMs?: number;
  /** First wait after a `TooManyRequestsException`; doubles up to `throttleMaxMs`. @default 1000 */
  readonly throttleInitialMs?: number;
  /** @default 10000 */
  readonly throttleMaxMs?: number;
  /** Rows per `GetQueryResults` page (Athena's maximum is 1000). @default 1000 */
  readonly pageSize?: number;
  /** @default a `setTimeout` promise */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** How a query ended, as far as this invocation could see. */
export type QueryOutcome =
  | { readonly status: 'succeeded'; readonly queryExecutionId: string; readonly dataScannedBytes: number }
  | {
      readonly status: 'failed' | 'cancelled';
      readonly queryExecutionId: string;
      readonly reason: string;
      readonly dataScannedBytes: number;
    }
  /** The budget ran out first; the query may still be running (the same token finds it next time). */
  | { readonly status: 'out-of-time'; readonly queryExecutionId?: string };

/** Thrown from `rows` when the budget runs out between pages. */
export class OutOfTimeError extends Error {
  override readonly name = 'OutOfTimeError';
}

/** A response Athena should have but did not give (no execution id, no status). */
export class AthenaResponseError extends Error {
  override readonly name = 'AthenaResponseError';
}

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException']);

/** Whether an error is Athena telling us to slow down. */
export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING.has(error.name);
}

export class AthenaQueryRunner {
  private readonly catalog: string;
  private readonly pollInitialMs: number;
  private readonly pollMaxMs: number;
  private readonly throttleInitialMs: number;
  private readonly throttleMaxMs: number;
  private readonly pageSize: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: AthenaSender,
    private readonly options: AthenaQueryRunnerOptions,
  ) {
    this.catalog = options.catalog ?? 'AwsDataCatalog';
    this.pollInitialMs = options.pollInitialMs ?? 500;
    this.pollMaxMs = options.pollMaxMs ?? 5_000;
    this.throttleInitialMs = options.throttleInitialMs ?? 1_000;
    this.throttleMaxMs = options.throttleMaxMs ?? 10_000;
    this.pageSize = options.pageSize ?? 1_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Starts (or, for a token seen before, finds) the query and waits for it to end. */
  async run(sql: string, clientRequestToken: string, budget: TimeBudget): Promise<QueryOutcome> {
    const id = await this.start(sql, clientRequestToken, budget);
    if (id === undefined) return { status: 'out-of-time' };
    return this.wait(id, budget);
  }

  /** The execution id, or `undefined` when the budget ran out while Athena was throttling. */
  async start(sql: string, clientRequestToken: string, budget: TimeBudget): Promise<string | undefined> {
    const output = await this.throttled(budget, () =>
      this.client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          ClientRequestToken: clientRequestToken,
          WorkGroup: this.options.workGroup,
          QueryExecutionContext: { Database: this.options.database, Catalog: this.catalog },
        }),
      ),
    );
    if (output === undefined) return undefined;
    if (!output.QueryExecutionId) throw new AthenaResponseError('StartQueryExecution returned no id');
    return output.QueryExecutionId;
  }

  /** Polls with backoff until the query ends or the budget runs out. */
  async wait(queryExecutionId: string, budget: TimeBudget): Promise<QueryOutcome> {
    let delay = this.pollInitialMs;
    for (;;) {
      const output = await this.throttled(budget, () =>
        this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId })),
      );
      if (output === undefined) return { status: 'out-of-time', queryExecutionId };
      const outcome = outcomeOf(queryExecutionId, output);
      if (outcome !== undefined) return outcome;
      if (!(await this.pause(delay, budget))) return { status: 'out-of-time', queryExecutionId };
      delay = Math.min(delay * 2, this.pollMaxMs);
    }
  }

  /**
   * The result rows page by page, by column name; the header row Athena puts first is consumed. Throws
   * `OutOfTimeError` when the budget runs out between pages.
   */
  async *rows(queryExecutionId: string, budget: TimeBudget): AsyncGenerator<SweepRow[]> {
    let nextToken: string | undefined;
    let columns: string[] | undefined;
    do {
      const token = nextToken;
      const output = await this.throttled(budget, () =>
        this.client.send(
          new GetQueryResultsCommand({
            QueryExecutionId: queryExecutionId,
            MaxResults: this.pageSize,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      if (output === undefined) throw new OutOfTimeError(`out of time reading ${queryExecutionId}`);
      let rows = output.ResultSet?.Rows ?? [];
      if (columns === undefined) {
        const header = rows[0]?.Data ?? [];
        const described = output.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((info) => info.Name ?? '');
        columns = described ?? header.map((datum) => datum.VarCharValue ?? '');
        rows = rows.slice(1);
      }
      const names = columns;
      yield rows.map((row) => toRow(names, row.Data ?? []));
      nextToken = output.NextToken;
    } while (nextToken !== undefined);
  }

  /** Calls `call`, waiting out throttling with backoff; `undefined` when the budget ran out. */
  private async throttled<T>(budget: TimeBudget, call: () => Promise<T>): Promise<T | undefined> {
    let delay = this.throttleInitialMs;
    for (;;) {
      if (budget.remainingMs() <= 0) return undefined;
      try {
        return await call();
      } catch (error) {
        if (!isThrottling(error)) throw error;
      }
      if (!(await this.pause(delay, budget))) return undefined;
      delay = Math.min(delay * 2, this.throttleMaxMs);
    }
  }

  /** Sleeps about `ms` (with jitter) if the budget allows; false when it does not. */
  private async pause(ms: number, budget: TimeBudget): Promise<boolean> {
    const jittered = Math.round(ms * (0.75 + 0.25 * this.random()));
    if (budget.remainingMs() <= jittered) return false;
    await this.sleep(jittered);
    return true;
  }
}

function outcomeOf(
  queryExecutionId: string,
  output: GetQueryExecutionCommandOutput,
): QueryOutcome | undefined {
  const execution = output.QueryExecution;
  const status = execution?.Status;
  const dataScannedBytes = execution?.Statistics?.DataScannedInBytes ?? 0;
  switch (status?.State) {
    case 'SUCCEEDED':
      return { status: 'succeeded', queryExecutionId, dataScannedBytes };
    case 'FAILED':
    case 'CANCELLED': {
      const reason =
        status.AthenaError?.ErrorMessage ?? status.StateChangeReason ?? `query ${status.State.toLowerCase()}`;
      return {
        status: status.State === 'FAILED' ? 'failed' : 'cancelled',
        queryExecutionId,
        reason,
        dataScannedBytes,
      };
    }
    case 'QUEUED':
    case 'RUNNING':
    case undefined:
      return undefined;
    default:
      throw new AthenaResponseError(`query ${queryExecutionId} is in unknown state ${String(status?.State)}`);
  }
}

function toRow(columns: readonly string[], data: readonly Datum[]): SweepRow {
  return Object.fromEntries(columns.map((name, index) => [name, data[index]?.VarCharValue ?? null]));
}
