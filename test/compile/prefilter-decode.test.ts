import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readKinesisData } from '../../lambda/handlers/pipeline';

const RUNS = Number(process.env.PREFILTER_PROPERTY_RUNS ?? 1500);
/** Room for `PREFILTER_PROPERTY_RUNS` far above the default. */
const TIMEOUT = Math.max(30_000, RUNS * 20);

/** What Kinesis data the detect pipeline has always accepted as base64. */
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isStrictBase64 = (data: string): boolean => data.length % 4 === 0 && STRICT_BASE64.test(data);

const NOT_BASE64 = 'Kinesis data is not valid base64';

/** Base64 of some bytes, then maybe a few characters replaced or inserted, valid or not. */
const dataArbitrary = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'AQZaqz09+/=-_ \n\t!.é\u0100\u0000\ud800'.split('')), maxLength: 16 }),
  fc
    .tuple(
      fc.uint8Array({ maxLength: 120 }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.constantFrom('=', '==', '-', '_', ' ', '\n', '\r', '\t', '!', 'é', '\u0000', 'A', '+', '/'),
          fc.boolean(),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([bytes, edits]) => {
      let data = Buffer.from(bytes).toString('base64');
      for (const [at, text, replace] of edits) {
        const i = data.length === 0 ? 0 : at % data.length;
        data = data.slice(0, i) + text + data.slice(replace ? i + 1 : i);
      }
      return data;
    }),
);

describe('readKinesisData', () => {
  it(
    'accepts as base64 exactly what the strict expression accepts, and decodes it as Buffer does (property)',
    () => {
      fc.assert(
        fc.property(dataArbitrary, (data) => {
          const payload = readKinesisData(data);
          const rejected = payload.kind === 'bad' && payload.reason === NOT_BASE64;

          expect(rejected).toBe(!isStrictBase64(data));
          if (!rejected && payload.kind !== 'skipped') {
            expect(payload.raw?.equals(Buffer.from(data, 'base64'))).toBe(true);
          }
        }),
        { numRuns: RUNS * 10 },
      );
    },
    TIMEOUT,
  );

  it.each<[string, string]>([
    ['a length that is not a multiple of 4', 'eyJ9'.slice(0, 3)],
    ['URL-safe characters', 'e30-'],
    ['a newline', 'e30=\ne30='],
    ['padding in the middle', 'e30=e30='],
  ])('dead-letters data with %s', (_name, data) => {
    const payload = readKinesisData(data, () => false);

    expect(payload).toEqual({ kind: 'bad', raw: undefined, reason: NOT_BASE64 });
  });
});
