/**
 * Benchmark 2: the Kinesis path end to end, per record, as the detect function runs it: base64, gunzip
 * where the forwarder gzipped, UTF-8, `JSON.parse`, `recordsFromDocument`, then `Detector.evaluateRecord`
 * with the shipped rule (validation and the event's head; the full event only where the rule could
 * match). Engines from before `evaluateRecord` run `normalize` and the seed rule's predicate instead. The limit for a path that must parse every record is decoding and `JSON.parse` alone.
 *
 * The engine is imported from a directory (the repository's `lambda/` by default), so the same benchmark
 * can time an older copy of the engine for a before/after comparison.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { SourceName } from '../lambda/engine/ecs';
import { generateEvents } from './generate';
import { compare, formatNs, formatRatio, type Measured, table } from './harness';
import { REPO_ROOT, shippedRules } from './seed-rule';

export interface KinesisRow {
  readonly input: string;
  readonly bytes: number;
  readonly limit: Measured;
  readonly full: Measured;
  /** Limit time / full time (1 = as fast as decoding and parsing alone). */
  readonly vsLimit: number;
  /** The same full path on the engine before this work, timed in the same rounds. */
  readonly before?: { readonly full: Measured; readonly vsLimit: number };
}

export interface KinesisResult {
  readonly markdown: string;
  readonly rows: readonly KinesisRow[];
}

interface Engine {
  readonly normalize: (source: SourceName, record: unknown) => { doc: { event: { dataset: string } } };
  readonly recordsFromDocument: (value: unknown) => Iterable<{ source?: SourceName; record?: unknown }>;
  readonly compileKql: (query: string) => (doc: unknown) => boolean;
  /**
   * `(source, record) => matches` as the detect function evaluates a record (`Detector.evaluateRecord`,
   * which builds the full event only when a rule could match its head); absent in engines before it.
   */
  readonly evaluateRecord?: (source: SourceName, record: unknown) => number;
}

async function loadEngine(lambdaDir: string, rules: readonly unknown[]): Promise<Engine> {
  const normalizers = await import(`${lambdaDir}/engine/normalizers/index.ts`);
  const kql = await import(`${lambdaDir}/engine/kql/index.ts`);
  const { Detector } = await import(`${lambdaDir}/engine/detector/detector.ts`);
  const engine: Engine = {
    normalize: normalizers.normalize,
    recordsFromDocument: normalizers.recordsFromDocument,
    compileKql: kql.compileKql,
  };
  if (typeof Detector.prototype.evaluateRecord !== 'function') return engine;
  const { MemoryStore } = await import(`${lambdaDir}/engine/detector/memory-store.ts`);
  const detector = new Detector(rules, new MemoryStore());
  return {
    ...engine,
    evaluateRecord: (source, record) => detector.evaluateRecord(source, record).length,
  };
}

/** Kinesis `data` strings: one record per Kinesis record, or a gzipped Event Hub batch. */
export function kinesisPayloads(
  source: SourceName,
  count: number,
  options: { gzipBatch?: number; seed?: number } = {},
): { data: string[]; records: number; bytes: number } {
  const events = generateEvents(count, { seed: options.seed ?? 3, sources: [source] });
  const data: string[] = [];
  let bytes = 0;
  if (options.gzipBatch !== undefined) {
    for (let i = 0; i < events.length; i += options.gzipBatch) {
      const text = JSON.stringify({ records: events.slice(i, i + options.gzipBatch).map((e) => e.record) });
      bytes += Buffer.byteLength(text);
      data.push(gzipSync(text).toString('base64'));
    }
  } else {
    for (const event of events) {
      const text = JSON.stringify(event.record);
      bytes += Buffer.byteLength(text);
      data.push(Buffer.from(text).toString('base64'));
    }
  }
  return { data, records: events.length, bytes };
}

