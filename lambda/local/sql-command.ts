/**
 * `npm start -- --sql [--since 30d]`: prints, per rule and source, the sweep's own Athena statement for the
 * window `[now − since, now)`, commented and ready to paste into the Athena console. It is how analysts run
 * the seed's 30-day retrospective over the deployed tables, and how auditors see exactly what the sweep asks.
 */
import type { SweepSqlRule, SweepTableNames } from '../engine/compile/athena-sql';
import { DEFAULT_SWEEP_TABLE_NAMES, renderSweepSql } from '../engine/compile/athena-sql';
import type { SourceName } from '../engine/ecs';
import { parseDuration } from '../engine/rules';

/** The look-back when `--since` is not given: the seed's 30-day retrospective. */
export const DEFAULT_SINCE = '30d';

export interface SqlCommandOptions {
  /** How far back the window starts, as `<n>s|m|h|d`. @default DEFAULT_SINCE */
  readonly since?: string;
  /** The window's end (floored to the minute). @default new Date() */
  readonly now?: Date;
  /** @default SWEEP_DATABASE */
  readonly database?: string;
  /** Table names where the deployment differs from `SWEEP_TABLES`. */
  readonly tables?: Partial<Record<SourceName, string>>;
}

/** A `--since` value that is not a duration; the CLI prints the message and exits 2. */
export class SqlCommandError extends Error {
  override readonly name = 'SqlCommandError';
}

/** `30d` → milliseconds; throws `SqlCommandError` for anything else. */
export function parseSince(text: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined) {
    throw new SqlCommandError(`--since must be a duration such as 30d, 12h or 90m, not "${text}"`);
  }
  return ms;
}

/** The text `--sql` prints: a header, then every rule's statements, separated by blank lines. */
export function sweepSqlText(rules: readonly SweepSqlRule[], options: SqlCommandOptions = {}): string {
  const since = options.since ?? DEFAULT_SINCE;
  const sinceMs = parseSince(since);
  const end = Math.floor((options.now ?? new Date()).getTime() / 60_000) * 60_000;
  const start = end - sinceMs;
  const names: SweepTableNames = {
    database: options.database ?? DEFAULT_SWEEP_TABLE_NAMES.database,
    tables: { ...DEFAULT_SWEEP_TABLE_NAMES.tables, ...options.tables },
  };
  const statements = renderSweepSql(rules, { start, end }, { names });
  const header = [
    `-- Athena statements of the scheduled sweep, for the last ${since}`,
    `-- [${new Date(start).toISOString()}, ${new Date(end).toISOString()}) over ${names.database}.`,
    '-- Paste one statement at a time into the Athena console (engine version 3) and pick a workgroup',
    '-- with a bytes-scanned limit: CloudTrail is partitioned by day, so this scans every day of the window.',
  ].join('\n');
  const body =
    statements.length === 0
      ? '-- No rule selects a source the sweep can query.\n'
      : statements.map((s) => s.sql).join('\n');
  return `${header}\n\n${body}`;
}
