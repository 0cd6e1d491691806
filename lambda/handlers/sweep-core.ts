/**
 * The scheduled sweep, with every client injected: `sweep.ts` only reads the environment and builds the
 * clients. Tests call `sweep` with dynalite, a scripted Athena and a fake clock.
 *
 * Per enabled rule and source, each run sweeps windows of event time `[checkpoint, now − lag)`, at most
 * `maxWindowMs` each, one window per rule and source per round, for as long as the time budget allows:
 * 1. compile the rule's pre-filter for the window (`compileSweepQuery`); a rule no record of the source can
 *    match needs no query;
 * 2. start it with a `ClientRequestToken` derived from rule, source, window, attempt and SQL, so a
 *    double-fired schedule (or the next run, when this one runs out of time) finds the same execution;
 * 3. wait for it; FAILED or CANCELLED counts an attempt on the checkpoint (the next run queries afresh) and
 *    leaves the checkpoint where it was;
 * 4. rebuild every result row into a raw record, decode, normalize and evaluate it with the same Detector and
 *    store as the real-time path, and hand every alert to the outbox (a publish failure leaves it PENDING for
 *    the redrive); a row that can never be decided (it does not decode, its evaluation throws, or the store
 *    rejects its item as such) is counted as bad and logged, as the real-time path dead-letters it, so one
 *    poison row cannot hold a window, and every window after it, back for good;
 * 5. only then advance the checkpoint, conditionally on where it was read.
 * A window that cannot finish (time, a store error) leaves the checkpoint alone: the next run redoes it, and
 * the store answers `duplicate` for what was already decided. So there is never a gap, and an event seen by
 * both paths alerts once; an alert the sweep creates is one the real-time path missed (`SweepCreatedAlerts`).
 *
 * The outbox's redrive (expired leases, digests, stalled matches) is left to the redrive function, which has
 * its own schedule; the sweep only delivers the alerts it creates.
 */
import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AthenaQueryRunner, TimeBudget } from '../adapters/athena';
import { OutOfTimeError } from '../adapters/athena';
import type { Checkpoint, CheckpointStore } from '../adapters/checkpoints';
import { AlertTooLargeError } from '../adapters/dynamodb-store';
import type { DynamoDbOutbox } from '../adapters/outbox';
import type { Alert } from '../engine/alerts/alert';
import type { SweepRow, SweepTableNames } from '../engine/compile/athena-sql';
import { compileSweepQuery, DEFAULT_SWEEP_TABLE_NAMES, recordFromRow } from '../engine/compile/athena-sql';
import type { DetectorRule, Match } from '../engine/detector/detector';
import { Detector } from '../engine/detector/detector';
import type { DetectionStore } from '../engine/detector/store';
import type { NormalizedEvent, RecordLocation, SourceName } from '../engine/ecs';
import { SOURCE_NAMES } from '../engine/ecs';
import type { KqlNode } from '../engine/kql';
import { normalize, recordsFromDocument, STREAM_SHAPES } from '../engine/normalizers';
import type { PipelineLogger, PipelineMetrics } from './pipeline';

/** What the sweep needs of a loaded rule; the rules module's `Rule` satisfies it. */
export interface SweepRule extends DetectorRule {
  readonly ast: KqlNode;
  readonly schedule: { readonly intervalMs: number; readonly enabled: boolean };
}

export const DEFAULT_LAG_MS = 15 * 60 * 1000;
export const DEFAULT_MAX_WINDOW_MS = 60 * 60 * 1000;

export interface SweepSettings {
  /** How far behind now the sweep stays, for delivery delay (CloudTrail to S3, Firehose buffering). */
  readonly lagMs: number;
  /** The most event time one query covers; a backlog is swept in windows of this size. */
  readonly maxWindowMs: number;
  readonly tables: SweepTableNames;
  /** Time kept back at the end of the invocation: no polling or reading starts inside it. @default 10 s */
  readonly reserveMs?: number;
  /** A window starts only with at least this much time left. @default 45 s */
  readonly minWindowMs?: number;
  /**
   * The sources that have a table in this deployment (`SWEEP_SOURCES`); rules are swept only on these.
   * Without a trail bucket there is no CloudTrail table, and querying it would fail every run.
   * @default every source
   */
  readonly sources?: readonly SourceName[];
}

