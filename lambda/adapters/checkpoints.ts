/**
 * Sweep checkpoints on the state table: one `chk#<ruleId>#<source>` item per rule and source, holding the
 * start of the next window to sweep. Everything before it has been swept and its alerts are in the outbox.
 *
 * Every write is conditional on the position the writer read, so a checkpoint never moves backwards, two
 * runs of a double-fired schedule cannot both move it, and a run that failed cannot undo one that succeeded.
 * `attempt` counts failed queries of the window at `position`; it is part of the query's idempotency token,
 * so a retry after a failed query runs a fresh one while a concurrent twin of the same attempt shares it.
 * Checkpoints have no `expiresAt`: they live as long as the rule.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { SourceName } from '../engine/ecs';
import type { Item } from './dynamodb-store';
import { conditionalWrite, n, num, s, str } from './dynamodb-store';

export const CHECKPOINT_PREFIX = 'chk#';

/** Where a rule's sweep of one source stands. */
export interface Checkpoint {
  readonly ruleId: string;
  readonly source: SourceName;
  /** Epoch ms: the start of the next window. */
  readonly position: number;
  /** Failed queries of the window starting at `position`. */
  readonly attempt: number;
  /** Epoch ms of the last write. */
  readonly updatedAt: number;
  /**
   * The end of the window a run started querying from `position` and has not finished: a later run (after
   * a timeout, or a twin of a double-fired schedule) sweeps the same window, so it finds the same query.
   */
  readonly pendingEnd?: number;
}

/** What the sweep records with an advance, for operators reading the item. */
export interface AdvanceDetails {
  readonly queryExecutionId?: string;
  readonly dataScannedBytes?: number;
  readonly alertsCreated?: number;
}

/** The checkpoint operations the sweep needs; the DynamoDB implementation is below. */
export interface CheckpointStore {
  get(ruleId: string, source: SourceName): Promise<Checkpoint | undefined>;
  /** Creates the checkpoint at `position` unless one exists; answers whichever is stored. */
  create(ruleId: string, source: SourceName, position: number, now: number): Promise<Checkpoint>;
  /**
   * Records that the window `[position, end)` is being queried; false when the checkpoint moved or another
   * run recorded a different window first (re-read it and sweep that one).
   */
  begin(checkpoint: Checkpoint, end: number, now: number): Promise<boolean>;
  /** Moves `checkpoint` to `to`; false when it is no longer where the caller read it (someone else moved it). */
  advance(checkpoint: Checkpoint, to: number, now: number, details?: AdvanceDetails): Promise<boolean>;
  /**
   * Counts a failed query of the current window and forgets its pending end (the retry is a fresh query);
   * false when the checkpoint has moved meanwhile.
   */
  recordFailure(checkpoint: Checkpoint, now: number, reason: string): Promise<boolean>;
}

/** The state table key of a checkpoint. Rule ids are `[a-z0-9-]+`, so the key is unambiguous. */
export function checkpointKey(ruleId: string, source: SourceName): string {
  return `${CHECKPOINT_PREFIX}${ruleId}#${source}`;
}

/** A checkpoint write that broke the monotonic rule (a programming error, never a race). */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

const MAX_REASON_CHARS = 1000;

