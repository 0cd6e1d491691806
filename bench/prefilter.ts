/**
 * Benchmark 3: the literal pre-filter on a realistic Kinesis mix (all three clouds, 1% of records the seed
 * rule's sensitive calls, 2% traps that carry a sensitive name elsewhere). Three ways to decide the same
 * records: the parse-everything limit (decode and `JSON.parse` alone), the full path without the filter,
 * and the full path behind the filter. Both full paths read each record's data as the detect pipeline does
 * (`readKinesisData`: strict base64, the filter over the bytes, UTF-8, `JSON.parse`) and evaluate it as it
 * does (`Detector.evaluateRecord`). The filtered path
 * must find exactly the matches of the unfiltered one (checked before timing).
 */

import { compileLiteralPrefilter } from '../lambda/engine/compile/literal-prefilter';
import { Detector } from '../lambda/engine/detector/detector';
import { MemoryStore } from '../lambda/engine/detector/memory-store';
import { recordsFromDocument, STREAM_SHAPES } from '../lambda/engine/normalizers';
import type { Rule } from '../lambda/engine/rules';
import { type KinesisPayload, readKinesisData } from '../lambda/handlers/pipeline';
import { generateEvents } from './generate';
import { compare, formatNs, formatRatio, type Measured, table } from './harness';

export interface PrefilterResult {
  readonly markdown: string;
  readonly passRate: number;
  /** Limit time / filtered time: how many times faster than parsing everything. */
  readonly vsLimit: number;
  readonly filteredNs: number;
  readonly unfilteredNs: number;
}

export async function benchPrefilter(options: {
  quick: boolean;
  rules: readonly Rule[];
}): Promise<PrefilterResult> {
  const count = options.quick ? 6_000 : 30_000;
  const events = generateEvents(count, { seed: 11, sensitiveRate: 0.01, trapRate: 0.02 });
  const data = events.map((event) => Buffer.from(JSON.stringify(event.record)).toString('base64'));
  // Compiled as the detect function compiles it (`streamPrefilter`): for what a Kinesis record may hold.
  const { test, description } = compileLiteralPrefilter(options.rules, STREAM_SHAPES);
  if (test === undefined) throw new Error('the shipped rules give no pre-filter');
  // As the detect pipeline evaluates a record: validation and the head, the full event only for a match.
  const detector = new Detector(options.rules, new MemoryStore());

  const decide = (payload: KinesisPayload): number => {
    if (payload.kind !== 'documents') return 0;
    let matched = 0;
    for (const document of payload.documents) {
      if ('error' in document) continue;
      for (const item of recordsFromDocument(document.value, STREAM_SHAPES)) {
        if ('error' in item) continue;
        matched += detector.evaluateRecord(item.source, item.record).length;
      }
    }
    return matched;
  };
  const limit = (): number => {
    let n = 0;
    for (const item of data) if (JSON.parse(Buffer.from(item, 'base64').toString('utf8')) !== null) n += 1;
    return n;
  };
  const unfiltered = (): number => {
    let matched = 0;
    for (const item of data) matched += decide(readKinesisData(item));
    return matched;
  };
  let passed = 0;
  const filtered = (): number => {
    let matched = 0;
    passed = 0;
    for (const item of data) {
      const payload = readKinesisData(item, test);
      if (payload.kind === 'skipped') continue;
      passed += 1;
      matched += decide(payload);
    }
    return matched;
  };
  const expected = unfiltered();
  if (filtered() !== expected) throw new Error('the pre-filter changed the matches');
  const sensitive = events.filter((event) => event.sensitive).length;
  if (expected !== sensitive)
    throw new Error(`expected ${sensitive} matches, the full path found ${expected}`);

  const measured = await compare(
    [
      { name: 'decode + JSON.parse every record (limit)', run: limit, ops: data.length },
      { name: 'full path, no pre-filter', run: unfiltered, ops: data.length },
      { name: 'full path behind the literal pre-filter', run: filtered, ops: data.length },
    ],
    { rounds: options.quick ? 5 : 15, minPassMs: options.quick ? 10 : 40 },
  );
  const [, unfilteredFigure, filteredFigure] = measured as [Measured, Measured, Measured];
  const passRate = passed / data.length;
  const vsLimit = 1 / filteredFigure.vsFirst;
  const markdown = [
    `${count.toLocaleString('en-US')} Kinesis records (a third per cloud, ${sensitive} sensitive = ` +
      `${((100 * sensitive) / count).toFixed(1)}%, 2% traps), the shipped rule; ` +
      `${(100 * passRate).toFixed(1)}% of records pass the filter and are parsed; both paths find the same ` +
      `${expected} matches.`,
    '',
    table(
      ['path', 'per record (median)', 'speed vs the limit'],
      measured.map((m) => [m.name, formatNs(m.nsPerOp), formatRatio(1 / m.vsFirst)]),
    ),
    '',
    `The filtered path runs at **${formatRatio(vsLimit)} the parse-everything limit** (target ≥ 3×) and ` +
      `${formatRatio(unfilteredFigure.vsFirst / filteredFigure.vsFirst)} the unfiltered path. ` +
      `Its condition, as compiled from the rule: \`${description}\`.`,
  ].join('\n');
  return {
    markdown,
    passRate,
    vsLimit,
    filteredNs: filteredFigure.nsPerOp,
    unfilteredNs: unfilteredFigure.nsPerOp,
  };
}
