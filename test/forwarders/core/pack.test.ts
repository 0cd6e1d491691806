import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KINESIS_LIMITS, type KinesisLimits } from '../../../forwarders/core/limits';
import { packBatches } from '../../../forwarders/core/pack';

interface Item {
  readonly id: number;
  readonly size: number;
}

const sizeOf = (item: Item): number => item.size;

function checkPacking(items: readonly Item[], limits: KinesisLimits): void {
  const batches = packBatches(items, sizeOf, limits);

  // Within every limit.
  for (const batch of batches) {
    expect(batch.length).toBeGreaterThan(0);
    expect(batch.length).toBeLessThanOrEqual(limits.maxRecordsPerCall);
    expect(batch.reduce((sum, item) => sum + item.size, 0)).toBeLessThanOrEqual(limits.maxBytesPerCall);
    for (const item of batch) expect(item.size).toBeLessThanOrEqual(limits.maxBytesPerRecord);
  }
  // Nothing dropped, nothing repeated, order kept.
  expect(batches.flat().map((item) => item.id)).toEqual(items.map((item) => item.id));
  // Greedy: each call was closed only because the next entry did not fit.
  for (let index = 0; index + 1 < batches.length; index += 1) {
    const batch = batches[index] as Item[];
    const next = (batches[index + 1] as Item[])[0] as Item;
    const bytes = batch.reduce((sum, item) => sum + item.size, 0);
    expect(batch.length === limits.maxRecordsPerCall || bytes + next.size > limits.maxBytesPerCall).toBe(
      true,
    );
  }
}

const itemsOf = (maxRecordBytes: number, maxCount: number) =>
  fc
    .array(fc.integer({ min: 0, max: maxRecordBytes }), { maxLength: maxCount })
    .map((sizes) => sizes.map((size, id) => ({ id, size })));

describe('packBatches', () => {
  it('never exceeds a Kinesis limit and never drops or repeats an entry, for any sizes and counts', () => {
    fc.assert(
      fc.property(itemsOf(KINESIS_LIMITS.maxBytesPerRecord, 2_000), (items) => {
        checkPacking(items, KINESIS_LIMITS);
      }),
      { numRuns: 300 },
    );
  });

  it('holds on small limits too, where every boundary is hit often', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            maxRecordsPerCall: fc.integer({ min: 1, max: 6 }),
            maxBytesPerRecord: fc.integer({ min: 1, max: 20 }),
            extra: fc.integer({ min: 0, max: 40 }),
          })
          .chain(({ maxRecordsPerCall, maxBytesPerRecord, extra }) =>
            fc.tuple(
              fc.constant({
                maxRecordsPerCall,
                maxBytesPerRecord,
                maxBytesPerCall: maxBytesPerRecord + extra,
              }),
              itemsOf(maxBytesPerRecord, 60),
            ),
          ),
        ([limits, items]) => {
          checkPacking(items, limits);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('fills calls to 500 entries when entries are small', () => {
    const items = Array.from({ length: 1_234 }, (_, id) => ({ id, size: 100 }));

    const batches = packBatches(items, sizeOf, KINESIS_LIMITS);

    expect(batches.map((batch) => batch.length)).toEqual([500, 500, 234]);
  });

  it('closes a call at 5 MiB when entries are large', () => {
    const mib = 1024 * 1024;
    const items = Array.from({ length: 11 }, (_, id) => ({ id, size: mib }));

    const batches = packBatches(items, sizeOf, KINESIS_LIMITS);

    expect(batches.map((batch) => batch.length)).toEqual([5, 5, 1]);
  });

  it('returns no calls for no entries', () => {
    expect(packBatches([], sizeOf, KINESIS_LIMITS)).toEqual([]);
  });

  it('throws for an entry over the record limit, which the oversize policy must have handled', () => {
    expect(() =>
      packBatches([{ id: 0, size: KINESIS_LIMITS.maxBytesPerRecord + 1 }], sizeOf, KINESIS_LIMITS),
    ).toThrow(RangeError);
  });
});
