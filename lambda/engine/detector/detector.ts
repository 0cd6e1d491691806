import type { Alert, AlertRule } from '../alerts/alert';
import { buildAlert, matchKeys } from '../alerts/alert';
import type { NormalizedEvent, RecordLocation, SourceName } from '../ecs';
import { HEAD_FIELDS } from '../ecs';
import type { KqlNode } from '../kql';
import { readsOnly } from '../kql';
import { prepare } from '../normalizers';
import type { DetectionStore } from './store';

/** What the detector needs of a loaded rule; the rules module's `Rule` satisfies it. */
export interface DetectorRule extends AlertRule {
  readonly sources: readonly SourceName[];
  readonly predicate: (doc: unknown) => boolean;
  readonly exceptions: readonly DetectorException[];
  /**
   * The parsed query the predicate was compiled from. With it, a record whose head (`EventHead`) no
   * rule can match is not normalized further, when the query reads only head fields (`readsOnly`).
   * @default - every record of the rule's sources is normalized in full
   */
  readonly ast?: KqlNode;
}

export interface DetectorException {
  readonly id: string;
  readonly predicate: (doc: unknown) => boolean;
  readonly expires: Date;
}

/** One rule's verdict on one event, before any state is consulted. */
export interface Match {
  readonly rule: DetectorRule;
  readonly normalized: NormalizedEvent;
  readonly location?: RecordLocation;
  /** The active exception that suppresses this match, if any: counted and reported, never dropped. */
  readonly exceptionId?: string;
}

export type Decision =
  | { readonly kind: 'alert'; readonly match: Match; readonly alert: Alert }
  | { readonly kind: 'suppressed'; readonly match: Match; readonly alertId: string; readonly count: number }
  | { readonly kind: 'duplicate'; readonly match: Match }
  | { readonly kind: 'excepted'; readonly match: Match; readonly exceptionId: string };

export interface DetectionStats {
  events: number;
  matched: number;
  alerts: number;
  suppressed: number;
  duplicates: number;
  excepted: number;
  /** Matches suppressed per exception id, so an allowlist's effect is visible. */
  exceptedBy: Record<string, number>;
}

export interface DetectorOptions {
  /** Wall clock; exceptions expire and state items age against it. @default () => new Date() */
  readonly now?: () => Date;
  /**
   * How long an event id is remembered. It must outlast redelivery and the sweep's catch-up.
   * @default 7 days
   */
  readonly occurrenceTtlMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function emptyStats(): DetectionStats {
  return { events: 0, matched: 0, alerts: 0, suppressed: 0, duplicates: 0, excepted: 0, exceptedBy: {} };
}

/**
 * Runs the loaded rules over normalized events and turns matches into alerts, suppressed counts,
 * duplicates or exceptions, with dedupe state kept in the injected store. The same class runs in
 * the detect Lambda, the sweep and the local CLI; only the store differs.
 */
export class Detector {
  readonly stats: DetectionStats = emptyStats();
  private readonly rulesBySource: ReadonlyMap<SourceName, readonly DetectorRule[]>;
  /** The sources whose every rule decides on an event's head alone. */
  private readonly decidedByHead: ReadonlySet<SourceName>;
  private readonly now: () => Date;
  private readonly occurrenceTtlMs: number;

  constructor(
    rules: readonly DetectorRule[],
    private readonly store: DetectionStore,
    options: DetectorOptions = {},
  ) {
    const bySource = new Map<SourceName, DetectorRule[]>();
    for (const rule of rules) {
      for (const source of rule.sources) bySource.set(source, [...(bySource.get(source) ?? []), rule]);
    }
    this.rulesBySource = bySource;
    this.decidedByHead = new Set(
      [...bySource]
        .filter(([, sourceRules]) =>
          sourceRules.every((rule) => rule.ast !== undefined && readsOnly(rule.ast, HEAD_FIELDS)),
        )
        .map(([source]) => source),
    );
    this.now = options.now ?? (() => new Date());
    this.occurrenceTtlMs = options.occurrenceTtlMs ?? 7 * DAY_MS;
  }

  /** Pure evaluation: the rules whose index patterns select this source and whose query matches. */
  evaluate(normalized: NormalizedEvent, location?: RecordLocation): Match[] {
    const rules = this.rulesBySource.get(normalized.doc.event.dataset) ?? [];
    const matches: Match[] = [];
    for (const rule of rules) {
      if (!rule.predicate(normalized.doc)) continue;
      const exceptionId = this.activeException(rule, normalized);
      matches.push(
        exceptionId === undefined
          ? { rule, normalized, location }
          : { rule, normalized, location, exceptionId },
      );
    }
    return matches;
  }

  /**
   * `evaluate` for a decoded record: validates it (throwing the `NormalizationError` that `normalize`
   * would), and builds the full normalized event only when some rule could match. When every rule of the
   * record's source reads only head fields, the head decides: each rule's verdict on it is its verdict
   * on the full event, so a record no rule accepts there is done. That is most records of a stream, and
   * it spares them the field tables, targets and derived ids.
   */
  evaluateRecord(source: SourceName, record: unknown, location?: RecordLocation): Match[] {
    const prepared = prepare(source, record);
    const rules = this.rulesBySource.get(source);
    if (rules === undefined) return [];
    if (this.decidedByHead.has(source) && !rules.some((rule) => rule.predicate(prepared.head))) return [];
    return this.evaluate(prepared.normalize(), location);
  }

  /** Evaluates one event and settles each match against the store. */
  async process(normalized: NormalizedEvent, location?: RecordLocation): Promise<Decision[]> {
    this.stats.events += 1;
    const decisions: Decision[] = [];
    for (const match of this.evaluate(normalized, location)) decisions.push(await this.decide(match));
    return decisions;
  }

  /** Turns one match into its outcome; a store error propagates so the caller retries the record. */
  async decide(match: Match): Promise<Decision> {
    this.stats.matched += 1;
    if (match.exceptionId !== undefined) {
      this.stats.excepted += 1;
      this.stats.exceptedBy[match.exceptionId] = (this.stats.exceptedBy[match.exceptionId] ?? 0) + 1;
      return { kind: 'excepted', match, exceptionId: match.exceptionId };
    }
    const { rule, normalized, location } = match;
    const keys = matchKeys(rule, normalized.doc);
    const now = this.now().getTime();
    const result = await this.store.recordMatch({
      occurrenceKey: keys.occurrenceKey,
      occurrenceExpiresAt: now + this.occurrenceTtlMs,
      groupKey: keys.groupKey,
      // A group must outlive its window even when old logs are replayed, or every replayed match
      // would find it expired and alert again.
      groupExpiresAt: Math.max(now, keys.windowEnd) + rule.suppression.windowMs,
      alert: buildAlert(rule, normalized, keys, location),
      now,
    });
    switch (result.outcome) {
      case 'duplicate':
        this.stats.duplicates += 1;
        return { kind: 'duplicate', match };
      case 'suppressed':
        this.stats.suppressed += 1;
        return { kind: 'suppressed', match, alertId: result.alertId, count: result.count };
      case 'alert':
        this.stats.alerts += 1;
        return { kind: 'alert', match, alert: result.alert };
    }
  }

  private activeException(rule: DetectorRule, normalized: NormalizedEvent): string | undefined {
    const now = this.now().getTime();
    for (const exception of rule.exceptions) {
      if (exception.expires.getTime() > now && exception.predicate(normalized.doc)) return exception.id;
    }
    return undefined;
  }
}
