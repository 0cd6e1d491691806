/**
 * Kinesis Data Streams `PutRecords` limits. Sizes count the data blob before base64 encoding plus the
 * partition key's UTF-8 bytes, which is how Kinesis counts them against both the per-record and the
 * per-request limit.
 */
export interface KinesisLimits {
  /** Entries in one `PutRecords` call. */
  readonly maxRecordsPerCall: number;
  /** Data plus partition key bytes of all entries of one call. */
  readonly maxBytesPerCall: number;
  /** Data plus partition key bytes of one entry. */
  readonly maxBytesPerRecord: number;
}

export const KINESIS_LIMITS: KinesisLimits = Object.freeze({
  maxRecordsPerCall: 500,
  maxBytesPerCall: 5 * 1024 * 1024,
  maxBytesPerRecord: 1024 * 1024,
});

/** Kinesis caps partition keys at 256 Unicode characters; ours are always far shorter. */
export const MAX_PARTITION_KEY_LENGTH = 256;

/**
 * The largest payload the detector inflates from a gzipped Kinesis record
 * (`lambda/handlers/pipeline.ts`, `MAX_INFLATED_BYTES`): compressing a larger record would only move the
 * failure downstream, so such a record goes to the oversize store instead.
 */
export const DETECTOR_MAX_INFLATED_BYTES = 16 * 1024 * 1024;
