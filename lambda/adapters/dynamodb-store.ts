/**
 * The DynamoDB detection store: dedupe and suppression state for the detect and sweep Lambdas, on the
 * one state table (lambda/README.md, "State table").
 *
 * ## Items
 * - `occ#<occurrenceKey>` — one per `rule id + event.id`. `state` is `APPLYING` while its match is
 *   being applied to its group and `APPLIED` after; `applicationId` names this application of the
 *   event (a fresh one each time the occurrence is created, kept when a claim is taken over). While
 *   `APPLYING` it is an intent log: it holds the match (`pendingMatch`, with the alert JSON) and sits
 *   in the `pending` index under `APPLYING`, `leaseUntil` = the end of the applier's claim, so the
 *   scheduled redrive can finish it if the applier dies.
 * - `grp#<groupKey>` — one per suppression group: the alert JSON, the folded summary (`count`,
 *   `firstSeen`, `lastSeen`, `sampleEventIds`), the application ids that opened it
 *   (`firstApplication`) and were last folded in (`recentApplications`), a `version` for
 *   optimistic folds, and the outbox state: `outboxState` `PENDING` → `SENT`; while pending,
 *   `outboxPending = PENDING` + `leaseUntil` (epoch ms) put it in the `pending` index.
 * - `dig#<groupKey>` — the digest of a group that folded in more than its first match: in the
 *   `pending` index under `DIGEST` with `leaseUntil` = the window's end, until the digest is sent.
 *   A separate item, so a digest's schedule never shares `outboxPending` with its alert's.
 *
 * `expiresAt` (the table's TTL) is in epoch seconds, rounded up; an item whose `expiresAt` has passed
 * (`expiresAt <= now in seconds`, which at whole seconds is exactly the memory store's
 * `expiresAt > now` for presence) counts as absent, since TTL deletion lags by up to two days. An
 * expired group whose alert is still unpublished stays live, so it is never overwritten.
 *
 * ## Why it is crash-safe without transactions
 * dynalite has no transactions and single-item writes are cheaper, so `recordMatch` is a sequence of
 * single-item conditional writes, each idempotent, ordered so that the first one records the intent:
 * 1. put `occ#` as `APPLYING` with a claim (`attribute_not_exists(pk) OR expiresAt <= :nowSeconds`).
 *    If that fails the event was seen: `APPLIED` → `duplicate`; `APPLYING` with a live claim →
 *    `duplicate` too (another delivery is applying it and, if it dies, the redrive finishes it);
 *    `APPLYING` with an expired claim → take the claim over and redo steps 2–3.
 * 2. the group step, idempotent by application id: create `grp#` conditionally (→ `alert`), or fold
 *    the match into the live group with a version-checked write (→ `suppressed`) and ensure `dig#`. A
 *    redo that finds its application id as `firstApplication` answers `alert` again, so its caller
 *    drives the outbox again (the outbox lease prevents a double publish); one found in
 *    `recentApplications` answers `suppressed` without folding again.
 * 3. mark `occ#` `APPLIED` and drop it from the index.
 * A crash before 1 leaves nothing; between 1 and 3 leaves `APPLYING`, which a retry after the claim
 * or the redrive completes through the idempotent step 2; after 3 the alert waits in the outbox as
 * `PENDING`, which `deliver` or the redrive publishes. So no alert is lost and no match is counted
 * twice; the worst case is one duplicate publish (a crash between publish and `SENT`), or a suppressed
 * count off by one if a redo comes after more than `GROUP_SAMPLE_SIZE` later folds of its group.
 *
 * Values from logs are attacker-controlled: they only ever travel as expression attribute VALUES; item
 * keys are built from the hashed keys of `matchKeys`, and every expression here is a constant.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Alert } from '../engine/alerts/alert';
import type {
  DetectionStore,
  GroupState,
  RecordMatchInput,
  RecordMatchOutcome,
} from '../engine/detector/store';
import { foldIntoGroup, GROUP_SAMPLE_SIZE } from '../engine/detector/store';
import type { DynamoDbSender } from './aws-sdk';
import { awsSdk } from './aws-sdk';

/** The names the stack and every adapter share (lambda/README.md, "State table"). */
export const STATE_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
  pendingIndex: 'pending',
  pendingIndexPartitionKey: 'outboxPending',
  pendingIndexSortKey: 'leaseUntil',
} as const;

