/**
 * What the platform adapters hand the core: one audit record each, as the bytes to deliver, and what the
 * core hands Kinesis: an entry with its partition key. One Kinesis record per audit record is what the
 * detector's decoder reads most simply (a single JSON document per record), keeps every record far below
 * the 1 MiB limit in practice, and lets a failed entry be retried alone.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The sources the forwarders carry; the same names as the detector's `event.dataset`. */
export type ForwardedSource = 'azure-activity-logs' | 'gcp-audit-logs';

/** One record from the source, ready to deliver. */
export interface SourceRecord {
  /** One audit record's JSON, or, for a message the adapter could not read, the message as received. */
  readonly data: Uint8Array;
  /** The record's own id (Azure `eventDataId`, GCP `insertId`), when it has one: it picks the partition key. */
  readonly eventId?: string;
  /** Where it came from, for logs and the undelivered report. */
  readonly origin: string;
}

/** An entry of a `PutRecords` call, with the bookkeeping to report on it. */
export interface KinesisEntry {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly origin: string;
}

/** Data plus partition key bytes: how Kinesis counts an entry against its limits. */
export function entrySize(entry: Pick<KinesisEntry, 'data' | 'partitionKey'>): number {
  return entry.data.byteLength + Buffer.byteLength(entry.partitionKey, 'utf8');
}

/**
 * The partition key of a record. Kinesis maps the MD5 of the key onto shards, so what matters is that keys
 * differ between records: a SHA-256 of the record's event id (fixed length, ASCII, any id shape) spreads
 * records evenly and sends a redelivered record to the same shard as before. A record without an id (most
 * Azure Event Hub records carry no `eventDataId`) gets a random key: the shard it lands on does not matter
 * to the detector (it dedupes by the event's id, derived from its content when the record has none, and
 * relies on no order between records), and a random 128-bit key spreads as evenly as any hash without
 * reading the record again. The key is chosen once per record, so its retries keep it.
 */
export function partitionKeyFor(
  eventId: string | undefined,
  random: () => Buffer = () => randomBytes(16),
): string {
  if (eventId !== undefined && eventId !== '') {
    return createHash('sha256').update(eventId, 'utf8').digest('hex').slice(0, 32);
  }
  return random().toString('hex').slice(0, 32);
}
