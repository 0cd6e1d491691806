/**
 * A scripted Athena behind the real `AthenaClient`'s `send`: idempotent `StartQueryExecution` by
 * `ClientRequestToken` (a repeated token answers the execution it created, as Athena does), scripted
 * QUEUED → RUNNING → SUCCEEDED / FAILED / CANCELLED states, `GetQueryResults` pages with the header row
 * first and `NextToken`, and `TooManyRequestsException` on demand. Results come from a callback, usually
 * DuckDB running the statement (see `test/compile/athena-duckdb.ts`).
 */
import type { QueryExecutionState } from '@aws-sdk/client-athena';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import type { SweepRow } from '../../lambda/engine/compile/athena-sql';

export interface ScriptedResult {
  /** States `GetQueryExecution` reports, one per call; the last one repeats. @default ['RUNNING', 'SUCCEEDED'] */
  readonly states?: readonly QueryExecutionState[];
  readonly reason?: string;
  readonly bytesScanned?: number;
  readonly columns?: readonly string[];
  readonly rows?: readonly SweepRow[];
}

export interface StartedQuery {
  readonly id: string;
  readonly sql: string;
  readonly token: string;
  readonly workGroup: string | undefined;
  readonly database: string | undefined;
  statusCalls: number;
  result?: ScriptedResult;
}

type Throttled = 'start' | 'status' | 'results';

export class FakeAthena {
  readonly client = new AthenaClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  });
  readonly executions: StartedQuery[] = [];
  /** Every call, in order: `start`, `status` or `results`, with its input. */
  readonly calls: { readonly kind: Throttled; readonly input: Record<string, unknown> }[] = [];
  /** How many of the next calls of each kind fail with `TooManyRequestsException`. */
  readonly throttle: Record<Throttled, number> = { start: 0, status: 0, results: 0 };
  private readonly byToken = new Map<string, StartedQuery>();

  constructor(private script: (query: StartedQuery) => ScriptedResult | Promise<ScriptedResult>) {
    this.client.send = this.send.bind(this) as AthenaClient['send'];
  }

  /** Replaces what new (and still unresolved) executions answer. */
  setScript(script: (query: StartedQuery) => ScriptedResult | Promise<ScriptedResult>): void {
    this.script = script;
  }

  tokens(): string[] {
    return this.calls
      .filter((call) => call.kind === 'start')
      .map((call) => String(call.input.ClientRequestToken));
  }

  private async send(command: unknown): Promise<unknown> {
    if (command instanceof StartQueryExecutionCommand) {
      const input = command.input;
      this.calls.push({ kind: 'start', input: { ...input } });
      this.maybeThrottle('start');
      const token = input.ClientRequestToken ?? '';
      const existing = this.byToken.get(token);
      if (existing) return { QueryExecutionId: existing.id, $metadata: {} };
      const query: StartedQuery = {
        id: `qe-${this.executions.length + 1}`,
        sql: input.QueryString ?? '',
        token,
        workGroup: input.WorkGroup,
        database: input.QueryExecutionContext?.Database,
        statusCalls: 0,
      };
      this.executions.push(query);
      this.byToken.set(token, query);
      return { QueryExecutionId: query.id, $metadata: {} };
    }
    if (command instanceof GetQueryExecutionCommand) {
      this.calls.push({ kind: 'status', input: { ...command.input } });
      this.maybeThrottle('status');
      const query = this.find(command.input.QueryExecutionId);
      query.result ??= await this.script(query);
      const states = query.result.states ?? ['RUNNING', 'SUCCEEDED'];
      const state = states[Math.min(query.statusCalls, states.length - 1)] as QueryExecutionState;
      query.statusCalls += 1;
      return {
        QueryExecution: {
          QueryExecutionId: query.id,
          Status: {
            State: state,
            ...(state === 'FAILED' || state === 'CANCELLED'
              ? { StateChangeReason: query.result.reason ?? `${state} by the script` }
              : {}),
          },
          Statistics: { DataScannedInBytes: query.result.bytesScanned ?? 1024 },
        },
        $metadata: {},
      };
    }
    if (command instanceof GetQueryResultsCommand) {
      this.calls.push({ kind: 'results', input: { ...command.input } });
      this.maybeThrottle('results');
      const query = this.find(command.input.QueryExecutionId);
      const result = query.result ?? { rows: [] };
      const columns = result.columns ?? Object.keys(result.rows?.[0] ?? {});
      const all = [
        { Data: columns.map((name) => ({ VarCharValue: name })) },
        ...(result.rows ?? []).map((row) => ({
          Data: columns.map((name) => {
            const value = row[name];
            return value === null || value === undefined ? {} : { VarCharValue: value };
          }),
        })),
      ];
      const offset = Number(command.input.NextToken ?? '0');
      const size = command.input.MaxResults ?? 1000;
      const next = offset + size < all.length ? String(offset + size) : undefined;
      return {
        ResultSet: {
          Rows: all.slice(offset, offset + size),
          ResultSetMetadata: { ColumnInfo: columns.map((name) => ({ Name: name, Type: 'varchar' })) },
        },
        ...(next === undefined ? {} : { NextToken: next }),
        $metadata: {},
      };
    }
    throw new Error(`the fake does not implement ${String((command as object)?.constructor?.name)}`);
  }

  private find(id: string | undefined): StartedQuery {
    const query = this.executions.find((q) => q.id === id);
    if (query === undefined) throw new Error(`no execution ${id}`);
    return query;
  }

  private maybeThrottle(kind: Throttled): void {
    if (this.throttle[kind] > 0) {
      this.throttle[kind] -= 1;
      throw new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} });
    }
  }
}

/** A fake clock whose sleeps advance time instantly, and an invocation deadline against it. */
export class FakeClock {
  readonly sleeps: number[] = [];

  constructor(
    public now: number,
    public deadline: number = now + 15 * 60_000,
  ) {}

  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.now += ms;
  };

  readonly remaining = (): number => this.deadline - this.now;

  readonly date = (): Date => new Date(this.now);
}