export interface SweepDependencies {
  /** The rules, loaded once per container; a failure fails the invocation. */
  readonly loadRules: () => Promise<readonly SweepRule[]>;
  readonly store: DetectionStore;
  readonly outbox: Pick<DynamoDbOutbox, 'deliver'>;
  readonly checkpoints: CheckpointStore;
  readonly athena: Pick<AthenaQueryRunner, 'run' | 'rows'>;
  readonly logger: PipelineLogger;
  readonly metrics: PipelineMetrics;
  readonly settings: SweepSettings;
  /** Milliseconds left in the invocation (`context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Where one rule's sweep of one source stands after the run. */
export interface SweepPairReport {
  readonly ruleId: string;
  readonly source: SourceName;
  status: 'caught-up' | 'behind' | 'failed';
  /** The checkpoint after the run (ISO), when it could be read. */
  position?: string;
  windows: number;
  error?: string;
}

export interface SweepReport {
  windowsSwept: number;
  windowsFailed: number;
  rows: number;
  events: number;
  matched: number;
  /** Alerts the sweep opened: the real-time path missed these events. */
  alertsCreated: number;
  suppressed: number;
  duplicates: number;
  excepted: number;
  badRecords: number;
  /** Records of another source found in a table (the other source's own sweep evaluates them). */
  otherSourceRecords: number;
  alertsPublished: number;
  alertsDeferred: number;
  bytesScanned: number;
  /** The largest `now − checkpoint` over all rules and sources, in seconds. */
  checkpointLagSeconds: number;
  /** The run stopped because its time budget ran out, with windows left to sweep. */
  stoppedForTime: boolean;
  pairs: SweepPairReport[];
}

/** Thrown after a run in which at least one rule and source failed (after metrics are published). */
export class SweepFailedError extends AggregateError {
  override readonly name = 'SweepFailedError';
}

/** A setting in the environment that is not what the sweep needs. */
export class SweepConfigError extends Error {
  override readonly name = 'SweepConfigError';
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/**
 * The sweep's settings from the environment (`SWEEP_LAG_MINUTES`, `SWEEP_MAX_WINDOW_MINUTES`,
 * `ATHENA_DATABASE`, `CLOUDTRAIL_TABLE`, `AZURE_TABLE`, `GCP_TABLE`); table names default to
 * `SWEEP_TABLES`. Throws `SweepConfigError` naming the variable.
 */
/** `SWEEP_SOURCES`: a comma-separated list of source names; unset or empty means every source. */
function sweepSources(text: string | undefined): SourceName[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(SOURCE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new SweepConfigError(
      'SWEEP_SOURCES',
      `lists unknown sources ${unknown.join(', ')}; known: ${SOURCE_NAMES.join(', ')}`,
    );
  }
  return names as SourceName[];
}

export function sweepSettingsFromEnv(database: string, env: NodeJS.ProcessEnv = process.env): SweepSettings {
  const minutes = (name: string, fallbackMs: number, min: number): number => {
    const text = env[name]?.trim();
    if (text === undefined || text === '') return fallbackMs;
    if (!/^\d+$/.test(text) || Number(text) < min) {
      throw new SweepConfigError(name, `must be a whole number of minutes, at least ${min}, not "${text}"`);
    }
    return Number(text) * 60_000;
  };
  const table = (name: string, source: SourceName): string => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? DEFAULT_SWEEP_TABLE_NAMES.tables[source] : value;
  };
  const sources = sweepSources(env.SWEEP_SOURCES);
  return {
    ...(sources === undefined ? {} : { sources }),
    lagMs: minutes('SWEEP_LAG_MINUTES', DEFAULT_LAG_MS, 0),
    maxWindowMs: minutes('SWEEP_MAX_WINDOW_MINUTES', DEFAULT_MAX_WINDOW_MS, 1),
    tables: {
      database,
      tables: {
        'aws-cloudtrail': table('CLOUDTRAIL_TABLE', 'aws-cloudtrail'),
        'azure-activity-logs': table('AZURE_TABLE', 'azure-activity-logs'),
        'gcp-audit-logs': table('GCP_TABLE', 'gcp-audit-logs'),
      },
    },
  };
}

/**
 * The idempotency token of one query: the same rule, source, window, attempt and statement give the same
 * token (64 hex characters, within Athena's 32–128), so Athena runs it once however often it is started.
 */
export function queryToken(input: {
  readonly ruleId: string;
  readonly source: SourceName;
  readonly start: number;
  readonly end: number;
  readonly attempt: number;
  readonly sql: string;
}): string {
  const material = JSON.stringify([
    'sweep/1',
    input.ruleId,
    input.source,
    input.start,
    input.end,
    input.attempt,
    createHash('sha256').update(input.sql).digest('hex'),
  ]);
  return createHash('sha256').update(material).digest('hex');
}

const MINUTE_MS = 60_000;

/** One run of the scheduled sweep. */
export async function sweep(deps: SweepDependencies): Promise<SweepReport> {
  const rules = await deps.loadRules().catch((error: unknown) => {
    deps.logger.error('rules failed to load', { error: describeError(error) });
    throw error;
  });
  const run = new SweepRun(rules, deps);
  try {
    await run.execute();
  } finally {
    run.publish();
  }
  const failures = run.failures();
  if (failures.length > 0) {
    throw new SweepFailedError(failures, `${failures.length} rule/source sweep(s) failed; see the log`);
  }
  return run.report;
}

/** `moved`: the checkpoint changed under us (a twin run); it was re-read and the pair goes on. */
type WindowResult = 'advanced' | 'moved' | 'caught-up' | 'failed' | 'out-of-time';

interface Pair {
  readonly rule: SweepRule;
  readonly source: SourceName;
  readonly report: SweepPairReport;
  checkpoint?: Checkpoint;
  done: boolean;
  error?: unknown;
}

/** A window could not be decided (the store failed): it is redone next run. */
class WindowAbort extends Error {
  override readonly name = 'WindowAbort';
}

/** The store's errors, marked so that they, and not a row that cannot be decided, abort the window. */
class StoreFailure extends Error {
  override readonly name = 'StoreFailure';
}

/** Store errors that say nothing about the row (throttling, an outage): redoing the window can succeed. */
function isRetryable(error: unknown): boolean {
  if (error instanceof AlertTooLargeError) return false;
  const name = error instanceof Error ? error.name : '';
  // DynamoDB rejected this row's item as such: redoing the window cannot help.
  return name !== 'ValidationException' && name !== 'SerializationException';
}

class SweepRun {
  readonly report: SweepReport = {
    windowsSwept: 0,
    windowsFailed: 0,
    rows: 0,
    events: 0,
    matched: 0,
    alertsCreated: 0,
    suppressed: 0,
    duplicates: 0,
    excepted: 0,
    badRecords: 0,
    otherSourceRecords: 0,
    alertsPublished: 0,
    alertsDeferred: 0,
    bytesScanned: 0,
    checkpointLagSeconds: 0,
    stoppedForTime: false,
    pairs: [],
  };
  private readonly pairs: Pair[];
  private readonly detector: Detector;
  private readonly now: number;
  /** Windows end on whole minutes at most `lagMs` before the start of the run. */
  private readonly target: number;
  private readonly budget: TimeBudget;
  private readonly minWindowMs: number;

