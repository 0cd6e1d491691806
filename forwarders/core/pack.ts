/**
 * Packs entries into `PutRecords` calls. Pure and order-preserving, so the property tests can check it on
 * sizes alone: every call stays within the record-count and byte limits, and the calls concatenated are the
 * input, nothing dropped or repeated.
 */
import type { KinesisLimits } from './limits';

/**
 * Greedy packing in input order: an entry joins the current call unless it would take the call past a
 * limit. Greedy is optimal here (each call is as full as the next entry allows) and keeps retries of
 * failed entries in their original relative order.
 *
 * @param sizeOf the entry's data bytes plus partition key bytes.
 * @throws RangeError for an entry larger than `limits.maxBytesPerRecord` (the oversize policy runs first,
 *   so this is a bug, never a property of the input).
 */
export function packBatches<T>(
  entries: readonly T[],
  sizeOf: (entry: T) => number,
  limits: KinesisLimits,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (!Number.isFinite(size) || size < 0 || size > limits.maxBytesPerRecord) {
      throw new RangeError(
        `an entry of ${size} bytes exceeds the ${limits.maxBytesPerRecord}-byte record limit`,
      );
    }
    if (
      current.length > 0 &&
      (current.length >= limits.maxRecordsPerCall || currentBytes + size > limits.maxBytesPerCall)
    ) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
