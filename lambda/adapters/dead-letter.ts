/**
 * Where records that cannot be decoded, parsed, normalized or evaluated are kept (DESIGN.md, "What
 * bad input gets"): one S3 object per record, holding its raw bytes, its location and the reason, so an
 * operator can see exactly what arrived and replay it once the cause is fixed.
 */
import type { S3Sender } from './aws-sdk';
import { awsSdk } from './aws-sdk';

/** Where a bad record came from: enough to find it in its stream or event history. */
export interface DeadLetterLocation {
  readonly streamArn?: string;
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  /** 1-based position of the record inside the document the transport record carried. */
  readonly index?: number;
  /** 1-based line, when the payload was JSON Lines. */
  readonly line?: number;
  /** The EventBridge event id. */
  readonly eventId?: string;
}

export interface DeadLetter {
  /** The transport it came by; a path segment of the object key. */
  readonly source: 'kinesis' | 'eventbridge';
  readonly location: DeadLetterLocation;
  readonly reason: string;
  /** Exactly what arrived: the base64-decoded Kinesis data, or the EventBridge event's JSON. */
  readonly raw: Uint8Array;
  readonly receivedAt: Date;
}

/** Keeps bad records. Must throw when a record was not kept, so the caller retries it instead. */
export interface DeadLetterSink {
  write(record: DeadLetter): Promise<void>;
}

export interface S3DeadLetterSinkOptions {
  /** `DEAD_LETTER_BUCKET`. */
  readonly bucket: string;
  /**
   * Ask for SSE-KMS with this key on every put. Without it no encryption header is sent, so the
   * bucket's default encryption applies (the stack's customer-managed key): sending `AES256` would
   * silently downgrade that to S3-managed keys. @default the bucket's default encryption
   */
  readonly kmsKeyId?: string;
}

/** The S3 dead-letter store. Tests replace the client's `send`: S3 has no local implementation here. */
export class S3DeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: S3Sender,
    private readonly options: S3DeadLetterSinkOptions,
  ) {}

  async write(record: DeadLetter): Promise<void> {
    const { bucket, kmsKeyId } = this.options;
    const { PutObjectCommand } = await awsSdk.s3();
    await this.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: deadLetterKey(record),
        Body: JSON.stringify(deadLetterBody(record)),
        ContentType: 'application/json',
        ...(kmsKeyId === undefined
          ? {}
          : { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId }),
      }),
    );
  }
}

/**
 * `dead-letter/<yyyy>/<mm>/<dd>/<source>/<id>.json`, dated by arrival (UTC). The id comes from the
 * transport location, so a redelivered bad record overwrites its own object instead of piling up.
 */
export function deadLetterKey(record: DeadLetter): string {
  const at = record.receivedAt;
  const date = [
    String(at.getUTCFullYear()),
    String(at.getUTCMonth() + 1).padStart(2, '0'),
    String(at.getUTCDate()).padStart(2, '0'),
  ].join('/');
  return `dead-letter/${date}/${record.source}/${deadLetterId(record.location)}.json`;
}

/** A key-safe id: stream, shard, sequence (and position), or the event id. */
export function deadLetterId(location: DeadLetterLocation): string {
  const parts =
    location.eventId !== undefined
      ? [location.eventId]
      : [streamName(location.streamArn), location.shardId, location.sequenceNumber];
  if (location.index !== undefined) parts.push(String(location.index));
  const id = parts
    .filter((part): part is string => part !== undefined && part !== '')
    .map((part) => part.replace(/[^A-Za-z0-9._-]/g, '_'))
    .join('.');
  return (id === '' ? 'unknown' : id).slice(0, 512);
}

/** What the object holds: the raw bytes as text when they are UTF-8, else base64. */
export function deadLetterBody(record: DeadLetter): Record<string, unknown> {
  const bytes = Buffer.from(record.raw.buffer, record.raw.byteOffset, record.raw.byteLength);
  let raw: { encoding: 'utf8' | 'base64'; data: string };
  try {
    raw = { encoding: 'utf8', data: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    raw = { encoding: 'base64', data: bytes.toString('base64') };
  }
  return {
    source: record.source,
    location: record.location,
    reason: record.reason,
    receivedAt: record.receivedAt.toISOString(),
    bytes: bytes.byteLength,
    raw,
  };
}

function streamName(arn: string | undefined): string | undefined {
  if (arn === undefined) return undefined;
  const slash = arn.lastIndexOf('/');
  return slash === -1 ? arn : arn.slice(slash + 1);
}
