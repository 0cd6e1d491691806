/**
 * What the detect and redrive Lambdas do, with every client injected: the handler files only read the
 * environment, build the clients and call these. Tests call them with dynalite and stub publishers.
 */
import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  EventBridgeEvent,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
} from 'aws-lambda';
import type { DeadLetterLocation, DeadLetterSink } from '../adapters/dead-letter';
import type { DynamoDbDetectionStore } from '../adapters/dynamodb-store';
import { AlertTooLargeError } from '../adapters/dynamodb-store';
import type { DynamoDbOutbox } from '../adapters/outbox';
import type { Alert } from '../engine/alerts/alert';
import { compileLiteralPrefilter, type PrefilterRule } from '../engine/compile/literal-prefilter';
import type { DetectorRule, Match } from '../engine/detector/detector';
import { Detector } from '../engine/detector/detector';
import type { DetectionStore } from '../engine/detector/store';
import type { RecordLocation, SourceName } from '../engine/ecs';
import { recordsFromDocument, STREAM_SHAPES } from '../engine/normalizers';
import { once } from '../engine/once';

export type PipelineLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
export type PipelineMetrics = Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;

/** An EventBridge "AWS API Call via CloudTrail" event; `detail` is the CloudTrail record. */
export type CloudTrailBridgeEvent = EventBridgeEvent<string, unknown>;
export type DetectEvent = KinesisStreamEvent | CloudTrailBridgeEvent;

export interface DetectDependencies {
  /** The rules, loaded once per container (see `cachedRules`); a failure fails the invocation. */
  readonly loadRules: () => Promise<readonly DetectorRule[]>;
  readonly store: DetectionStore;
  readonly outbox: Pick<DynamoDbOutbox, 'deliver'>;
  readonly deadLetters: DeadLetterSink;
  readonly logger: PipelineLogger;
  readonly metrics: PipelineMetrics;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /**
   * Builds, once per rule set, a check over a Kinesis payload's bytes (after gunzip, before UTF-8
   * decoding) that says whether any rule could match a record in it; payloads it rejects are skipped
   * without decoding or parsing and counted as `RecordsSkipped` (see `readKinesisData`). It must be sound
   * (see `compileLiteralPrefilter`). A skipped payload is never dead-lettered, even one that would not
   * have parsed: it could not have alerted either way. Payloads that do not inflate or are not UTF-8 are not
   * filtered: they are dead-lettered as without the filter (neither can alert, but bytes that are not text on
   * the stream deserve an operator's look).
   * The check gets the payload as a string of one char per byte, with `'ascii'` when every byte is below
   * 0x80 and `'latin1'` otherwise. It must be compiled for what the pipeline reads: `STREAM_SHAPES`.
   * @default - no pre-filter: every payload is parsed
   */
  readonly prefilter?: (rules: readonly DetectorRule[]) => PayloadCheck | undefined;
}

/** The largest payload a gzipped Kinesis record may inflate to; more is a bomb, not a log record. */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/**
 * Thrown from an EventBridge invocation when the event hit a retryable error (DynamoDB unavailable or
 * throttling, a dead-letter write that failed): Lambda's async retries, then its failure destination,
 * take over.
 */
export class RetryableDetectError extends Error {
  override readonly name = 'RetryableDetectError';
  readonly eventId: string;

  constructor(eventId: string, options?: { cause?: unknown }) {
    super(`event ${eventId} hit a retryable error; failing the invocation so it is retried`, options);
    this.eventId = eventId;
  }
}

/**
 * Loads rules on first use and keeps the promise for the container's life; a failed load is not
 * cached, so the next invocation tries again (and fails loudly again if the bundle is broken).
 */
export const cachedRules: (
  load: () => Promise<readonly DetectorRule[]>,
) => () => Promise<readonly DetectorRule[]> = once;

/**
 * The detect Lambda: Kinesis batches answer with the sequence numbers to retry (partial batch
 * response), EventBridge events throw to be retried. Bad input is dead-lettered, never retried.
 */
export async function detect(
  event: DetectEvent,
  deps: DetectDependencies,
): Promise<KinesisStreamBatchResponse | undefined> {
  const rules = await deps.loadRules().catch((error: unknown) => {
    deps.logger.error('rules failed to load', { error: describeError(error) });
    throw error;
  });
  const run = new Invocation(rules, deps, prefilterFor(rules, deps.prefilter));
  try {
    if (isKinesisEvent(event)) {
      const failed: string[] = [];
      for (const record of event.Records) {
        if ((await run.kinesisRecord(record)) === 'retry') failed.push(record.kinesis.sequenceNumber);
      }
      return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
    }
    if ((await run.bridgeEvent(event)) === 'retry') throw new RetryableDetectError(String(event.id));
    return undefined;
  } finally {
    run.report();
  }
}