export const KEY_PREFIX = { occurrence: 'occ#', group: 'grp#', digest: 'dig#' } as const;

/** Values of `outboxPending`, each a partition of the `pending` index. */
export const PENDING_KIND = { alert: 'PENDING', digest: 'DIGEST', applying: 'APPLYING' } as const;

/**
 * The largest alert JSON an item holds. An item may not exceed 400 KB; the rest of a group item (a
 * bounded sample of capped event ids, a few numbers and hashes) stays far below the difference.
 */
export const MAX_ALERT_JSON_BYTES = 300_000;

/** Event ids are stored capped: an id is normally a UUID, a longer one is hostile or broken. */
export const MAX_STORED_EVENT_ID_CHARS = 1024;

export type Item = Record<string, AttributeValue>;

export interface DynamoDbDetectionStoreOptions {
  readonly tableName: string;
  /**
   * How long one delivery owns an occurrence it is applying; after that a retry or the redrive may
   * take it over (the group step is idempotent, so an overlap costs nothing but a duplicate `alert`).
   * @default 30 seconds
   */
  readonly claimMs?: number;
  /**
   * How long the first match's caller has to publish its alert before the redrive may; the same
   * lease length the outbox uses. @default 2 minutes
   */
  readonly leaseMs?: number;
  /** When a group's digest becomes due, after its window's end (room for late matches). @default 0 */
  readonly digestDelayMs?: number;
  /** Version conflicts tolerated on one group before giving up with a retryable error. @default 8 */
  readonly maxGroupAttempts?: number;
}

/** A match as the group step needs it; rebuilt from an `APPLYING` occurrence by the redrive. */
interface PendingMatch {
  /**
   * Minted when the occurrence is (re)created and kept through take-overs. The group remembers the
   * applications it has seen, so a redo is recognised as one, while a new delivery after the
   * occurrence expired counts again, as in the memory store.
   */
  readonly applicationId: string;
  readonly occurrenceKey: string;
  readonly groupKey: string;
  readonly groupExpiresAt: number;
  readonly alert: Alert;
}

/** What `resumeStalled` did: matches finished on behalf of deliveries that died mid-way. */
export interface ResumeSummary {
  readonly resumed: number;
  /** Stalled matches that failed again (e.g. throttling); they stay due for the next run. */
  readonly failed: number;
  /** Alerts those matches opened, to be handed to the outbox. */
  readonly alerts: Alert[];
}

/**
 * A group kept changing under us (many concurrent matches in one group). Retryable: the caller fails
 * the record, and the next delivery tries again.
 */
export class StoreContentionError extends Error {
  override readonly name = 'StoreContentionError';
  readonly key: string;

  constructor(key: string, attempts: number) {
    super(`${key}: still conflicting after ${attempts} attempts`);
    this.key = key;
  }
}

/** An alert that cannot be made small enough for an item: not retryable, the record is poison. */
export class AlertTooLargeError extends Error {
  override readonly name = 'AlertTooLargeError';
  readonly alertId: string;

  constructor(alertId: string, bytes: number) {
    super(`alert ${alertId} is ${bytes} bytes even after cutting, over ${MAX_ALERT_JSON_BYTES}`);
    this.alertId = alertId;
  }
}

const DUPLICATE: RecordMatchOutcome = { outcome: 'duplicate' };

export class DynamoDbDetectionStore implements DetectionStore {
  private readonly tableName: string;
  private readonly claimMs: number;
  private readonly leaseMs: number;
  private readonly digestDelayMs: number;
  private readonly maxGroupAttempts: number;

