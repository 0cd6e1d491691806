import { createHash, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SlackMessage } from '../engine/alerts/render-slack';
import type { SecretSource } from './secrets';

/*
 * The webhook URL is a bearer credential: whoever has it can post to the channel. Nothing in this
 * module puts it, or the secret it came from, into an error message, an error property or a cause,
 * because the logger prints all three. Errors describe what happened in our own words.
 */

/** A Block Kit message, or the plain-text fallback sent when Slack rejects the blocks. */
export type SlackWebhookPayload = SlackMessage | Omit<SlackMessage, 'blocks'>;

/** The Slack webhook could not be used; `retryable` says whether trying again later can help. */
export class SlackWebhookError extends Error {
  override readonly name: string = 'SlackWebhookError';
  constructor(
    message: string,
    readonly retryable: boolean,
    /** HTTP status, when Slack answered. */
    readonly status?: number,
    /** Slack's short error code from the response body (`invalid_blocks`, `no_service`, …). */
    readonly slackError?: string,
  ) {
    super(message);
  }
}

/** Slack answered 400: this payload will never be accepted, so send something simpler instead. */
export class SlackPayloadRejectedError extends SlackWebhookError {
  override readonly name = 'SlackPayloadRejectedError';
}

/** The secret does not hold a usable webhook URL. */
export class SlackWebhookConfigError extends Error {
  override readonly name = 'SlackWebhookConfigError';
}

/**
 * Only `https://hooks.slack.com/…` is accepted: a secret pointing anywhere else (a typo, or someone
 * who can write the secret but not the code) must not receive alert contents.
 */
export function isSlackWebhookUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.hostname === 'hooks.slack.com' &&
    url.port === '' &&
    url.username === '' &&
    url.password === '' &&
    url.pathname.length > 1
  );
}

/**
 * The webhook URL from the secret's value: either the bare URL or JSON `{ "webhookUrl": "…" }`.
 * Parse errors are not passed on as causes: a JSON parser quotes the text it failed on.
 */
export function webhookUrlFromSecret(secretString: string): string {
  const text = secretString.trim();
  let candidate: unknown = text;
  if (text.startsWith('{')) {
    try {
      candidate = (JSON.parse(text) as { webhookUrl?: unknown }).webhookUrl;
    } catch {
      throw new SlackWebhookConfigError('the Slack webhook secret starts with "{" but is not valid JSON');
    }
  }
  if (typeof candidate !== 'string' || !isSlackWebhookUrl(candidate.trim())) {
    throw new SlackWebhookConfigError(
      'the Slack webhook secret must be an https://hooks.slack.com/… URL or JSON {"webhookUrl": "https://hooks.slack.com/…"}',
    );
  }
  return candidate.trim();
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); one second when absent or odd. */
export function retryAfterMs(header: string | null, now: number): number {
  if (header === null) return 1000;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(date - now, 0) : 1000;
}

export interface SlackWebhookOptions {
  readonly secret: SecretSource;
  /** Global `fetch` by default; tests inject their own. */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Longest wait for one HTTP request. */
  readonly requestTimeoutMs?: number;
  /** How many 429 answers are waited out before giving up to the caller's retry. */
  readonly maxRateLimitRetries?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Less time than this left: do not start a request that would be cut off mid-way. */
const MIN_REQUEST_MS = 1000;

/** A short, printable excerpt of Slack's answer (`invalid_blocks`, `no_service`): never the request. */
function slackErrorCode(body: string): string {
  return body.replace(/[^A-Za-z0-9_ .:-]/g, '').slice(0, 100);
}

/**
 * Posts messages to a Slack incoming webhook whose URL lives in Secrets Manager. Waits out HTTP 429
 * within the caller's deadline, re-reads the secret once after 403/404/410 (the webhook was rotated
 * or revoked), and throws on anything else so the SNS → Lambda retry can try again.
 */
export class SlackWebhookClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SlackWebhookOptions) {
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  /** Posts `message`; returns after Slack accepted it (2xx), throws otherwise. `deadline` is epoch ms. */
  async post(message: SlackWebhookPayload, deadline: number): Promise<void> {
    const body = JSON.stringify(message);
    let url = webhookUrlFromSecret(await this.options.secret.get());
    let refreshed = false;
    let rateLimited = 0;
    for (;;) {
      const response = await this.request(url, body, deadline);
      const answer = slackErrorCode(await response.text().catch(() => ''));
      if (response.status >= 200 && response.status < 300) return;
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get('retry-after'), this.now());
        const maxRetries = this.options.maxRateLimitRetries ?? 3;
        if (rateLimited >= maxRetries || this.now() + wait + MIN_REQUEST_MS > deadline) {
          throw new SlackWebhookError(
            `Slack rate-limited the webhook (retry after ${Math.ceil(wait / 1000)} s) and the time left is too short to wait`,
            true,
            429,
            answer,
          );
        }
        rateLimited += 1;
        await this.sleep(wait);
        continue;
      }
      if ((response.status === 403 || response.status === 404 || response.status === 410) && !refreshed) {
        refreshed = true;
        const fresh = webhookUrlFromSecret(await this.options.secret.refresh());
        if (fresh !== url) {
          url = fresh;
          continue;
        }
      }
      if (response.status === 400) {
        throw new SlackPayloadRejectedError(`Slack rejected the message (400 ${answer})`, false, 400, answer);
      }
      throw new SlackWebhookError(
        `Slack answered ${response.status} ${answer}`.trimEnd(),
        response.status >= 500 ||
          response.status === 403 ||
          response.status === 404 ||
          response.status === 410,
        response.status,
        answer,
      );
    }
  }

  private async request(url: string, body: string, deadline: number): Promise<Response> {
    const left = deadline - this.now();
    if (left < MIN_REQUEST_MS) {
      throw new SlackWebhookError('no time left in this invocation to post to Slack', true);
    }
    try {
      return await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(
          Math.min(left, this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
        ),
      });
    } catch (error) {
      // The cause is dropped on purpose: fetch errors may quote the URL they failed on.
      throw new SlackWebhookError(
        `the request to the Slack webhook failed (${networkErrorCode(error)})`,
        true,
      );
    }
  }
}