/** One compiled pre-filter per rule set (`cachedRules` hands out the same array every time). */
const prefilters = new WeakMap<readonly DetectorRule[], PayloadCheck | undefined>();

/** A pre-filter over a payload's bytes, one char per byte (see `DetectDependencies.prefilter`). */
export type PayloadCheck = (bytes: string, encoding: 'ascii' | 'latin1') => boolean;

/**
 * The literal pre-filter of a rule set, compiled for what the pipeline reads (`STREAM_SHAPES`); none when
 * some rule could match without a literal (or came without its parsed query). What the detect function
 * gives `DetectDependencies.prefilter`.
 */
export function streamPrefilter(rules: readonly PrefilterRule[]): PayloadCheck | undefined {
  return compileLiteralPrefilter(rules, STREAM_SHAPES).test;
}

function prefilterFor(
  rules: readonly DetectorRule[],
  build: DetectDependencies['prefilter'],
): PayloadCheck | undefined {
  if (build === undefined) return undefined;
  if (!prefilters.has(rules)) prefilters.set(rules, build(rules));
  return prefilters.get(rules);
}

type Verdict = 'done' | 'retry';

/** Where one transport record came from, for alerts, logs and the dead-letter object. */
interface Origin {
  readonly source: 'kinesis' | 'eventbridge';
  readonly location: DeadLetterLocation;
  readonly raw: Uint8Array;
  /** `kinesis:<stream>/<shard>/<sequence>` or `eventbridge:<id>`, for the alert's location. */
  readonly transport: string;
}

/** The detector's store errors, marked so they are retried rather than dead-lettered. */
class StoreFailure extends Error {
  override readonly name = 'StoreFailure';
}

/** One invocation: its detector (and so its counts) and what it did with each record. */
class Invocation {
  private readonly detector: Detector;
  private readonly counts = {
    records: 0,
    badRecords: 0,
    retried: 0,
    published: 0,
    deferred: 0,
    skipped: 0,
  };

  constructor(
    rules: readonly DetectorRule[],
    private readonly deps: DetectDependencies,
    private readonly prefilter?: PayloadCheck,
  ) {
    const store: DetectionStore = {
      recordMatch: (input) =>
        deps.store.recordMatch(input).catch((error: unknown) => {
          throw new StoreFailure(describeError(error).message, { cause: error });
        }),
    };
    this.detector = new Detector(rules, store, deps.now ? { now: deps.now } : {});
  }

  async kinesisRecord(record: KinesisStreamRecord): Promise<Verdict> {
    this.counts.records += 1;
    const { sequenceNumber, data } = record.kinesis;
    const payload = readKinesisData(data, this.prefilter);
    if (payload.kind === 'skipped') {
      this.counts.skipped += 1;
      return 'done';
    }
    const shardId = record.eventID.split(':')[0] ?? '';
    const streamName = record.eventSourceARN.slice(record.eventSourceARN.lastIndexOf('/') + 1);
    const origin: Origin = {
      source: 'kinesis',
      location: { streamArn: record.eventSourceARN, shardId, sequenceNumber },
      raw: payload.raw ?? Buffer.from(data, 'utf8'),
      transport: `kinesis:${streamName}/${shardId}/${sequenceNumber}`,
    };
    if (payload.kind === 'bad') return this.bad(origin, payload.reason);
    return this.documents(payload.documents, origin);
  }

  async bridgeEvent(event: CloudTrailBridgeEvent): Promise<Verdict> {
    this.counts.records += 1;
    const origin: Origin = {
      source: 'eventbridge',
      location: { eventId: String(event.id) },
      raw: Buffer.from(JSON.stringify(event), 'utf8'),
      transport: `eventbridge:${String(event.id)}`,
    };
    // The envelope itself goes in: `recordsFromDocument` takes the record from `detail` and fills
    // gaps from the envelope.
    return this.documents([{ value: event }], origin);
  }

