/**
 * The oversize policy. Every audit record travels as its own Kinesis record, so only a single record can be
 * too large for Kinesis (1 MiB with its partition key). Such a record is gzipped (the detector recognises
 * gzip by its magic bytes and inflates it); if it is still too large, or so large that the detector would
 * refuse to inflate it, it is written whole to an `OversizeSink` (a blob container, a bucket, a folder) and a
 * metric line is logged so someone looks at it. If there is no sink, or the sink fails, the record counts as
 * undelivered and the invocation fails: never dropped.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DETECTOR_MAX_INFLATED_BYTES } from './limits';
import type { ForwardedSource, SourceRecord } from './records';

/** A record kept outside the stream. */
export interface OversizeItem {
  readonly source: ForwardedSource;
  /** The record as received (not compressed), so it can be replayed or read as is. */
  readonly data: Uint8Array;
  readonly origin: string;
  readonly eventId?: string;
  readonly receivedAt: Date;
}

/**
 * Where records too large for Kinesis go. Implementations must be idempotent for the same item (the batch
 * may be redelivered): the object name from `oversizeObjectName` is content-addressed for that reason.
 */
export interface OversizeSink {
  /** Stores the item; resolves with where it is (a URL or path) for the log line. */
  store(item: OversizeItem): Promise<string>;
}

/** What the policy decided for one record. */
export type OversizeDecision =
  | { readonly kind: 'as-is'; readonly data: Uint8Array }
  | { readonly kind: 'compressed'; readonly data: Uint8Array }
  | { readonly kind: 'store'; readonly reason: string };

/**
 * Applies the policy to one record's bytes, given how many bytes its partition key takes.
 *
 * @param maxBytesPerRecord the Kinesis per-record limit (data plus partition key).
 */
export function decideOversize(
  record: Pick<SourceRecord, 'data'>,
  partitionKeyBytes: number,
  maxBytesPerRecord: number,
): OversizeDecision {
  const room = maxBytesPerRecord - partitionKeyBytes;
  if (record.data.byteLength <= room) return { kind: 'as-is', data: record.data };
  if (record.data.byteLength > DETECTOR_MAX_INFLATED_BYTES) {
    return {
      kind: 'store',
      reason: `${record.data.byteLength} bytes: more than the ${DETECTOR_MAX_INFLATED_BYTES} bytes the detector inflates`,
    };
  }
  const compressed = gzipSync(record.data, { level: 9 });
  if (compressed.byteLength <= room) return { kind: 'compressed', data: compressed };
  return {
    kind: 'store',
    reason: `${record.data.byteLength} bytes, ${compressed.byteLength} gzipped: more than the ${room} bytes a Kinesis record has room for`,
  };
}

/**
 * `oversize/<source>/<yyyy>/<mm>/<dd>/<sha256 of the data>.<json|bin>`: dated for lifecycle rules, named by
 * content so a redelivered record overwrites itself instead of piling up, `.json` when it is JSON so the
 * local detector (`npm start -- <folder>`) reads a downloaded copy directly.
 */
export function oversizeObjectName(item: OversizeItem): string {
  const digest = createHash('sha256').update(item.data).digest('hex');
  const day = item.receivedAt.toISOString().slice(0, 10).split('-').join('/');
  return `oversize/${item.source}/${day}/${digest}.${isJson(item.data) ? 'json' : 'bin'}`;
}

function isJson(data: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes oversize records under a folder: the tests' sink, and a usable one wherever the function has a
 * durable mounted file system (an Azure Files share, a Cloud Storage FUSE volume). Writes go to a temporary
 * file first and are renamed into place, so a reader never sees half a record.
 */
export class FileSystemOversizeSink implements OversizeSink {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = directory;
  }

  async store(item: OversizeItem): Promise<string> {
    const target = path.join(this.directory, ...oversizeObjectName(item).split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, item.data);
    await rename(temporary, target);
    return target;
  }
}