export async function benchKinesis(options: {
  quick: boolean;
  query: string;
  /** Another copy of the engine (`lambda/`), timed in the same rounds for a before/after comparison. */
  beforeDir?: string;
}): Promise<KinesisResult> {
  const rules = (await shippedRules()).filter((rule) => rule.query === options.query);
  const engine = await loadEngine(`${REPO_ROOT}/lambda`, rules);
  const oldEngine = options.beforeDir === undefined ? undefined : await loadEngine(options.beforeDir, rules);
  const { parsePayload } = await import(`${REPO_ROOT}/lambda/handlers/pipeline.ts`);
  const count = options.quick ? 1_500 : 6_000;
  const inputs: { name: string; source: SourceName; gzipBatch?: number }[] = [
    { name: 'CloudTrail record', source: 'aws-cloudtrail' },
    { name: 'Azure Activity record (Event Hub, no eventDataId)', source: 'azure-activity-logs' },
    { name: 'GCP audit LogEntry', source: 'gcp-audit-logs' },
    { name: 'Azure batch of 20, gzipped', source: 'azure-activity-logs', gzipBatch: 20 },
  ];
  const rows: KinesisRow[] = [];
  for (const input of inputs) {
    const payload = kinesisPayloads(
      input.source,
      count,
      input.gzipBatch === undefined ? {} : { gzipBatch: input.gzipBatch },
    );
    const limit = (): number => {
      let n = 0;
      for (const data of payload.data) {
        let bytes: Uint8Array = Buffer.from(data, 'base64');
        if (input.gzipBatch !== undefined) bytes = gunzipSync(bytes);
        const value = JSON.parse(
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
        );
        if (value !== null) n += 1;
      }
      return n;
    };
    const fullPath = (with_: Engine): (() => number) => {
      const predicate = with_.compileKql(options.query);
      return () => {
        let matched = 0;
        for (const data of payload.data) {
          for (const document of parsePayload(Buffer.from(data, 'base64')) as { value?: unknown }[]) {
            for (const item of with_.recordsFromDocument(document.value)) {
              if (item.source === undefined) continue;
              if (with_.evaluateRecord !== undefined) {
                matched += with_.evaluateRecord(item.source, item.record);
                continue;
              }
              const normalized = with_.normalize(item.source, item.record);
              if (predicate(normalized.doc)) matched += 1;
            }
          }
        }
        return matched;
      };
    };
    const [limitFigure, fullFigure, beforeFigure] = (await compare(
      [
        { name: 'decode + JSON.parse (limit)', run: limit, ops: payload.records },
        { name: 'full path', run: fullPath(engine), ops: payload.records },
        ...(oldEngine === undefined
          ? []
          : [{ name: 'full path, engine before', run: fullPath(oldEngine), ops: payload.records }]),
      ],
      { rounds: options.quick ? 5 : 15, minPassMs: options.quick ? 10 : 40 },
    )) as [Measured, Measured, Measured | undefined];
    rows.push({
      input: input.name,
      bytes: payload.bytes / payload.records,
      limit: limitFigure,
      full: fullFigure,
      vsLimit: 1 / fullFigure.vsFirst,
      ...(beforeFigure === undefined
        ? {}
        : { before: { full: beforeFigure, vsLimit: 1 / beforeFigure.vsFirst } }),
    });
  }
  const markdown = [
    `${count.toLocaleString('en-US')} records per input; times per record (median of interleaved passes); ` +
      '"vs limit" is the median per-round ratio of the limit\'s time to the full path\'s.',
    '',
    table(
      [
        'input',
        'bytes/record',
        'decode + JSON.parse (limit)',
        'full path',
        'full path vs limit',
        ...(oldEngine === undefined ? [] : ['full path before', 'before vs limit']),
      ],
      rows.map((row) => [
        row.input,
        row.bytes.toFixed(0),
        formatNs(row.limit.nsPerOp),
        formatNs(row.full.nsPerOp),
        formatRatio(row.vsLimit),
        ...(row.before === undefined
          ? []
          : [formatNs(row.before.full.nsPerOp), formatRatio(row.before.vsLimit)]),
      ]),
    ),
  ].join('\n');
  return { markdown, rows };
}