  constructor(
    private readonly client: DynamoDbSender,
    options: DynamoDbDetectionStoreOptions,
  ) {
    this.tableName = options.tableName;
    this.claimMs = options.claimMs ?? 30_000;
    this.leaseMs = options.leaseMs ?? 120_000;
    this.digestDelayMs = options.digestDelayMs ?? 0;
    this.maxGroupAttempts = options.maxGroupAttempts ?? 8;
  }

  async recordMatch(input: RecordMatchInput): Promise<RecordMatchOutcome> {
    const match: PendingMatch = {
      applicationId: randomUUID(),
      occurrenceKey: input.occurrenceKey,
      groupKey: input.groupKey,
      groupExpiresAt: input.groupExpiresAt,
      alert: input.alert,
    };
    const claim = randomUUID();
    const pk = KEY_PREFIX.occurrence + input.occurrenceKey;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (await this.putOccurrence(match, input, claim)) return this.applyClaimed(match, claim, input.now);
      const existing = await this.getItem(pk);
      // Gone (TTL) or expired since our put failed: the put may now succeed.
      if (existing === undefined || isExpired(existing, input.now)) continue;
      if (str(existing, 'state') !== 'APPLYING') return DUPLICATE;
      if ((num(existing, 'leaseUntil') ?? 0) >= input.now) return DUPLICATE;
      const applicationId = str(existing, 'applicationId');
      if (applicationId === undefined) return DUPLICATE;
      if (!(await this.takeOver(pk, str(existing, 'claimToken'), claim, input.now))) return DUPLICATE;
      return this.applyClaimed({ ...match, applicationId }, claim, input.now);
    }
    throw new StoreContentionError(pk, 3);
  }

  /**
   * Finishes matches whose applier died (an `APPLYING` occurrence whose claim has expired). Called by
   * the scheduled redrive before it re-drives the outbox, so the alerts returned here go out in the
   * same run. Bounded per call; what is left waits for the next run.
   */
  async resumeStalled(now: number, limit = 100): Promise<ResumeSummary> {
    const alerts: Alert[] = [];
    let resumed = 0;
    let failed = 0;
    for await (const item of queryPending(this.client, this.tableName, PENDING_KIND.applying, now, limit)) {
      const pk = str(item, 'pk');
      const pending = str(item, 'pendingMatch');
      if (pk === undefined || pending === undefined) continue;
      const claim = randomUUID();
      if (!(await this.takeOver(pk, str(item, 'claimToken'), claim, now))) continue;
      try {
        const outcome = await this.applyClaimed(JSON.parse(pending) as PendingMatch, claim, now);
        resumed += 1;
        if (outcome.outcome === 'alert') alerts.push(outcome.alert);
      } catch {
        // `applyClaimed` handed the claim back: the next run tries this one again.
        failed += 1;
      }
    }
    return { resumed, failed, alerts };
  }

  /** Step 1: the occurrence as an intent, unless a live one exists. */
  private async putOccurrence(match: PendingMatch, input: RecordMatchInput, claim: string): Promise<boolean> {
    const pendingMatch: PendingMatch = { ...match, alert: fitAlert(match.alert).alert };
    const { PutItemCommand } = await awsSdk.dynamodb();
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(KEY_PREFIX.occurrence + input.occurrenceKey),
          kind: s('occurrence'),
          state: s('APPLYING'),
          ruleId: s(input.alert.rule.id),
          eventId: s(capEventId(input.alert.event.id)),
          groupKey: s(input.groupKey),
          applicationId: s(match.applicationId),
          expiresAt: n(toSeconds(input.occurrenceExpiresAt)),
          outboxPending: s(PENDING_KIND.applying),
          leaseUntil: n(input.now + this.claimMs),
          claimToken: s(claim),
          pendingMatch: s(JSON.stringify(pendingMatch)),
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :nowSeconds',
        ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':nowSeconds': n(nowSeconds(input.now)) },
      }),
    );
  }

  /** Moves a stalled claim to us, only if nobody else moved it first. */
  private async takeOver(
    pk: string,
    previous: string | undefined,
    claim: string,
    now: number,
  ): Promise<boolean> {
    if (previous === undefined) return false;
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(pk) },
        UpdateExpression: 'SET #claimToken = :claim, #leaseUntil = :until',
        ConditionExpression: '#state = :applying AND #claimToken = :previous AND #leaseUntil < :now',
        ExpressionAttributeNames: {
          '#claimToken': 'claimToken',
          '#leaseUntil': 'leaseUntil',
          '#state': 'state',
        },
        ExpressionAttributeValues: {
          ':claim': s(claim),
          ':until': n(now + this.claimMs),
          ':applying': s('APPLYING'),
          ':previous': s(previous),
          ':now': n(now),
        },
      }),
    );
  }

  /** Steps 2 and 3 for an occurrence we hold the claim of. */
  private async applyClaimed(match: PendingMatch, claim: string, now: number): Promise<RecordMatchOutcome> {
    let outcome: RecordMatchOutcome;
    try {
      outcome = await this.applyToGroup(match, now);
    } catch (error) {
      // Still alive: hand the claim back so the retry of this record can redo the step at once.
      await this.releaseClaim(match.occurrenceKey, claim).catch(() => undefined);
      throw error;
    }
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(KEY_PREFIX.occurrence + match.occurrenceKey) },
        UpdateExpression:
          'SET #state = :applied REMOVE #outboxPending, #leaseUntil, #claimToken, #pendingMatch',
        ConditionExpression: '#claimToken = :claim',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#outboxPending': 'outboxPending',
          '#leaseUntil': 'leaseUntil',
          '#claimToken': 'claimToken',
          '#pendingMatch': 'pendingMatch',
        },
        ExpressionAttributeValues: { ':applied': s('APPLIED'), ':claim': s(claim) },
      }),
    );
    // A failed condition means someone took the claim over and redid the same idempotent step.
    return outcome;
  }

  private async releaseClaim(occurrenceKey: string, claim: string): Promise<void> {
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(KEY_PREFIX.occurrence + occurrenceKey) },
        UpdateExpression: 'SET #leaseUntil = :zero',
        ConditionExpression: '#claimToken = :claim AND #state = :applying',
        ExpressionAttributeNames: {
          '#leaseUntil': 'leaseUntil',
          '#claimToken': 'claimToken',
          '#state': 'state',
        },
        ExpressionAttributeValues: { ':zero': n(0), ':claim': s(claim), ':applying': s('APPLYING') },
      }),
    );
  }

  /** Step 2: idempotent by content, so a redo after a crash or an overlapping taker is harmless. */
  private async applyToGroup(match: PendingMatch, now: number): Promise<RecordMatchOutcome> {
    const pk = KEY_PREFIX.group + match.groupKey;
    for (let attempt = 0; attempt < this.maxGroupAttempts; attempt += 1) {
      const group = await this.getItem(pk);
      if (group === undefined || !isLiveGroup(group, now)) {
        if (await this.createGroup(match, group, now)) return { outcome: 'alert', alert: match.alert };
        continue;
      }
      if (str(group, 'firstApplication') === match.applicationId)
        return { outcome: 'alert', alert: match.alert };
      const state = groupState(group);
      if (strList(group, 'recentApplications').includes(match.applicationId)) {
        await this.ensureDigest(match.groupKey, group, now, state.count);
        return { outcome: 'suppressed', alertId: state.alertId, count: state.count };
      }
      const { id, time } = match.alert.event;
      const folded = foldIntoGroup(state, capEventId(id), time);
      if (await this.foldGroup(pk, group, folded, match.applicationId)) {
        await this.ensureDigest(match.groupKey, group, now, folded.count);
        return { outcome: 'suppressed', alertId: folded.alertId, count: folded.count };
      }
      await pause(attempt);
    }
    throw new StoreContentionError(pk, this.maxGroupAttempts);
  }

  private async createGroup(match: PendingMatch, previous: Item | undefined, now: number): Promise<boolean> {
    const { alert } = match;
    const fitted = fitAlert(alert);
    const version = (num(previous ?? {}, 'version') ?? 0) + 1;
    const { PutItemCommand } = await awsSdk.dynamodb();
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(KEY_PREFIX.group + match.groupKey),
          kind: s('group'),
          alertId: s(alert.id),
          ruleId: s(alert.rule.id),
          alert: s(fitted.json),
          alertTruncated: { BOOL: fitted.truncated },
          count: n(1),
          firstSeen: s(alert.event.time),
          lastSeen: s(alert.event.time),
          sampleEventIds: strs([capEventId(alert.event.id)]),
          recentApplications: strs([match.applicationId]),
          firstApplication: s(match.applicationId),
          firstOccurrenceKey: s(match.occurrenceKey),
          windowEnd: n(Date.parse(alert.dedupe.windowEnd) || now),
          expiresAt: n(toSeconds(match.groupExpiresAt)),
          version: n(version),
          outboxState: s('PENDING'),
          outboxPending: s(PENDING_KIND.alert),
          // Reserved for this match's own delivery; the redrive may claim it once the lease passes.
          leaseUntil: n(now + this.leaseMs),
          leaseToken: s(reservationToken(match.occurrenceKey)),
        },
        // Never overwrite a live group, nor an expired one whose alert is still unpublished.
        ConditionExpression:
          'attribute_not_exists(#pk) OR (#expiresAt <= :nowSeconds AND attribute_not_exists(#outboxPending))',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#expiresAt': 'expiresAt',
          '#outboxPending': 'outboxPending',
        },
        ExpressionAttributeValues: { ':nowSeconds': n(nowSeconds(now)) },
      }),
    );
  }

  private async foldGroup(
    pk: string,
    group: Item,
    folded: GroupState,
    applicationId: string,
  ): Promise<boolean> {
    const recent = [...strList(group, 'recentApplications'), applicationId].slice(-GROUP_SAMPLE_SIZE);
    const { UpdateItemCommand } = await awsSdk.dynamodb();
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(pk) },
        UpdateExpression:
          'SET #firstSeen = :firstSeen, #lastSeen = :lastSeen, #sample = :sample, #recent = :recent ' +
          'ADD #count :one, #version :one',
        ConditionExpression: '#version = :version',
        ExpressionAttributeNames: {
          '#firstSeen': 'firstSeen',
          '#lastSeen': 'lastSeen',
          '#sample': 'sampleEventIds',
          '#recent': 'recentApplications',
          '#count': 'count',
          '#version': 'version',
        },
        ExpressionAttributeValues: {
          ':firstSeen': s(folded.firstSeen),
          ':lastSeen': s(folded.lastSeen),
          ':sample': strs(folded.sampleEventIds),
          ':recent': strs(recent),
          ':one': n(1),
          ':version': n(num(group, 'version') ?? 0),
        },
      }),
    );
  }

  /**
   * Schedules the group's digest at its window's end; a no-op if it is already scheduled, or was sent
   * with at least `count` matches in it. One sent before this match folded in (a late delivery, or the
   * sweep's find) is scheduled again, so the match is reported rather than only counted.
   */
  private async ensureDigest(groupKey: string, group: Item, now: number, count: number): Promise<void> {
    const windowEnd = num(group, 'windowEnd') ?? now;
    const { PutItemCommand } = await awsSdk.dynamodb();
    const created = await this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(KEY_PREFIX.digest + groupKey),
          kind: s('digest'),
          groupKey: s(groupKey),
          state: s('PENDING'),
          outboxPending: s(PENDING_KIND.digest),
          leaseUntil: n(windowEnd + this.digestDelayMs),
          expiresAt: n(num(group, 'expiresAt') ?? toSeconds(now)),
        },
        ConditionExpression:
          'attribute_not_exists(#pk) OR (#expiresAt <= :nowSeconds AND attribute_not_exists(#outboxPending))',
        ExpressionAttributeNames: {
          '#pk': 'pk',
          '#expiresAt': 'expiresAt',
          '#outboxPending': 'outboxPending',
        },
        ExpressionAttributeValues: { ':nowSeconds': n(nowSeconds(now)) },
      }),
    );
    if (!created) {
      await rearmDigest(
        this.client,
        this.tableName,
        groupKey,
        count,
        Math.max(windowEnd + this.digestDelayMs, now),
      );
    }
  }

  private async getItem(pk: string): Promise<Item | undefined> {
    const { GetItemCommand } = await awsSdk.dynamodb();
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: s(pk) }, ConsistentRead: true }),
    );
    return Item;
  }

  /** Runs a conditional write; a failed condition is an expected answer (`false`), not an error. */
  private conditional(command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
    return conditionalWrite(this.client, command);
  }
}

