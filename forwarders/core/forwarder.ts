/**
 * The shared core of both forwarders: records in, `PutRecords` out. The platform adapters unwrap their
 * batches into `SourceRecord`s; this chooses partition keys, applies the oversize policy, delivers with
 * retries within a time budget, logs what happened, and throws `UndeliveredRecordsError` if any record is
 * neither in the stream nor in the oversize store, so that the platform delivers the batch again.
 */
import type { BackoffOptions } from './backoff';
import { type DeliveryResult, deliverEntries, type PutRecordsClient } from './deliver';
import { describeError, type UndeliveredRecord, UndeliveredRecordsError } from './errors';
import { KINESIS_LIMITS, type KinesisLimits } from './limits';
import { FORWARDER_METRICS, type ForwarderLog, metricFields } from './log';
import { decideOversize, type OversizeSink } from './oversize';
import { type ForwardedSource, type KinesisEntry, partitionKeyFor, type SourceRecord } from './records';

export interface ForwarderOptions {
  readonly source: ForwardedSource;
  readonly streamName: string;
  readonly kinesis: PutRecordsClient;
  /** How long one invocation may spend retrying; keep it well under the function's timeout. */
  readonly deliveryBudgetMs: number;
  /**
   * Where records too large for Kinesis even gzipped go.
   * @default - none: such a record is undelivered and fails the invocation
   */
  readonly oversizeSink?: OversizeSink;
  readonly limits?: KinesisLimits;
  readonly backoff?: BackoffOptions;
  readonly maxRounds?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** What one invocation did; also logged as one summary line. */
export interface ForwardReport {
  readonly received: number;
  readonly sent: number;
  readonly compressed: number;
  readonly oversizeStored: number;
  readonly undelivered: readonly UndeliveredRecord[];
  readonly calls: number;
  readonly retriedEntries: number;
}

export class Forwarder {
  readonly #options: ForwarderOptions;

  constructor(options: ForwarderOptions) {
    this.#options = options;
  }

  /**
   * Forwards one batch.
   *
   * @throws {UndeliveredRecordsError} after logging, when any record was neither sent nor stored.
   */
  async forward(records: readonly SourceRecord[], log: ForwarderLog): Promise<ForwardReport> {
    const options = this.#options;
    const now = options.now ?? Date.now;
    const started = now();
    const limits = options.limits ?? KINESIS_LIMITS;
    const entries: KinesisEntry[] = [];
    const undelivered: UndeliveredRecord[] = [];
    let compressed = 0;
    let oversizeStored = 0;

    for (const record of records) {
      const partitionKey = partitionKeyFor(record.eventId);
      const decision = decideOversize(
        record,
        Buffer.byteLength(partitionKey, 'utf8'),
        limits.maxBytesPerRecord,
      );
      if (decision.kind !== 'store') {
        if (decision.kind === 'compressed') compressed += 1;
        entries.push({ data: decision.data, partitionKey, origin: record.origin });
        continue;
      }
      const stored = await this.#storeOversize(record, decision.reason, log);
      if (stored === undefined) oversizeStored += 1;
      else undelivered.push(stored);
    }
    if (compressed > 0) {
      log.info(
        'gzipped records larger than a Kinesis record',
        metricFields(FORWARDER_METRICS.recordsCompressed, compressed),
      );
    }

    const delivery: DeliveryResult =
      entries.length === 0
        ? { delivered: 0, undelivered: [], calls: 0, retriedEntries: 0 }
        : await deliverEntries(entries, {
            streamName: options.streamName,
            client: options.kinesis,
            deadline: started + options.deliveryBudgetMs,
            limits,
            ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
            ...(options.maxRounds === undefined ? {} : { maxRounds: options.maxRounds }),
            now,
            ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
            ...(options.random === undefined ? {} : { random: options.random }),
          });
    undelivered.push(...delivery.undelivered);

    const report: ForwardReport = {
      received: records.length,
      sent: delivery.delivered,
      compressed,
      oversizeStored,
      undelivered,
      calls: delivery.calls,
      retriedEntries: delivery.retriedEntries,
    };
    const summary = {
      source: options.source,
      stream: options.streamName,
      received: report.received,
      sent: report.sent,
      compressed,
      oversizeStored,
      undelivered: undelivered.length,
      calls: report.calls,
      retriedEntries: report.retriedEntries,
      durationMs: now() - started,
    };
    if (delivery.retriedEntries > 0) {
      log.warn('retried entries', metricFields(FORWARDER_METRICS.retriedEntries, delivery.retriedEntries));
    }
    log.info('forwarded batch', metricFields(FORWARDER_METRICS.recordsSent, report.sent, summary));
    if (undelivered.length > 0) {
      log.error(
        'records were not delivered; failing the invocation so the batch is delivered again',
        metricFields(FORWARDER_METRICS.undelivered, undelivered.length, {
          ...summary,
          examples: undelivered.slice(0, 10),
        }),
      );
      throw new UndeliveredRecordsError(undelivered, report.sent + oversizeStored);
    }
    return report;
  }

  /** Stores one oversize record; returns why it is undelivered, or undefined once it is stored. */
  async #storeOversize(
    record: SourceRecord,
    reason: string,
    log: ForwarderLog,
  ): Promise<UndeliveredRecord | undefined> {
    const sink = this.#options.oversizeSink;
    const fields = {
      source: this.#options.source,
      origin: record.origin,
      ...(record.eventId === undefined ? {} : { eventId: record.eventId }),
      bytes: record.data.byteLength,
      reason,
    };
    if (sink === undefined) {
      return {
        origin: record.origin,
        reason: `too large for Kinesis (${reason}) and no oversize store is configured`,
      };
    }
    try {
      const location = await sink.store({
        source: this.#options.source,
        data: record.data,
        origin: record.origin,
        ...(record.eventId === undefined ? {} : { eventId: record.eventId }),
        receivedAt: new Date((this.#options.now ?? Date.now)()),
      });
      log.error(
        'stored a record too large for Kinesis in the oversize store; the detector has not seen it',
        metricFields(FORWARDER_METRICS.oversizeStored, 1, { ...fields, location }),
      );
      return undefined;
    } catch (error) {
      return {
        origin: record.origin,
        reason: `too large for Kinesis (${reason}) and the oversize store failed: ${describeError(error)}`,
      };
    }
  }
}
