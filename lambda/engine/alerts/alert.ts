import { createHash } from 'node:crypto';
import type { EcsEvent, EcsTarget, NormalizedEvent, Provenance, RecordLocation } from '../ecs';
import type { RunbookPhase } from '../rules/schema';
import { RUNBOOK_PHASES } from '../rules/schema';
import { type FilledCommand, fillCommand } from './commands';
import { consoleLink } from './console-link';
import { stringAt, valueAt } from './fields';

/** The parts of a rule an alert shows; the rules module's `Rule` satisfies it. */
export interface AlertRule {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: string;
  readonly risk_score: number;
  readonly references: readonly string[];
  readonly techniques: readonly { readonly id: string; readonly name: string; readonly tactic?: string }[];
  readonly runbook: Readonly<Record<RunbookPhase, readonly RunbookStepSource[]>>;
  readonly suppression: { readonly group_by: readonly string[]; readonly windowMs: number };
}

/** A runbook step as the rule file writes it; `when` is the compiled KQL of a command's condition. */
export interface RunbookStepSource {
  readonly id: string;
  readonly text: string;
  readonly details?: string;
  readonly commands?: readonly {
    readonly cloud: string;
    readonly command: string;
    readonly when?: (doc: unknown) => boolean;
  }[];
}

export interface RunbookStep {
  readonly id: string;
  readonly text: string;
  readonly details?: string;
  readonly commands: readonly FilledCommand[];
}

/** The seed's triage fields first, then what the analyst needs to place and contain the call. */
export interface AlertEventSummary {
  readonly id: string;
  readonly time: string;
  readonly provider: string;
  readonly action: string;
  readonly outcome?: string;
  readonly dataset: string;
  readonly cloud: string;
  readonly accountId?: string;
  readonly region?: string;
  readonly userName?: string;
  readonly userId?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly target?: EcsTarget;
}

export interface Alert {
  /** Stable: derived from the suppression group, so both delivery paths name the same alert. */
  readonly id: string;
  readonly rule: {
    readonly id: string;
    readonly name: string;
    readonly description: string;
    readonly severity: string;
    readonly riskScore: number;
    readonly techniques: AlertRule['techniques'];
    readonly references: readonly string[];
  };
  readonly event: AlertEventSummary;
  readonly runbook: Readonly<Record<RunbookPhase, readonly RunbookStep[]>>;
  readonly consoleUrl?: string;
  /** Which catalog entries produced the normalized provider and action. */
  readonly provenance: Provenance;
  readonly dedupe: {
    /** `rule id + event.id`. */
    readonly occurrenceKey: string;
    /** `rule id + group-by values + window`, hashed: the values are attacker-controlled and unbounded. */
    readonly groupKey: string;
    readonly groupBy: Readonly<Record<string, string | null>>;
    readonly windowStart: string;
    readonly windowEnd: string;
  };
  readonly location?: RecordLocation;
  /** The normalized event, for renderers that can afford it (cut to size by each channel). */
  readonly document: EcsEvent;
}

/** Keys that identify a match for dedupe and suppression, computed before anything is built. */
export interface MatchKeys {
  readonly occurrenceKey: string;
  readonly groupKey: string;
  readonly groupBy: Record<string, string | null>;
  readonly windowStart: number;
  readonly windowEnd: number;
}

/**
 * Both keys come from the event itself, never from transport metadata, so a redelivery, a replay
 * and the scheduled sweep all land on the same items. Windows are fixed buckets of event time
 * (aligned to the epoch) so every path computes the same window without shared state.
 */
export function matchKeys(rule: AlertRule, doc: EcsEvent): MatchKeys {
  const groupBy: Record<string, string | null> = {};
  for (const field of rule.suppression.group_by) groupBy[field] = stringAt(doc, field) ?? null;
  const eventTime = Date.parse(doc['@timestamp']);
  const windowMs = rule.suppression.windowMs;
  const windowStart = Number.isFinite(eventTime) ? Math.floor(eventTime / windowMs) * windowMs : 0;
  const groupMaterial = JSON.stringify([rule.id, rule.suppression.group_by, groupBy, windowStart]);
  return {
    occurrenceKey: `${rule.id}#${digest(`${doc.event.dataset}\n${doc.event.id}`)}`,
    groupKey: `${rule.id}#${digest(groupMaterial)}`,
    groupBy,
    windowStart,
    windowEnd: windowStart + windowMs,
  };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** Builds the alert an analyst receives for one match. Pure: no I/O, no clock. */
export function buildAlert(
  rule: AlertRule,
  normalized: NormalizedEvent,
  keys: MatchKeys,
  location?: RecordLocation,
): Alert {
  const { doc, provenance } = normalized;
  return {
    id: keys.groupKey,
    rule: {
      id: rule.id,
      name: rule.name,
      description: rule.description,
      severity: rule.severity,
      riskScore: rule.risk_score,
      techniques: rule.techniques,
      references: rule.references,
    },
    event: summarize(doc),
    runbook: fillRunbook(rule, doc),
    consoleUrl: consoleLink(doc),
    provenance,
    dedupe: {
      occurrenceKey: keys.occurrenceKey,
      groupKey: keys.groupKey,
      groupBy: keys.groupBy,
      windowStart: new Date(keys.windowStart).toISOString(),
      windowEnd: new Date(keys.windowEnd).toISOString(),
    },
    location,
    document: doc,
  };
}

function summarize(doc: EcsEvent): AlertEventSummary {
  const target = valueAt(doc, 'target');
  return dropUndefined({
    id: doc.event.id,
    time: doc['@timestamp'],
    provider: doc.event.provider,
    action: doc.event.action,
    outcome: doc.event.outcome,
    dataset: doc.event.dataset,
    cloud: doc.cloud.provider,
    accountId: stringAt(doc, 'cloud.account.id'),
    region: stringAt(doc, 'cloud.region'),
    userName: stringAt(doc, 'user.name'),
    userId: stringAt(doc, 'user.id'),
    sourceIp: stringAt(doc, 'source.ip'),
    userAgent: stringAt(doc, 'user_agent.original'),
    errorCode: stringAt(doc, 'error.code'),
    errorMessage: stringAt(doc, 'error.message'),
    target:
      target !== null && typeof target === 'object' && !Array.isArray(target)
        ? (target as EcsTarget)
        : undefined,
  });
}

/** Keeps only the commands for this event's cloud whose condition the event meets. */
function fillRunbook(rule: AlertRule, doc: EcsEvent): Record<RunbookPhase, RunbookStep[]> {
  const filled = {} as Record<RunbookPhase, RunbookStep[]>;
  for (const phase of RUNBOOK_PHASES) {
    filled[phase] = (rule.runbook[phase] ?? []).map((step) => ({
      id: step.id,
      text: step.text,
      ...(step.details === undefined ? {} : { details: step.details }),
      commands: (step.commands ?? [])
        .filter((command) => command.cloud === doc.cloud.provider && (command.when?.(doc) ?? true))
        .map((command) => ({ cloud: command.cloud, ...fillCommand(command.command, doc) })),
    }));
  }
  return filled;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