/** Runs a conditional write; a failed condition is an expected answer (`false`), not an error. */
export async function conditionalWrite(
  client: DynamoDbSender,
  command: PutItemCommand | UpdateItemCommand,
): Promise<boolean> {
  // The command was built from the package, so it is loaded: this only picks the right `send` overload.
  const { PutItemCommand } = await awsSdk.dynamodb();
  try {
    if (command instanceof PutItemCommand) await client.send(command);
    else await client.send(command);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Items of one `pending` partition whose `leaseUntil` has passed, oldest first, page by page, at most
 * `limit` of them: a run stays bounded however much piled up, and the rest waits for the next run.
 */
export async function* queryPending(
  client: DynamoDbSender,
  tableName: string,
  kind: string,
  now: number,
  limit: number,
  pageSize = 25,
): AsyncGenerator<Item> {
  const { QueryCommand } = await awsSdk.dynamodb();
  let seen = 0;
  let startKey: Item | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: STATE_TABLE.pendingIndex,
        KeyConditionExpression: '#outboxPending = :kind AND #leaseUntil < :now',
        ExpressionAttributeNames: { '#outboxPending': 'outboxPending', '#leaseUntil': 'leaseUntil' },
        ExpressionAttributeValues: { ':kind': s(kind), ':now': n(now) },
        Limit: Math.min(pageSize, limit - seen),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      seen += 1;
      yield item;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined && seen < limit);
}

/**
 * Puts a digest that was already sent back in the `pending` index, due at `due`, if its group now holds
 * more than the `coveredCount` matches it reported (`count`). A no-op while the digest is pending: the
 * publish reads the group's count when it goes out. True when it was scheduled again.
 */
export async function rearmDigest(
  client: DynamoDbSender,
  tableName: string,
  groupKey: string,
  count: number,
  due: number,
): Promise<boolean> {
  const { UpdateItemCommand } = await awsSdk.dynamodb();
  return conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: s(KEY_PREFIX.digest + groupKey) },
      UpdateExpression: 'SET #outboxPending = :digest, #leaseUntil = :due',
      ConditionExpression:
        'attribute_exists(#pk) AND attribute_not_exists(#outboxPending) AND ' +
        '(attribute_not_exists(#covered) OR #covered < :count)',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        '#outboxPending': 'outboxPending',
        '#leaseUntil': 'leaseUntil',
        '#covered': 'coveredCount',
      },
      ExpressionAttributeValues: { ':digest': s(PENDING_KIND.digest), ':due': n(due), ':count': n(count) },
    }),
  );
}