export class DynamoDbCheckpointStore implements CheckpointStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: { readonly tableName: string },
  ) {}

  async get(ruleId: string, source: SourceName): Promise<Checkpoint | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(checkpointKey(ruleId, source)) },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : checkpointOf(Item, ruleId, source);
  }

  async create(ruleId: string, source: SourceName, position: number, now: number): Promise<Checkpoint> {
    const created = await this.conditional(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          pk: s(checkpointKey(ruleId, source)),
          kind: s('checkpoint'),
          ruleId: s(ruleId),
          source: s(source),
          position: n(position),
          attempt: n(0),
          updatedAt: n(now),
          createdAt: n(now),
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': 'pk' },
      }),
    );
    if (created) return { ruleId, source, position, attempt: 0, updatedAt: now };
    const existing = await this.get(ruleId, source);
    if (existing === undefined) throw new CheckpointError(`${checkpointKey(ruleId, source)} vanished`);
    return existing;
  }

  async begin(checkpoint: Checkpoint, end: number, now: number): Promise<boolean> {
    if (!(end > checkpoint.position)) {
      throw new CheckpointError(`a window ends after it starts (${checkpoint.position} → ${end})`);
    }
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(checkpointKey(checkpoint.ruleId, checkpoint.source)) },
        UpdateExpression: 'SET #pendingEnd = :end, #updatedAt = :now',
        ConditionExpression:
          '#position = :from AND (attribute_not_exists(#pendingEnd) OR #pendingEnd = :end)',
        ExpressionAttributeNames: {
          '#pendingEnd': 'pendingEnd',
          '#updatedAt': 'updatedAt',
          '#position': 'position',
        },
        ExpressionAttributeValues: { ':end': n(end), ':now': n(now), ':from': n(checkpoint.position) },
      }),
    );
  }

  async advance(
    checkpoint: Checkpoint,
    to: number,
    now: number,
    details: AdvanceDetails = {},
  ): Promise<boolean> {
    if (!(to > checkpoint.position)) {
      throw new CheckpointError(`a checkpoint only moves forward (${checkpoint.position} → ${to})`);
    }
    const extra: Record<string, number | string | undefined> = {
      lastQueryExecutionId: details.queryExecutionId,
      lastDataScannedBytes: details.dataScannedBytes,
      lastAlertsCreated: details.alertsCreated,
    };
    const names: Record<string, string> = {
      '#position': 'position',
      '#attempt': 'attempt',
      '#updatedAt': 'updatedAt',
      '#lastWindowStart': 'lastWindowStart',
      '#pendingEnd': 'pendingEnd',
    };
    const values: Item = {
      ':from': n(checkpoint.position),
      ':to': n(to),
      ':zero': n(0),
      ':now': n(now),
    };
    const sets = ['#position = :to', '#attempt = :zero', '#updatedAt = :now', '#lastWindowStart = :from'];
    for (const [name, value] of Object.entries(extra)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = typeof value === 'number' ? n(value) : s(value);
      sets.push(`#${name} = :${name}`);
    }
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(checkpointKey(checkpoint.ruleId, checkpoint.source)) },
        UpdateExpression: `SET ${sets.join(', ')} REMOVE #pendingEnd`,
        ConditionExpression: '#position = :from',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async recordFailure(checkpoint: Checkpoint, now: number, reason: string): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { pk: s(checkpointKey(checkpoint.ruleId, checkpoint.source)) },
        UpdateExpression:
          'SET #attempt = #attempt + :one, #updatedAt = :now, #lastFailure = :reason, #lastFailureAt = :now REMOVE #pendingEnd',
        ConditionExpression: '#position = :from AND #attempt = :attempt',
        ExpressionAttributeNames: {
          '#attempt': 'attempt',
          '#updatedAt': 'updatedAt',
          '#lastFailure': 'lastFailure',
          '#lastFailureAt': 'lastFailureAt',
          '#position': 'position',
          '#pendingEnd': 'pendingEnd',
        },
        ExpressionAttributeValues: {
          ':one': n(1),
          ':now': n(now),
          ':reason': s(reason.slice(0, MAX_REASON_CHARS) || 'failed'),
          ':from': n(checkpoint.position),
          ':attempt': n(checkpoint.attempt),
        },
      }),
    );
  }

  /** A conditional write: true when it applied, false when its condition failed (an expected outcome). */
  private conditional(command: PutItemCommand | UpdateItemCommand): Promise<boolean> {
    return conditionalWrite(this.client, command);
  }
}

function checkpointOf(item: Item, ruleId: string, source: SourceName): Checkpoint {
  const position = num(item, 'position');
  if (position === undefined || !Number.isFinite(position)) {
    throw new CheckpointError(`${str(item, 'pk') ?? checkpointKey(ruleId, source)} has no position`);
  }
  const pendingEnd = num(item, 'pendingEnd');
  return {
    ruleId,
    source,
    position,
    attempt: num(item, 'attempt') ?? 0,
    updatedAt: num(item, 'updatedAt') ?? 0,
    ...(pendingEnd === undefined ? {} : { pendingEnd }),
  };
}
