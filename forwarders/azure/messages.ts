/**
 * Event Hub messages → audit records. A diagnostic setting writes each message as `{"records": [...]}`;
 * the Functions host hands the JS worker a batch (`cardinality: 'many'`) whose messages arrive parsed
 * (JSON), as strings (not JSON), or as Buffers (binary data type). Each record becomes one Kinesis record.
 * A message that is not JSON, or JSON that is not an object, is forwarded as received, so the detector
 * counts and dead-letters it with its location instead of the forwarder dropping it.
 */
import type { SourceRecord } from '../core/records';

/** A message the forwarder could not read as `{records}` or a record; forwarded as received. */
export interface UnrecognizedMessage {
  readonly origin: string;
  readonly reason: string;
}

export interface UnwrappedBatch {
  readonly records: SourceRecord[];
  readonly unrecognized: UnrecognizedMessage[];
}

/** Per-message metadata from `InvocationContext.triggerMetadata`, when the host provides it. */
export interface EventHubBatchMetadata {
  readonly partitionId?: string;
  readonly sequenceNumbers?: readonly unknown[];
}

/** Messages nest a few levels at most (a JSON array of `{records}`); more is not a diagnostic export. */
const MAX_DEPTH = 3;

/**
 * Unwraps a batch. `messages` is what the host passed the handler: an array with `cardinality: 'many'`;
 * anything else is taken as one message.
 */
export function unwrapEventHubBatch(messages: unknown, metadata: EventHubBatchMetadata = {}): UnwrappedBatch {
  const list = Array.isArray(messages) ? messages : [messages];
  const batch: UnwrappedBatch = { records: [], unrecognized: [] };
  for (const [index, message] of list.entries()) {
    const origin = messageOrigin(index, metadata);
    unwrap(message, origin, 0, batch);
  }
  return batch;
}

/** Reads what the host puts in `triggerMetadata` for a batch; tolerant, since it is informational. */
export function eventHubMetadata(
  triggerMetadata: Record<string, unknown> | undefined,
): EventHubBatchMetadata {
  const partition = triggerMetadata?.partitionContext;
  const partitionId =
    typeof partition === 'object' && partition !== null
      ? (partition as { partitionId?: unknown }).partitionId
      : undefined;
  const sequenceNumbers = triggerMetadata?.sequenceNumberArray;
  return {
    ...(typeof partitionId === 'string' ? { partitionId } : {}),
    ...(Array.isArray(sequenceNumbers) ? { sequenceNumbers } : {}),
  };
}

function messageOrigin(index: number, metadata: EventHubBatchMetadata): string {
  const sequence = metadata.sequenceNumbers?.[index];
  const parts = [
    ...(metadata.partitionId === undefined ? [] : [`partition ${metadata.partitionId}`]),
    typeof sequence === 'number' || typeof sequence === 'string'
      ? `sequence ${sequence}`
      : `message ${index + 1}`,
  ];
  return parts.join(' ');
}

function unwrap(message: unknown, origin: string, depth: number, batch: UnwrappedBatch): void {
  if (typeof message === 'string' || message instanceof Uint8Array) {
    const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      unrecognized(bytes, origin, 'not UTF-8 JSON', batch);
      return;
    }
    unwrapParsed(parsed, origin, depth, batch, bytes);
    return;
  }
  unwrapParsed(message, origin, depth, batch);
}

function unwrapParsed(
  value: unknown,
  origin: string,
  depth: number,
  batch: UnwrappedBatch,
  raw?: Uint8Array,
): void {
  if (Array.isArray(value) && depth < MAX_DEPTH) {
    for (const [index, item] of value.entries())
      unwrapParsed(item, `${origin} item ${index + 1}`, depth + 1, batch);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const bytes = raw ?? Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
    unrecognized(
      bytes,
      origin,
      `JSON ${value === null ? 'null' : Array.isArray(value) ? 'array nested too deep' : typeof value}, not an object`,
      batch,
    );
    return;
  }
  const records = (value as { records?: unknown }).records;
  if (Array.isArray(records) && Object.hasOwn(value, 'records')) {
    for (const [index, record] of records.entries()) {
      batch.records.push(recordOf(record, `${origin} record ${index + 1}`));
    }
    return;
  }
  // A bare record (some producers send one record per message): forward it; the detector decides.
  batch.records.push(recordOf(value, origin, raw));
}

function recordOf(record: unknown, origin: string, raw?: Uint8Array): SourceRecord {
  const data = raw ?? Buffer.from(JSON.stringify(record) ?? 'null', 'utf8');
  const eventId = eventIdOf(record);
  return eventId === undefined ? { data, origin } : { data, origin, eventId };
}

function unrecognized(data: Uint8Array, origin: string, reason: string, batch: UnwrappedBatch): void {
  batch.records.push({ data, origin });
  batch.unrecognized.push({ origin, reason });
}

/** `eventDataId`, at the top (REST shape) or under `properties` (some exports); absent on most Event Hub records. */
function eventIdOf(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const top = (record as { eventDataId?: unknown }).eventDataId;
  if (typeof top === 'string' && top !== '') return top;
  const properties = (record as { properties?: unknown }).properties;
  if (typeof properties === 'object' && properties !== null) {
    const nested = (properties as { eventDataId?: unknown }).eventDataId;
    if (typeof nested === 'string' && nested !== '') return nested;
  }
  return undefined;
}