/** The lease token a group is created with: only the delivery of the match that opened it holds it. */
export function reservationToken(occurrenceKey: string): string {
  return `reserved#${occurrenceKey}`;
}

/** The group summary as `foldIntoGroup` sees it. */
export function groupState(item: Item): GroupState {
  return {
    alertId: str(item, 'alertId') ?? '',
    ruleId: str(item, 'ruleId') ?? '',
    count: num(item, 'count') ?? 0,
    firstSeen: str(item, 'firstSeen') ?? '',
    lastSeen: str(item, 'lastSeen') ?? '',
    sampleEventIds: strList(item, 'sampleEventIds'),
    expiresAt: (num(item, 'expiresAt') ?? 0) * 1000,
  };
}

/**
 * The alert as an item can hold it. Too large, its `document` (the whole normalized event) is cut to
 * the fields every alert needs and marked `truncated`; still too large (hostile multi-kilobyte
 * values), every long string is cut too. The alert stays publishable either way. A document nested
 * too deeply to serialize at all (raw fields are kept as they arrived, and JSON nests thousands of
 * levels in a few kilobytes) is cut the same way: the match must alert, not be retried until the
 * stream gives up on it.
 */
export function fitAlert(alert: Alert): { alert: Alert; json: string; truncated: boolean } {
  const json = serialize(alert);
  const originalBytes = json === undefined ? undefined : Buffer.byteLength(json);
  if (json !== undefined && originalBytes !== undefined && originalBytes <= MAX_ALERT_JSON_BYTES) {
    return { alert, json, truncated: false };
  }
  const { document } = alert;
  const skeleton = {
    '@timestamp': document['@timestamp'],
    event: document.event,
    cloud: { provider: document.cloud.provider },
    truncated:
      originalBytes === undefined
        ? { reason: 'the raw event is nested too deeply to store' }
        : { reason: `the alert exceeded ${MAX_ALERT_JSON_BYTES} bytes`, originalBytes },
  };
  let cut: Alert = { ...alert, document: skeleton as Alert['document'] };
  let cutJson = JSON.stringify(cut);
  if (Buffer.byteLength(cutJson) > MAX_ALERT_JSON_BYTES) {
    cut = capStrings(cut, 1024) as Alert;
    cutJson = JSON.stringify(cut);
  }
  const bytes = Buffer.byteLength(cutJson);
  if (bytes > MAX_ALERT_JSON_BYTES) throw new AlertTooLargeError(alert.id, bytes);
  return { alert: cut, json: cutJson, truncated: true };
}

