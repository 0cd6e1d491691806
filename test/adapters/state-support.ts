/**
 * Helpers for the adapter and handler suites: match inputs built the way the detector builds them,
 * a publisher that records (and can fail), and fault injection on a real DynamoDB client.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { Item } from '../../lambda/adapters/dynamodb-store';
import type { Alert } from '../../lambda/engine/alerts/alert';
import { buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import type { AlertDigest, AlertPublisher } from '../../lambda/engine/alerts/publisher';
import type { DetectorRule } from '../../lambda/engine/detector/detector';
import type { RecordMatchInput } from '../../lambda/engine/detector/store';
import type { NormalizedEvent } from '../../lambda/engine/ecs';
import { keyDeletionRule } from '../support/events';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** 2026-11-28T09:00:00Z, a whole second, so second-rounded expiries agree with millisecond ones. */
export const T0 = Date.parse('2026-11-28T09:00:00.000Z');

/** What `Detector.decide` hands the store for this event, at `now`. */
export function matchInput(
  normalized: NormalizedEvent,
  now: number,
  options: { rule?: DetectorRule; occurrenceTtlMs?: number } = {},
): RecordMatchInput {
  const rule = options.rule ?? keyDeletionRule();
  const keys = matchKeys(rule, normalized.doc);
  return {
    occurrenceKey: keys.occurrenceKey,
    occurrenceExpiresAt: now + (options.occurrenceTtlMs ?? 7 * DAY_MS),
    groupKey: keys.groupKey,
    groupExpiresAt: Math.max(now, keys.windowEnd) + rule.suppression.windowMs,
    alert: buildAlert(rule, normalized, keys),
    now,
  };
}

/** Records what it published; fails while `failuresLeft` is positive, or whenever `fail` says so. */
export class RecordingPublisher implements AlertPublisher {
  readonly attempts: Alert[] = [];
  readonly alerts: Alert[] = [];
  readonly digests: AlertDigest[] = [];
  failuresLeft = 0;
  /** Called after a successful publish, e.g. to arm a fault for the write that follows it. */
  afterPublish: () => void = () => undefined;

  async publishAlert(alert: Alert): Promise<void> {
    this.attempts.push(alert);
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('SNS is unavailable');
    }
    this.alerts.push(alert);
    this.afterPublish();
  }

  async publishDigest(digest: AlertDigest): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('SNS is unavailable');
    }
    this.digests.push(digest);
  }
}

export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

/**
 * Fault injection at the client: after `arm(n)`, the first `n` calls go through and every later one
 * throws, as if the process died there (nothing after it reaches DynamoDB). `when` narrows which
 * calls fail instead (e.g. throttling on one record's items).
 */
export class Faults {
  private budget: number | undefined;
  calls = 0;
  fired = 0;
  when: ((input: Record<string, unknown>, command: string) => Error | undefined) | undefined;

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const targeted = this.when?.(input, context.commandName ?? '');
        if (targeted) {
          this.fired += 1;
          throw targeted;
        }
        if (this.budget !== undefined) {
          if (this.budget <= 0) {
            this.fired += 1;
            throw new InjectedCrash(`crashed before ${context.commandName}`);
          }
          this.budget -= 1;
        }
        this.calls += 1;
        return next(args);
      },
      { step: 'initialize', name: 'testFaults' },
    );
  }

  arm(callsBeforeCrash: number): void {
    this.budget = callsBeforeCrash;
    this.fired = 0;
  }

  disarm(): void {
    this.budget = undefined;
    this.when = undefined;
  }
}

export async function getItem(client: DynamoDBClient, table: string, pk: string): Promise<Item | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item;
}

/** Everything in one partition of the `pending` index, due or not. */
export async function pendingItems(client: DynamoDBClient, table: string, kind: string): Promise<Item[]> {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: table,
      IndexName: 'pending',
      KeyConditionExpression: 'outboxPending = :kind',
      ExpressionAttributeValues: { ':kind': { S: kind } },
    }),
  );
  return Items ?? [];
}