function networkErrorCode(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const cause = error.cause as { code?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : error.name;
  return code.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40) || 'unknown error';
}

/* --------------------------------- Delivery ledger (dedupe) --------------------------------- */

/** What a claim found. `in-progress`: another invocation holds an unexpired claim and may be posting. */
export type ClaimOutcome =
  | { readonly outcome: 'claimed'; readonly token: string }
  | { readonly outcome: 'posted' }
  | { readonly outcome: 'in-progress'; readonly claimUntil: number };

/** How long a delivery record is kept: longer than SNS's and the outbox's retries can last. */
export const DEFAULT_LEDGER_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** The state-table key for one Slack delivery; long or odd ids are hashed to stay a valid, bounded key. */
export function slackDeliveryKey(kind: 'alert' | 'digest', id: string): string {
  const safe = /^[\x21-\x7e]{1,200}$/.test(id)
    ? id
    : `sha256:${createHash('sha256').update(id).digest('hex')}`;
  return `slack#${kind}#${safe}`;
}

/**
 * Remembers which alerts were posted to Slack, so an SNS redelivery or an outbox re-publish does not
 * post twice. The order is claim → post → mark posted:
 *
 * 1. `claim` writes `slack#…` as CLAIMED with a lease, conditionally: only if the item is absent, its
 *    TTL has passed (TTL deletion lags), or it is an expired claim that never reached POSTED.
 * 2. The caller posts.
 * 3. `markPosted` sets POSTED; if posting failed, `release` deletes the claim so a retry goes at once.
 *
 * A crash between 1 and 3 leaves a claim whose lease runs out, and the next retry posts: the post is
 * never lost. A crash between a successful post and 3 makes that retry post again: at worst one
 * duplicate, the same trade the outbox makes. The lease must outlast the invocation that holds it.
 */
export class SlackDeliveryLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retentionSeconds = DEFAULT_LEDGER_RETENTION_SECONDS,
  ) {}

  async claim(
    key: string,
    input: { now: number; claimUntil: number; snsMessageId: string },
  ): Promise<ClaimOutcome> {
    const token = randomUUID();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: key },
            state: { S: 'CLAIMED' },
            claimToken: { S: token },
            claimUntil: { N: String(input.claimUntil) },
            snsMessageId: { S: input.snsMessageId.slice(0, 200) || 'unknown' },
            expiresAt: { N: String(Math.floor(input.now / 1000) + this.retentionSeconds) },
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR (#state = :claimed AND claimUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':nowSeconds': { N: String(Math.floor(input.now / 1000)) },
            ':now': { N: String(input.now) },
            ':claimed': { S: 'CLAIMED' },
          },
        }),
      );
      return { outcome: 'claimed', token };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    if (Item?.state?.S === 'POSTED') return { outcome: 'posted' };
    // Absent now (released meanwhile) or claimed by someone else: let the caller's retry decide later.
    return { outcome: 'in-progress', claimUntil: Number(Item?.claimUntil?.N ?? input.now) };
  }

  async markPosted(key: string, now: number): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: key } },
        UpdateExpression:
          'SET #state = :posted, postedAt = :now, expiresAt = if_not_exists(expiresAt, :expiresAt) ' +
          'REMOVE claimToken, claimUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':posted': { S: 'POSTED' },
          ':now': { N: String(now) },
          ':expiresAt': { N: String(Math.floor(now / 1000) + this.retentionSeconds) },
        },
      }),
    );
  }

  /** Gives up a claim after a failed post; a claim someone else took over is left alone. */
  async release(key: string, token: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: key } },
          ConditionExpression: 'claimToken = :token AND #state = :claimed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':token': { S: token }, ':claimed': { S: 'CLAIMED' } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