  constructor(
    rules: readonly SweepRule[],
    private readonly deps: SweepDependencies,
  ) {
    const nowDate = deps.now?.() ?? new Date();
    this.now = nowDate.getTime();
    this.target = Math.floor((this.now - deps.settings.lagMs) / MINUTE_MS) * MINUTE_MS;
    const reserveMs = deps.settings.reserveMs ?? 10_000;
    this.budget = { remainingMs: () => deps.remainingTimeMs() - reserveMs };
    this.minWindowMs = deps.settings.minWindowMs ?? 45_000;
    const store: DetectionStore = {
      recordMatch: (input) =>
        deps.store.recordMatch(input).catch((error: unknown) => {
          throw new StoreFailure(describeError(error).message, { cause: error });
        }),
    };
    this.detector = new Detector(rules, store, { now: () => deps.now?.() ?? new Date() });
    this.pairs = rules
      .filter((rule) => rule.schedule.enabled)
      .flatMap((rule) =>
        rule.sources
          .filter((source) => deps.settings.sources?.includes(source) ?? true)
          .map((source): Pair => {
            const report: SweepPairReport = { ruleId: rule.id, source, status: 'behind', windows: 0 };
            this.report.pairs.push(report);
            return { rule, source, report, done: false };
          }),
      );
  }

