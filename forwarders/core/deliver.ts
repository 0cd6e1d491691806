/**
 * Puts entries into a stream and retries only what failed: entries that came back with a retryable
 * `ErrorCode` (`ProvisionedThroughputExceededException`, `InternalFailure`, KMS throttling) and every entry
 * of a call that failed as a whole with a retryable error (throttling, 5xx, network, timeouts), with
 * jittered exponential backoff between rounds, until a time budget runs out. Each round re-packs what is
 * left, so retries also stay within the call limits. What fails for good, or is still failing when the
 * budget runs out, is returned as undelivered for the caller to report; nothing is dropped here.
 */
import { PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { type BackoffOptions, backoffDelay, sleep as defaultSleep } from './backoff';
import { CredentialsError, describeError, type UndeliveredRecord } from './errors';
import { KINESIS_LIMITS, type KinesisLimits } from './limits';
import { packBatches } from './pack';
import { entrySize, type KinesisEntry } from './records';

/** The one call we make; a `KinesisClient` is one, and tests wrap one to inject failures. */
export interface PutRecordsClient {
  send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput>;
}

export interface DeliveryOptions {
  readonly streamName: string;
  readonly client: PutRecordsClient;
  /** Epoch milliseconds after which no retry is started. */
  readonly deadline: number;
  readonly limits?: KinesisLimits;
  readonly backoff?: BackoffOptions;
  /**
   * Rounds of sending at most (the first send included), whatever the budget says.
   * @default 10
   */
  readonly maxRounds?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface DeliveryResult {
  readonly delivered: number;
  readonly undelivered: readonly UndeliveredRecord[];
  /** `PutRecords` calls made, failed ones included. */
  readonly calls: number;
  /** Entries sent more than once. */
  readonly retriedEntries: number;
}

/** Entry error codes worth another try within the invocation. */
const RETRYABLE_ENTRY_CODES = new Set([
  'ProvisionedThroughputExceededException',
  'InternalFailure',
  'InternalFailureException',
  'KMSThrottlingException',
  'ServiceUnavailable',
]);

/** Whole-call errors that say "later", not "never". */
const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** Whether a failed `PutRecords` call is worth retrying, with a reason for the report. */
export function classifyCallError(error: unknown): { retryable: boolean; reason: string } {
  const reason = describeError(error);
  if (error instanceof CredentialsError) return { retryable: error.retryable, reason };
  if (typeof error !== 'object' || error === null) return { retryable: false, reason };
  const { name, code, $fault, $metadata, $retryable } = error as {
    name?: unknown;
    code?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $retryable?: unknown;
  };
  const status = typeof $metadata?.httpStatusCode === 'number' ? $metadata.httpStatusCode : undefined;
  const retryable =
    (typeof name === 'string' && RETRYABLE_CALL_ERRORS.has(name)) ||
    (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) ||
    $fault === 'server' ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (typeof $retryable === 'object' && $retryable !== null);
  return { retryable, reason };
}

interface Pending {
  readonly entry: KinesisEntry;
  readonly reason?: string;
}

/** Delivers `entries` to the stream; see the module comment for the policy. */
export async function deliverEntries(
  entries: readonly KinesisEntry[],
  options: DeliveryOptions,
): Promise<DeliveryResult> {
  const limits = options.limits ?? KINESIS_LIMITS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const maxRounds = options.maxRounds ?? 10;
  const undelivered: UndeliveredRecord[] = [];
  let delivered = 0;
  let calls = 0;
  let retriedEntries = 0;
  let pending: Pending[] = entries.map((entry) => ({ entry }));

  for (let round = 1; pending.length > 0; round += 1) {
    if (round > 1) retriedEntries += pending.length;
    const failed: Pending[] = [];
    for (const batch of packBatches(pending, (item) => entrySize(item.entry), limits)) {
      calls += 1;
      const outcome = await putBatch(options.client, options.streamName, batch);
      delivered += outcome.delivered;
      failed.push(...outcome.retry);
      undelivered.push(...outcome.permanent);
    }
    if (failed.length === 0) break;
    const delay = backoffDelay(round, options.backoff, options.random);
    const why = round >= maxRounds ? `gave up after ${round} attempts` : 'the time budget ran out';
    if (round >= maxRounds || now() + delay >= options.deadline) {
      for (const { entry, reason } of failed) {
        undelivered.push({ origin: entry.origin, reason: `${reason ?? 'failed'} (${why})` });
      }
      break;
    }
    await sleep(delay);
    pending = failed;
  }
  return { delivered, undelivered, calls, retriedEntries };
}

async function putBatch(
  client: PutRecordsClient,
  streamName: string,
  batch: readonly Pending[],
): Promise<{ delivered: number; retry: Pending[]; permanent: UndeliveredRecord[] }> {
  let output: PutRecordsCommandOutput;
  try {
    output = await client.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: batch.map(({ entry }) => ({ Data: entry.data, PartitionKey: entry.partitionKey })),
      }),
    );
  } catch (error) {
    const { retryable, reason } = classifyCallError(error);
    return retryable
      ? { delivered: 0, retry: batch.map(({ entry }) => ({ entry, reason })), permanent: [] }
      : { delivered: 0, retry: [], permanent: batch.map(({ entry }) => ({ origin: entry.origin, reason })) };
  }

  const results = output.Records ?? [];
  if (results.length !== batch.length) {
    // Cannot tell which entries made it: send them all again (the detector dedupes any that did).
    const reason = `PutRecords answered ${results.length} results for ${batch.length} entries`;
    return { delivered: 0, retry: batch.map(({ entry }) => ({ entry, reason })), permanent: [] };
  }
  let delivered = 0;
  const retry: Pending[] = [];
  const permanent: UndeliveredRecord[] = [];
  for (const [index, result] of results.entries()) {
    const { entry } = batch[index] as Pending;
    if (result.ErrorCode === undefined && result.SequenceNumber !== undefined) {
      delivered += 1;
      continue;
    }
    const code = result.ErrorCode ?? 'NoSequenceNumber';
    const reason = result.ErrorMessage ? `${code}: ${result.ErrorMessage}` : code;
    if (RETRYABLE_ENTRY_CODES.has(code) || result.ErrorCode === undefined) retry.push({ entry, reason });
    else permanent.push({ origin: entry.origin, reason });
  }
  return { delivered, retry, permanent };
}
