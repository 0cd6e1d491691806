import type { Alert } from '../alerts/alert';

/** What the store is asked to remember for one match of one rule. */
export interface RecordMatchInput {
  /** `rule id + event.id`: the same event delivered twice (or by both paths) must alert once. */
  readonly occurrenceKey: string;
  readonly occurrenceExpiresAt: number;
  /** `rule id + group-by values + window`: later matches in the window fold into the first alert. */
  readonly groupKey: string;
  readonly groupExpiresAt: number;
  /** The alert to create if this match opens its group. */
  readonly alert: Alert;
  /** Wall-clock time of the decision, epoch milliseconds. */
  readonly now: number;
}

/** The three things a match can turn out to be. A duplicate is an expected outcome, not an error. */
export type RecordMatchOutcome =
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'alert'; readonly alert: Alert }
  | { readonly outcome: 'suppressed'; readonly alertId: string; readonly count: number };

/**
 * Dedupe and suppression state. The DynamoDB adapter implements it with conditional writes in one
 * transaction; the local detector with an embedded store. Implementations must treat an item whose
 * expiry has passed as absent, because TTL deletion lags.
 */
export interface DetectionStore {
  recordMatch(input: RecordMatchInput): Promise<RecordMatchOutcome>;
}

/** A suppressed group's running summary, kept so a digest can say what was folded in. */
export interface GroupState {
  alertId: string;
  ruleId: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** A bounded sample of the folded events' ids, newest last. */
  sampleEventIds: string[];
  expiresAt: number;
}

/** How many folded event ids a group keeps for its digest. */
export const GROUP_SAMPLE_SIZE = 10;

/** Applies one more match to a group's summary (shared by every store so digests agree). */
export function foldIntoGroup(group: GroupState, eventId: string, eventTime: string): GroupState {
  const sampleEventIds = [...group.sampleEventIds, eventId].slice(-GROUP_SAMPLE_SIZE);
  return {
    ...group,
    count: group.count + 1,
    firstSeen: eventTime < group.firstSeen ? eventTime : group.firstSeen,
    lastSeen: eventTime > group.lastSeen ? eventTime : group.lastSeen,
    sampleEventIds,
  };
}