  /** Every record of every document; stops at the first retryable error (a redelivery redoes it all). */
  private async documents(documents: readonly ParsedDocument[], origin: Origin): Promise<Verdict> {
    let position = 0;
    for (const document of documents) {
      if ('error' in document) {
        position += 1;
        if ((await this.bad(origin, document.error, position, document.line)) === 'retry') return 'retry';
        continue;
      }
      for (const item of recordsFromDocument(document.value, STREAM_SHAPES)) {
        position += 1;
        const verdict =
          'error' in item
            ? await this.bad(origin, item.error, position, document.line)
            : await this.record(item.source, item.record, origin, position, document.line);
        if (verdict === 'retry') return 'retry';
      }
    }
    return 'done';
  }

  private async record(
    source: SourceName,
    record: unknown,
    origin: Origin,
    index: number,
    line: number | undefined,
  ): Promise<Verdict> {
    const location: RecordLocation = { transport: origin.transport, index, ...(line ? { line } : {}) };
    let matches: Match[];
    try {
      matches = this.detector.evaluateRecord(source, record, location);
    } catch (error) {
      return this.bad(origin, describeError(error).message, index, line);
    }
    this.detector.stats.events += 1;
    for (const match of matches) {
      let decision: Awaited<ReturnType<Detector['decide']>>;
      try {
        decision = await this.detector.decide(match);
      } catch (error) {
        if (error instanceof StoreFailure && isRetryable(error.cause)) {
          this.counts.retried += 1;
          this.deps.logger.error('record will be retried', {
            location: origin.location,
            ruleId: match.rule.id,
            error: describeError(error.cause),
          });
          return 'retry';
        }
        const cause = error instanceof StoreFailure ? error.cause : error;
        return this.bad(origin, `evaluation failed: ${describeError(cause).message}`, index, line);
      }
      if (decision.kind === 'alert') await this.deliver(decision.alert);
    }
    return 'done';
  }

  /**
   * Publishes at once. Whatever happens here, the alert is already safe in the outbox, so a failure
   * is logged and left to the redrive, and never fails the record.
   */
  private async deliver(alert: Alert): Promise<void> {
    const facts = { alertId: alert.id, ruleId: alert.rule.id, eventId: alert.event.id };
    this.deps.logger.info('alert', facts);
    try {
      const now = this.deps.now?.().getTime() ?? Date.now();
      const result = await this.deps.outbox.deliver(alert, now);
      if (result.status === 'sent') this.counts.published += 1;
      if (result.status === 'failed') {
        this.counts.deferred += 1;
        this.deps.logger.warn('publish failed; the redrive will retry it', {
          ...facts,
          error: describeError(result.error),
        });
      }
    } catch (error) {
      this.counts.deferred += 1;
      this.deps.logger.warn('delivery failed; the redrive will retry it', {
        ...facts,
        error: describeError(error),
      });
    }
  }

  /** Keeps a record that can never be processed; only a failed write makes it worth a retry. */
  private async bad(origin: Origin, reason: string, index?: number, line?: number): Promise<Verdict> {
    const location: DeadLetterLocation = {
      ...origin.location,
      ...(index === undefined ? {} : { index }),
      ...(line === undefined ? {} : { line }),
    };
    this.deps.logger.warn('bad record', { source: origin.source, location, reason: reason.slice(0, 300) });
    try {
      await this.deps.deadLetters.write({
        source: origin.source,
        location,
        reason,
        raw: origin.raw,
        receivedAt: this.deps.now?.() ?? new Date(),
      });
    } catch (error) {
      this.counts.retried += 1;
      this.deps.logger.error('dead-letter write failed; the record will be retried', {
        location,
        error: describeError(error),
      });
      return 'retry';
    }
    this.counts.badRecords += 1;
    return 'done';
  }

  /** One EMF blob and one summary line per invocation. */
  report(): void {
    const { stats } = this.detector;
    const figures: Record<string, number> = {
      RecordsIn: this.counts.records,
      EventsIn: stats.events,
      Matched: stats.matched,
      Alerts: stats.alerts,
      Suppressed: stats.suppressed,
      Duplicates: stats.duplicates,
      Excepted: stats.excepted,
      BadRecords: this.counts.badRecords,
      RecordsRetried: this.counts.retried,
      AlertsPublished: this.counts.published,
      AlertsDeferred: this.counts.deferred,
      ...(this.prefilter === undefined ? {} : { RecordsSkipped: this.counts.skipped }),
    };
    for (const [name, value] of Object.entries(figures))
      this.deps.metrics.addMetric(name, MetricUnit.Count, value);
    this.deps.metrics.publishStoredMetrics();
    this.deps.logger.info('invocation summary', { ...figures, exceptedBy: stats.exceptedBy });
  }
}