/** The alert's JSON, or `undefined` when it nests deeper than `JSON.stringify`'s stack allows. */
function serialize(alert: Alert): string | undefined {
  try {
    return JSON.stringify(alert);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function capStrings(value: unknown, max: number): unknown {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…[truncated]` : value;
  if (Array.isArray(value)) return value.map((item) => capStrings(item, max));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, capStrings(item, max)]));
  }
  return value;
}

function isExpired(item: Item, now: number): boolean {
  const expiresAt = num(item, 'expiresAt');
  return expiresAt !== undefined && expiresAt <= nowSeconds(now);
}

/** A group is live until it expires, and for as long after as its alert is still unpublished. */
function isLiveGroup(item: Item, now: number): boolean {
  return !isExpired(item, now) || str(item, 'outboxPending') !== undefined;
}

function capEventId(id: string): string {
  return id.length > MAX_STORED_EVENT_ID_CHARS ? id.slice(0, MAX_STORED_EVENT_ID_CHARS) : id;
}

/** Rounded up, so TTL never removes an item before the store itself stops seeing it. */
export function toSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function nowSeconds(now: number): number {
  return Math.floor(now / 1000);
}

/** Backs off a little, with jitter, before re-reading a group another writer just changed. */
function pause(attempt: number): Promise<void> {
  const ms = Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function s(value: string): AttributeValue {
  return { S: value };
}

export function n(value: number): AttributeValue {
  return { N: String(value) };
}

function strs(values: readonly string[]): AttributeValue {
  return { L: values.map((value) => ({ S: value })) };
}

export function str(item: Item, name: string): string | undefined {
  const value = item[name];
  return value !== undefined && 'S' in value ? value.S : undefined;
}

export function num(item: Item, name: string): number | undefined {
  const value = item[name];
  return value !== undefined && 'N' in value && value.N !== undefined ? Number(value.N) : undefined;
}

export function strList(item: Item, name: string): string[] {
  const value = item[name];
  if (value === undefined || !('L' in value) || value.L === undefined) return [];
  return value.L.flatMap((entry) => ('S' in entry && entry.S !== undefined ? [entry.S] : []));
}