  async execute(): Promise<void> {
    for (const pair of this.pairs) await this.loadCheckpoint(pair);
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const pair of this.pairs) {
        if (pair.done) continue;
        if (this.deps.remainingTimeMs() < this.minWindowMs) {
          this.report.stoppedForTime = true;
          return;
        }
        const result = await this.sweepWindow(pair);
        if (result === 'advanced' || result === 'moved') progressed = true;
        else if (result === 'out-of-time') {
          this.report.stoppedForTime = true;
          return;
        } else pair.done = true;
      }
    }
  }

  failures(): unknown[] {
    return this.pairs.flatMap((pair) => (pair.error === undefined ? [] : [pair.error]));
  }

  private async loadCheckpoint(pair: Pair): Promise<void> {
    const { rule, source } = pair;
    try {
      pair.checkpoint =
        (await this.deps.checkpoints.get(rule.id, source)) ??
        (await this.deps.checkpoints.create(
          rule.id,
          source,
          this.target - rule.schedule.intervalMs,
          this.now,
        ));
    } catch (error) {
      this.fail(pair, 'checkpoint could not be read', error);
    }
  }

  private async sweepWindow(pair: Pair): Promise<WindowResult> {
    const checkpoint = pair.checkpoint;
    if (checkpoint === undefined) return 'failed';
    if (checkpoint.position >= this.target) {
      pair.report.status = 'caught-up';
      return 'caught-up';
    }
    const start = checkpoint.position;
    // A window some run already started is swept as it was chosen, so its query is found again.
    const end =
      checkpoint.pendingEnd !== undefined && checkpoint.pendingEnd > start
        ? checkpoint.pendingEnd
        : Math.min(start + this.deps.settings.maxWindowMs, this.target);
    const facts = {
      ruleId: pair.rule.id,
      source: pair.source,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(end).toISOString(),
      attempt: checkpoint.attempt,
    };
    try {
      const query = compileSweepQuery(
        pair.rule,
        pair.source,
        { start, end },
        {
          names: this.deps.settings.tables,
          deliverySlackMs: this.deps.settings.lagMs,
        },
      );
      let details: { queryExecutionId?: string; dataScannedBytes?: number; alertsCreated: number } = {
        alertsCreated: 0,
      };
      if (!query.impossible) {
        if (
          checkpoint.pendingEnd !== end &&
          !(await this.deps.checkpoints.begin(checkpoint, end, this.now))
        ) {
          return this.reread(pair, facts);
        }
        const token = queryToken({ ...query, ruleId: pair.rule.id, attempt: checkpoint.attempt });
        const outcome = await this.deps.athena.run(query.sql, token, this.budget);
        if (outcome.status === 'out-of-time') {
          this.deps.logger.info('out of time waiting for the query; the next run resumes it', {
            ...facts,
            queryExecutionId: outcome.queryExecutionId,
          });
          return 'out-of-time';
        }
        this.report.bytesScanned += outcome.dataScannedBytes;
        if (outcome.status !== 'succeeded') {
          this.report.windowsFailed += 1;
          const reason = `query ${outcome.status}: ${outcome.reason}`;
          await this.deps.checkpoints.recordFailure(checkpoint, this.now, reason);
          this.fail(pair, reason, new Error(`${pair.rule.id}/${pair.source}: ${reason}`), {
            ...facts,
            queryExecutionId: outcome.queryExecutionId,
          });
          return 'failed';
        }
        const before = this.report.alertsCreated;
        await this.readResults(pair, outcome.queryExecutionId);
        details = {
          queryExecutionId: outcome.queryExecutionId,
          dataScannedBytes: outcome.dataScannedBytes,
          alertsCreated: this.report.alertsCreated - before,
        };
      }
      const moved = await this.deps.checkpoints.advance(checkpoint, end, this.now, details);
      // A concurrent run (a double-fired schedule) swept the same window and moved it first.
      if (!moved) return this.reread(pair, facts);
      pair.checkpoint = {
        ruleId: pair.rule.id,
        source: pair.source,
        position: end,
        attempt: 0,
        updatedAt: this.now,
      };
      pair.report.windows += 1;
      this.report.windowsSwept += 1;
      this.deps.logger.info('window swept', { ...facts, ...details });
      return 'advanced';
    } catch (error) {
      if (error instanceof OutOfTimeError) {
        this.deps.logger.info('out of time reading results; the next run redoes the window', facts);
        return 'out-of-time';
      }
      this.report.windowsFailed += 1;
      this.fail(
        pair,
        'window failed; the checkpoint stays',
        error instanceof WindowAbort ? error.cause : error,
        facts,
      );
      return 'failed';
    }
  }

  private async reread(pair: Pair, facts: Record<string, unknown>): Promise<WindowResult> {
    this.deps.logger.info('checkpoint changed by a concurrent run; re-reading it', facts);
    const checkpoint = await this.deps.checkpoints.get(pair.rule.id, pair.source);
    if (checkpoint === undefined) throw new Error(`checkpoint of ${pair.rule.id}/${pair.source} vanished`);
    pair.checkpoint = checkpoint;
    return 'moved';
  }

  private async readResults(pair: Pair, queryExecutionId: string): Promise<void> {
    for await (const page of this.deps.athena.rows(queryExecutionId, this.budget)) {
      for (const row of page) {
        if (this.budget.remainingMs() <= 0) throw new OutOfTimeError(`out of time in ${queryExecutionId}`);
        await this.row(pair, row, queryExecutionId);
      }
    }
  }

  private async row(pair: Pair, row: SweepRow, queryExecutionId: string): Promise<void> {
    this.report.rows += 1;
    const transport = `athena:${queryExecutionId}`;
    let document: unknown;
    let file: string | undefined;
    try {
      const rebuilt = recordFromRow(pair.source, row);
      document = rebuilt.document;
      file = rebuilt.objectPath;
    } catch (error) {
      this.bad(pair, { transport }, describeError(error).message);
      return;
    }
    for (const item of recordsFromDocument(document, STREAM_SHAPES)) {
      const location: RecordLocation = {
        transport,
        index: item.index,
        ...(file === undefined ? {} : { file }),
      };
      if ('error' in item) {
        this.bad(pair, location, item.error);
        continue;
      }
      if (item.source !== pair.source) {
        this.report.otherSourceRecords += 1;
        continue;
      }
      let normalized: NormalizedEvent;
      try {
        normalized = normalize(item.source, item.record);
      } catch (error) {
        this.bad(pair, location, describeError(error).message);
        continue;
      }
      this.report.events += 1;
      let matches: Match[];
      try {
        matches = this.detector.evaluate(normalized, location).filter((m) => m.rule.id === pair.rule.id);
      } catch (error) {
        this.bad(pair, location, `evaluation failed: ${describeError(error).message}`);
        continue;
      }
      for (const match of matches) {
        this.report.matched += 1;
        let decision: Awaited<ReturnType<Detector['decide']>>;
        try {
          decision = await this.detector.decide(match);
        } catch (error) {
          if (error instanceof StoreFailure && isRetryable(error.cause)) {
            throw new WindowAbort('the store failed', { cause: error.cause });
          }
          const cause = error instanceof StoreFailure ? error.cause : error;
          this.bad(pair, location, `evaluation failed: ${describeError(cause).message}`);
          continue;
        }
        switch (decision.kind) {
          case 'alert':
            this.report.alertsCreated += 1;
            await this.deliver(decision.alert);
            break;
          case 'suppressed':
            this.report.suppressed += 1;
            break;
          case 'duplicate':
            this.report.duplicates += 1;
            break;
          case 'excepted':
            this.report.excepted += 1;
            break;
        }
      }
    }
  }

  /** The alert is already in the outbox: a failed publish is left PENDING for the redrive. */
  private async deliver(alert: Alert): Promise<void> {
    const facts = { alertId: alert.id, ruleId: alert.rule.id, eventId: alert.event.id };
    this.deps.logger.warn('sweep alert: the real-time path missed this event', facts);
    try {
      const result = await this.deps.outbox.deliver(alert, this.deps.now?.().getTime() ?? Date.now());
      if (result.status === 'sent') this.report.alertsPublished += 1;
      if (result.status === 'failed') {
        this.report.alertsDeferred += 1;
        this.deps.logger.warn('publish failed; the redrive will retry it', {
          ...facts,
          error: describeError(result.error),
        });
      }
    } catch (error) {
      this.report.alertsDeferred += 1;
      this.deps.logger.warn('delivery failed; the redrive will retry it', {
        ...facts,
        error: describeError(error),
      });
    }
  }

  private bad(pair: Pair, location: RecordLocation, reason: string): void {
    this.report.badRecords += 1;
    this.deps.logger.warn('bad record', {
      ruleId: pair.rule.id,
      source: pair.source,
      location,
      reason: reason.slice(0, 300),
    });
  }

  private fail(pair: Pair, message: string, error: unknown, facts: Record<string, unknown> = {}): void {
    pair.done = true;
    pair.error = error;
    pair.report.status = 'failed';
    pair.report.error = `${message}: ${describeError(error).message}`;
    this.deps.logger.error(message, {
      ruleId: pair.rule.id,
      source: pair.source,
      ...facts,
      error: describeError(error),
    });
  }

  /** One EMF blob and one summary line per run. */
  publish(): void {
    let lag = 0;
    for (const pair of this.pairs) {
      if (pair.checkpoint === undefined) continue;
      pair.report.position = new Date(pair.checkpoint.position).toISOString();
      if (pair.report.status === 'behind' && pair.checkpoint.position >= this.target)
        pair.report.status = 'caught-up';
      lag = Math.max(lag, (this.now - pair.checkpoint.position) / 1000);
    }
    this.report.checkpointLagSeconds = Math.round(lag);
    const { metrics } = this.deps;
    const counts: Record<string, number> = {
      SweepCreatedAlerts: this.report.alertsCreated,
      SweepWindowsSwept: this.report.windowsSwept,
      SweepWindowsFailed: this.report.windowsFailed,
      SweepRows: this.report.rows,
      SweepEvents: this.report.events,
      SweepMatched: this.report.matched,
      SweepSuppressed: this.report.suppressed,
      SweepDuplicates: this.report.duplicates,
      SweepExcepted: this.report.excepted,
      SweepBadRecords: this.report.badRecords,
      SweepAlertsPublished: this.report.alertsPublished,
      SweepAlertsDeferred: this.report.alertsDeferred,
    };
    for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.addMetric('SweepCheckpointLag', MetricUnit.Seconds, this.report.checkpointLagSeconds);
    metrics.addMetric('SweepBytesScanned', MetricUnit.Bytes, this.report.bytesScanned);
    metrics.publishStoredMetrics();
    const { pairs, ...summary } = this.report;
    this.deps.logger.info('sweep summary', { ...summary, pairs });
  }
}

function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