/** A document parsed out of a payload, or the line that would not parse. */
type ParsedDocument =
  | { readonly value: unknown; readonly line?: number }
  | { readonly error: string; readonly line?: number };

/** A Kinesis record's data, read: skipped by the pre-filter, unreadable (with why), or its documents. */
export type KinesisPayload =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'bad'; readonly raw: Buffer | undefined; readonly reason: string }
  | { readonly kind: 'documents'; readonly raw: Buffer; readonly documents: ParsedDocument[] };

const SKIPPED: KinesisPayload = { kind: 'skipped' };

/**
 * Base64 → bytes → documents, with the pre-filter (if any) between: it reads the bytes after gunzip, as a
 * string of one char per byte, and a payload it rejects is neither copied into a buffer, nor decoded from
 * UTF-8, nor parsed. A payload that does not inflate or is not UTF-8 is not filtered: it comes back `bad`,
 * as without the filter.
 */
export function readKinesisData(data: string, prefilter?: PayloadCheck): KinesisPayload {
  const decoded = decodeBase64(data);
  if (decoded === undefined) {
    return { kind: 'bad', raw: undefined, reason: 'Kinesis data is not valid base64' };
  }
  let inflated: Buffer | undefined;
  if (prefilter !== undefined) {
    const gzipped = isGzip(decoded);
    inflated = gzipped ? tryGunzip(decoded) : undefined;
    const bytes = inflated === undefined ? decoded : inflated.toString('latin1');
    if (!gzipped || inflated !== undefined) {
      // One pass says ASCII (so UTF-8, and nothing that folds into ASCII) for nearly every payload.
      const ascii = Buffer.byteLength(bytes, 'utf8') === bytes.length;
      if (
        (ascii || isUtf8(inflated ?? Buffer.from(bytes, 'latin1'))) &&
        !prefilter(bytes, ascii ? 'ascii' : 'latin1')
      )
        return SKIPPED;
    }
  }
  const raw = Buffer.from(decoded, 'latin1');
  try {
    const text = inflated === undefined ? payloadText(raw) : utf8Text(inflated);
    return { kind: 'documents', raw, documents: parseDocuments(text) };
  } catch (error) {
    return { kind: 'bad', raw, reason: describeError(error).message };
  }
}

/**
 * Strict base64 → bytes, one char per byte. `atob` rejects anything outside the base64 alphabet (Node's
 * `Buffer` decoder would skip it, and read `-` and `_` as `+` and `/`, turning garbage into bytes) but skips
 * ASCII whitespace and missing padding, which the length check catches; together they say what
 * `^[A-Za-z0-9+/]*={0,2}$` with a length divisible by 4 says, at a fraction of that expression's cost (it
 * costs more than parsing the payload). And `atob` yields the string the pre-filter searches.
 */
function decodeBase64(data: string): string | undefined {
  if (data.length % 4 !== 0) return undefined;
  let bytes: string;
  try {
    bytes = atob(data);
  } catch {
    return undefined;
  }
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return bytes.length === (data.length / 4) * 3 - padding ? bytes : undefined;
}

function isGzip(bytes: string): boolean {
  return bytes.charCodeAt(0) === 0x1f && bytes.charCodeAt(1) === 0x8b;
}

/** Gunzipped, or undefined when it does not inflate (`payloadText` then says why). */
function tryGunzip(bytes: string): Buffer | undefined {
  try {
    return gunzipSync(Buffer.from(bytes, 'latin1'), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch {
    return undefined;
  }
}

/**
 * Bytes → documents: gunzip when the gzip magic says so, strict UTF-8, then one JSON document or JSON
 * Lines (forwarders may batch several records per Kinesis record). Throws with a reason when the
 * payload as a whole is unreadable.
 */
export function parsePayload(raw: Uint8Array): ParsedDocument[] {
  return parseDocuments(payloadText(raw));
}

/** Strict: a payload that is not UTF-8 is a bad record, not text with replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes → text: gunzip when the gzip magic says so, then strict UTF-8. Throws with a reason. */
export function payloadText(raw: Uint8Array): string {
  return utf8Text(inflatePayload(raw));
}

/** Gunzipped when the gzip magic says so, else the bytes themselves. Throws with a reason. */
function inflatePayload(raw: Uint8Array): Uint8Array {
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    throw new Error(`gzip payload could not be inflated: ${describeError(error).message}`);
  }
}

function utf8Text(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new Error('payload is not UTF-8');
  }
}

