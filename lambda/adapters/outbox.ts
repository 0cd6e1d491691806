/**
 * The outbox over the state table: alerts (and digests) are written by the store before anything is
 * published, and leave the `pending` index only once the publisher has returned.
 *
 * An alert's `grp#` item moves `PENDING` → `SENT`. To publish, a caller first claims it with a
 * conditional write (`outboxPending = PENDING` and its lease passed, or the lease is the reservation
 * the store gave the match that opened the group) that sets a fresh lease; it publishes, then marks it
 * `SENT` only if it still holds that lease. A publish failure hands the lease back, so the next redrive
 * retries; a crash leaves the lease to expire, and the redrive publishes again. Nothing is ever
 * dropped: the worst case is one duplicate publish (a crash between publish and `SENT`).
 *
 * Digests use the same index under `DIGEST`: the store writes a `dig#` item, due at the group's
 * window end, the first time a group folds a match in. A digest is published only after its group's
 * alert is `SENT` (else it waits one lease), and the same claim → publish → mark steps apply. Marked
 * sent, a digest keeps the count it reported (`coveredCount`); a match that folds in later (a late
 * delivery, or one the sweep found) puts it back in the index, so it is reported in a second digest
 * instead of only being counted.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../engine/alerts/alert';
import type { AlertDigest, AlertPublisher } from '../engine/alerts/publisher';
import type { DynamoDbSender } from './aws-sdk';
import { awsSdk } from './aws-sdk';
import type { Item } from './dynamodb-store';
import {
  conditionalWrite,
  groupState,
  isConditionalCheckFailed,
  KEY_PREFIX,
  n,
  num,
  PENDING_KIND,
  queryPending,
  rearmDigest,
  reservationToken,
  s,
  str,
  toSeconds,
} from './dynamodb-store';

export interface DynamoDbOutboxOptions {
  readonly tableName: string;
  /** How long a claim protects a publish in progress; longer than any publish takes. @default 2 minutes */
  readonly leaseMs?: number;
  /** Most items one `redrive` or `publishDueDigests` call handles. @default 100 */
  readonly maxPerRun?: number;
  /** Items read per index page. @default 25 */
  readonly pageSize?: number;
  /**
   * After a failed publish, the item is kept at least this long from now, so TTL cannot delete an
   * alert that is still waiting to go out. @default 7 days
   */
  readonly retentionMs?: number;
}

/** What one delivery attempt did. Only DynamoDB errors throw; a publish failure is an outcome. */
export type DeliveryResult =
  | { readonly status: 'sent' }
  /** Already sent, gone, or someone else holds the lease. */
  | { readonly status: 'skipped' }
  /** The publisher threw; the item stays pending for the redrive. */
  | { readonly status: 'failed'; readonly error: unknown };

