import type { DetectionStore, GroupState, RecordMatchInput, RecordMatchOutcome } from './store';
import { foldIntoGroup } from './store';

/** Everything a memory store holds, in a shape that serializes to JSON as is. */
export interface MemoryStoreSnapshot {
  version: 1;
  occurrences: Record<string, number>;
  groups: Record<string, GroupState>;
}

/**
 * The embedded store: the same decisions as the DynamoDB store, held in maps. The local detector
 * persists its snapshot between runs (`--state`); tests use it as the reference behaviour.
 */
export class MemoryStore implements DetectionStore {
  private readonly occurrences = new Map<string, number>();
  private readonly groups = new Map<string, GroupState>();

  constructor(snapshot?: MemoryStoreSnapshot, now = Date.now()) {
    if (!snapshot) return;
    for (const [key, expiresAt] of Object.entries(snapshot.occurrences)) {
      if (expiresAt > now) this.occurrences.set(key, expiresAt);
    }
    for (const [key, group] of Object.entries(snapshot.groups)) {
      if (group.expiresAt > now) this.groups.set(key, group);
    }
  }

  async recordMatch(input: RecordMatchInput): Promise<RecordMatchOutcome> {
    const seenUntil = this.occurrences.get(input.occurrenceKey);
    if (seenUntil !== undefined && seenUntil > input.now) return { outcome: 'duplicate' };
    this.occurrences.set(input.occurrenceKey, input.occurrenceExpiresAt);

    const group = this.groups.get(input.groupKey);
    const { event } = input.alert;
    if (group !== undefined && group.expiresAt > input.now) {
      const folded = foldIntoGroup(group, event.id, event.time);
      this.groups.set(input.groupKey, folded);
      return { outcome: 'suppressed', alertId: folded.alertId, count: folded.count };
    }
    this.groups.set(input.groupKey, {
      alertId: input.alert.id,
      ruleId: input.alert.rule.id,
      count: 1,
      firstSeen: event.time,
      lastSeen: event.time,
      sampleEventIds: [event.id],
      expiresAt: input.groupExpiresAt,
    });
    return { outcome: 'alert', alert: input.alert };
  }

  /** Groups that folded in more than their first match: what a digest reports. */
  digests(): GroupState[] {
    return [...this.groups.values()].filter((group) => group.count > 1);
  }

  snapshot(): MemoryStoreSnapshot {
    return {
      version: 1,
      occurrences: Object.fromEntries(this.occurrences),
      groups: Object.fromEntries(this.groups),
    };
  }
}