/** Text → one JSON document, or JSON Lines. Throws when it is neither. */
export function parseDocuments(text: string): ParsedDocument[] {
  try {
    return [{ value: JSON.parse(text) }];
  } catch (error) {
    const lines = text.split(/\r?\n/);
    if (lines.filter((line) => line.trim() !== '').length < 2) {
      throw new Error(`payload is not JSON: ${describeError(error).message}`);
    }
    const documents: ParsedDocument[] = [];
    for (const [offset, lineText] of lines.entries()) {
      if (lineText.trim() === '') continue;
      try {
        documents.push({ value: JSON.parse(lineText), line: offset + 1 });
      } catch (lineError) {
        documents.push({ error: `line is not JSON: ${describeError(lineError).message}`, line: offset + 1 });
      }
    }
    return documents;
  }
}

/** Errors that say nothing about the record itself: try it again later. */
function isRetryable(error: unknown): boolean {
  if (error instanceof AlertTooLargeError) return false;
  const name = error instanceof Error ? error.name : '';
  // DynamoDB rejected this record's item as such: retrying cannot help.
  return name !== 'ValidationException' && name !== 'SerializationException';
}

function isKinesisEvent(event: DetectEvent): event is KinesisStreamEvent {
  return Array.isArray((event as Partial<KinesisStreamEvent>).Records);
}

function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

export interface RedriveDependencies {
  readonly store: Pick<DynamoDbDetectionStore, 'resumeStalled'>;
  readonly outbox: Pick<DynamoDbOutbox, 'deliver' | 'redrive' | 'publishDueDigests'>;
  readonly logger: PipelineLogger;
  readonly metrics: PipelineMetrics;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface RedriveReport {
  resumed: number;
  resumeFailed: number;
  alertsSent: number;
  alertsFailed: number;
  digestsSent: number;
  digestsFailed: number;
}

/**
 * The scheduled safety net, in order: finish matches whose delivery died mid-way, re-publish alerts
 * whose lease has passed, then publish the digests of closed windows. Each step runs even if an
 * earlier one failed; any failure then fails the run, so it shows in the function's error metric.
 */
export async function redrive(deps: RedriveDependencies): Promise<RedriveReport> {
  const now = (deps.now?.() ?? new Date()).getTime();
  const report: RedriveReport = {
    resumed: 0,
    resumeFailed: 0,
    alertsSent: 0,
    alertsFailed: 0,
    digestsSent: 0,
    digestsFailed: 0,
  };
  const errors: unknown[] = [];
  const step = async (name: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      errors.push(error);
      deps.logger.error(`redrive step failed: ${name}`, { error: describeError(error) });
    }
  };
  try {
    await step('resume stalled matches', async () => {
      const { resumed, failed, alerts } = await deps.store.resumeStalled(now);
      report.resumed = resumed;
      report.resumeFailed = failed;
      for (const alert of alerts) {
        const result = await deps.outbox.deliver(alert, now);
        if (result.status === 'sent') report.alertsSent += 1;
        if (result.status === 'failed') report.alertsFailed += 1;
      }
    });
    await step('re-publish alerts', async () => {
      const summary = await deps.outbox.redrive(now);
      report.alertsSent += summary.sent;
      report.alertsFailed += summary.failed;
    });
    await step('publish digests', async () => {
      const summary = await deps.outbox.publishDueDigests(now);
      report.digestsSent = summary.sent;
      report.digestsFailed = summary.failed;
    });
  } finally {
    const figures: Record<string, number> = {
      StalledMatchesResumed: report.resumed,
      StalledMatchesFailed: report.resumeFailed,
      AlertsRedriven: report.alertsSent,
      AlertsRedriveFailed: report.alertsFailed,
      DigestsPublished: report.digestsSent,
      DigestsFailed: report.digestsFailed,
    };
    for (const [name, value] of Object.entries(figures))
      deps.metrics.addMetric(name, MetricUnit.Count, value);
    deps.metrics.publishStoredMetrics();
    deps.logger.info('redrive summary', figures);
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} redrive step(s) failed`);
  return report;
}