export interface OutboxRunSummary {
  /** Items found due in the index. */
  found: number;
  sent: number;
  failed: number;
  skipped: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export class DynamoDbOutbox {
  private readonly tableName: string;
  private readonly leaseMs: number;
  private readonly maxPerRun: number;
  private readonly pageSize: number;
  private readonly retentionMs: number;

  constructor(
    private readonly client: DynamoDbSender,
    private readonly publisher: AlertPublisher,
    options: DynamoDbOutboxOptions,
  ) {
    this.tableName = options.tableName;
    this.leaseMs = options.leaseMs ?? 120_000;
    this.maxPerRun = options.maxPerRun ?? 100;
    this.pageSize = options.pageSize ?? 25;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
  }

  /**
   * Publishes an alert the store just answered `alert` for. The match that opened the group holds its
   * reservation, so it publishes at once; anyone else only once the lease has passed.
   */
  async deliver(alert: Alert, now: number = Date.now()): Promise<DeliveryResult> {
    return this.deliverGroup(
      KEY_PREFIX.group + alert.dedupe.groupKey,
      now,
      reservationToken(alert.dedupe.occurrenceKey),
    );
  }

  /** Publishes every alert whose lease has passed (crashed or failed deliveries), bounded per run. */
  async redrive(now: number): Promise<OutboxRunSummary> {
    const summary: OutboxRunSummary = { found: 0, sent: 0, failed: 0, skipped: 0 };
    for await (const item of this.due(PENDING_KIND.alert, now)) {
      summary.found += 1;
      const pk = str(item, 'pk');
      const result = pk === undefined ? { status: 'skipped' as const } : await this.deliverGroup(pk, now);
      count(summary, result);
    }
    return summary;
  }

  /** Publishes the digests of groups whose window has ended and that folded in more than one match. */
  async publishDueDigests(now: number): Promise<OutboxRunSummary> {
    const summary: OutboxRunSummary = { found: 0, sent: 0, failed: 0, skipped: 0 };
    for await (const item of this.due(PENDING_KIND.digest, now)) {
      summary.found += 1;
      const pk = str(item, 'pk');
      const result = pk === undefined ? { status: 'skipped' as const } : await this.deliverDigest(pk, now);
      count(summary, result);
    }
    return summary;
  }

  private due(kind: string, now: number): AsyncGenerator<Item> {
    return queryPending(this.client, this.tableName, kind, now, this.maxPerRun, this.pageSize);
  }

  private async deliverGroup(pk: string, now: number, reservation?: string): Promise<DeliveryResult> {
    const lease = randomUUID();
    const claimed = await this.claim(pk, PENDING_KIND.alert, lease, now, reservation);
    const json = claimed && str(claimed, 'alert');
    if (!claimed || json === undefined) return { status: 'skipped' };
    try {
      await this.publisher.publishAlert(JSON.parse(json) as Alert);
    } catch (error) {
      await this.giveBack(pk, lease, now);
      return { status: 'failed', error };
    }
    await this.markSent(pk, lease, now);
    return { status: 'sent' };
  }

  private async deliverDigest(pk: string, now: number): Promise<DeliveryResult> {
    const lease = randomUUID();
    const claimed = await this.claim(pk, PENDING_KIND.digest, lease, now);
    const groupKey = claimed && str(claimed, 'groupKey');
    if (!claimed || groupKey === undefined) return { status: 'skipped' };
    const { GetItemCommand } = await awsSdk.dynamodb();
    const { Item: group } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(KEY_PREFIX.group + groupKey) },
        ConsistentRead: true,
      }),
    );
    const json = group && str(group, 'alert');
    const count = (group && num(group, 'count')) ?? 0;
    if (group === undefined || json === undefined || count < 2) {
      // Nothing to summarize (the group is gone): the digest is done.
      await this.markSent(pk, lease, now, count);
      return { status: 'skipped' };
    }
    // The alert goes out first; until it has, the claim simply lapses and a later run retries.
    if (str(group, 'outboxState') !== 'SENT') return { status: 'skipped' };
    try {
      await this.publisher.publishDigest(digestOf(group, JSON.parse(json) as Alert));
    } catch (error) {
      await this.giveBack(pk, lease, now);
      return { status: 'failed', error };
    }
    await this.markSent(pk, lease, now, count);
    // A match that folded in while this digest went out is counted in the group but not in the digest,
    // and its own attempt to schedule the digest found it pending: schedule it again for that match.
    const { Item: after } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(KEY_PREFIX.group + groupKey) },
        ConsistentRead: true,
      }),
    );
    const latest = (after && num(after, 'count')) ?? 0;
    if (latest > count) await rearmDigest(this.client, this.tableName, groupKey, latest, now);
    return { status: 'sent' };
  }

  /** Takes the lease if the item is due (or reserved for us); answers the item as it now stands. */
  private async claim(
    pk: string,
    kind: string,
    lease: string,
    now: number,
    reservation?: string,
  ): Promise<Item | undefined> {
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(pk) },
          UpdateExpression: 'SET #leaseUntil = :until, #leaseToken = :lease ADD #attempts :one',
          ConditionExpression:
            '#outboxPending = :kind AND (attribute_not_exists(#leaseUntil) OR #leaseUntil < :now' +
            (reservation === undefined ? ')' : ' OR #leaseToken = :reservation)'),
          ExpressionAttributeNames: {
            '#leaseUntil': 'leaseUntil',
            '#leaseToken': 'leaseToken',
            '#attempts': 'publishAttempts',
            '#outboxPending': 'outboxPending',
          },
          ExpressionAttributeValues: {
            ':until': n(now + this.leaseMs),
            ':lease': s(lease),
            ':one': n(1),
            ':kind': s(kind),
            ':now': n(now),
            ...(reservation === undefined ? {} : { ':reservation': s(reservation) }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /** Leaves the item pending and due now, and out of TTL's reach while it waits. */
  private async giveBack(pk: string, lease: string, now: number): Promise<void> {
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    await conditionalWrite(
      this.client,
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(pk) },
        UpdateExpression: 'SET #leaseUntil = :now REMOVE #leaseToken',
        ConditionExpression: '#leaseToken = :lease',
        ExpressionAttributeNames: { '#leaseUntil': 'leaseUntil', '#leaseToken': 'leaseToken' },
        ExpressionAttributeValues: { ':now': n(now), ':lease': s(lease) },
      }),
    );
    await conditionalWrite(
      this.client,
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(pk) },
        UpdateExpression: 'SET #expiresAt = :keep',
        ConditionExpression: 'attribute_exists(#outboxPending) AND #expiresAt < :keep',
        ExpressionAttributeNames: { '#expiresAt': 'expiresAt', '#outboxPending': 'outboxPending' },
        ExpressionAttributeValues: { ':keep': n(toSeconds(now + this.retentionMs)) },
      }),
    );
  }

  /**
   * Done, if the lease is still ours; if not, whoever took it over publishes once more at worst. A digest
   * also records how many matches it reported (`coveredCount`), so a later fold can schedule it again.
   */
  private async markSent(pk: string, lease: string, now: number, covered?: number): Promise<void> {
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    await conditionalWrite(
      this.client,
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(pk) },
        UpdateExpression:
          `SET #outboxState = :sent, #sentAt = :now${covered === undefined ? '' : ', #covered = :covered'} ` +
          'REMOVE #outboxPending, #leaseUntil, #leaseToken',
        ConditionExpression: '#leaseToken = :lease',
        ExpressionAttributeNames: {
          '#outboxState': 'outboxState',
          '#sentAt': 'sentAt',
          '#outboxPending': 'outboxPending',
          '#leaseUntil': 'leaseUntil',
          '#leaseToken': 'leaseToken',
          ...(covered === undefined ? {} : { '#covered': 'coveredCount' }),
        },
        ExpressionAttributeValues: {
          ':sent': s('SENT'),
          ':now': n(now),
          ':lease': s(lease),
          ...(covered === undefined ? {} : { ':covered': n(covered) }),
        },
      }),
    );
  }
}

/** The digest of a group as it stands now: everything folded in since its alert, the alert included. */
export function digestOf(group: Item, alert: Alert): AlertDigest {
  const state = groupState(group);
  return {
    alertId: state.alertId,
    rule: { id: alert.rule.id, name: alert.rule.name, severity: alert.rule.severity },
    groupBy: alert.dedupe.groupBy,
    windowStart: alert.dedupe.windowStart,
    windowEnd: alert.dedupe.windowEnd,
    count: state.count,
    firstSeen: state.firstSeen,
    lastSeen: state.lastSeen,
    sampleEventIds: state.sampleEventIds,
  };
}

function count(summary: OutboxRunSummary, result: DeliveryResult): void {
  if (result.status === 'sent') summary.sent += 1;
  else if (result.status === 'failed') summary.failed += 1;
  else summary.skipped += 1;
}
