/**
 * `npm run bench`: every benchmark in one process and one run, written to BENCHMARKS.md between its
 * `<!-- bench:begin -->` and `<!-- bench:end -->` markers (the prose around them is kept).
 *
 *   npm run bench                      full run (~10 min here), 1 GB of generated CloudTrail for the local run
 *   npm run bench -- --quick           a smoke run (< 1 min): small inputs, few rounds; prints, writes nothing
 *   npm run bench -- --size 256MB      the local run's larger input size (the smaller is a quarter of it)
 *   npm run bench -- --only kinesis    some sections only (rules, kinesis, prefilter, bundles, local, cost)
 *   npm run bench -- --quick --write   write the quick figures to BENCHMARKS.md anyway
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import esbuild from 'esbuild';
import { type BundleResult, benchBundles } from './bundles';
import { costModel, DEFAULT_DURATIONS, type MeasuredDurations } from './cost-model';
import { formatRatio, table } from './harness';
import { benchKinesis, type KinesisResult } from './kinesis';
import { benchLocal, type LocalResult } from './local';
import { benchPrefilter, type PrefilterResult } from './prefilter';
import { benchRuleEvaluation, type RuleEvalResult } from './rule-eval';
import { REPO_ROOT, seedQuery, shippedRules } from './seed-rule';

const SECTIONS = ['rules', 'kinesis', 'prefilter', 'bundles', 'local', 'cost'] as const;
type Section = (typeof SECTIONS)[number];

/**
 * The same benchmarks run on the engine before this work (commit 98db6e8, via the `lambdaDir` options),
 * on this machine; kept as constants since that engine is no longer in the tree.
 */
const BEFORE = {
  commit: '98db6e8',
  ruleVsLimit: 0.34,
  ruleVsMingo: 14.7,
  kinesisVsLimit: { cloudtrail: 0.37, azure: 0.12, gcp: 0.41, azureGzip: 0.17 },
  localMbPerSecond: 0,
} as const;

interface Options {
  readonly quick: boolean;
  readonly write: boolean;
  readonly sizeBytes: number | undefined;
  readonly only: ReadonlySet<Section>;
}

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(name);
    return index === -1 ? undefined : argv[index + 1];
  };
  const size = value('--size');
  let sizeBytes: number | undefined;
  if (size !== undefined) {
    const match = /^(\d+(?:\.\d+)?)\s*(KB|MB|GB)?$/i.exec(size);
    if (match === null) throw new Error(`--size ${size}: expected e.g. 256MB or 1GB`);
    const unit = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[
      (match[2] ?? 'MB').toUpperCase() as 'KB' | 'MB' | 'GB'
    ];
    sizeBytes = Math.round(Number(match[1]) * unit);
  }
  const only = value('--only');
  const sections = only === undefined ? SECTIONS : only.split(',');
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw new Error(`--only: unknown section ${section}`);
  }
  return {
    quick,
    write: argv.includes('--write') || !quick,
    sizeBytes,
    only: new Set(sections as Section[]),
  };
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores (shared with other engineers' test runs), ` +
      `${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`,
    `- Node ${process.version}, V8 ${process.versions.v8}, esbuild ${esbuild.version}; load average at start ` +
      `${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(', ')}`,
  ].join('\n');
}

function verdict(value: number, target: number): string {
  return value >= target
    ? `met (${formatRatio(value / target)} the target)`
    : `**missed** by ${formatRatio(target / value)}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const rules = await shippedRules();
  const parts: string[] = [];
  const log = (text: string): void => {
    process.stderr.write(`${text}\n`);
  };
  let ruleEval: RuleEvalResult | undefined;
  let kinesis: KinesisResult | undefined;
  let prefilter: PrefilterResult | undefined;
  let bundles: BundleResult | undefined;
  let local: LocalResult | undefined;

  if (options.only.has('rules')) {
    log('1/5 rule evaluation…');
    ruleEval = await benchRuleEvaluation({ quick: options.quick });
  }
  if (options.only.has('kinesis')) {
    log('2/5 Kinesis path…');
    kinesis = await benchKinesis({ quick: options.quick, query: seedQuery() });
  }
  if (options.only.has('prefilter')) {
    log('3/5 literal pre-filter…');
    prefilter = await benchPrefilter({ quick: options.quick, rules });
  }
  if (options.only.has('bundles')) {
    log('4/5 bundles…');
    bundles = await benchBundles({ quick: options.quick });
  }
  if (options.only.has('local')) {
    log('5/5 local detector…');
    local = await benchLocal({
      quick: options.quick,
      ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
    });
  }

  const kinesisRow = (prefix: string) => kinesis?.rows.find((row) => row.input.startsWith(prefix));
  const summary: string[][] = [];
  if (ruleEval !== undefined) {
    summary.push([
      '1. Compiled KQL vs hand-written predicate',
      '≥ 0.5×',
      formatRatio(BEFORE.ruleVsLimit),
      formatRatio(ruleEval.vsLimit),
      verdict(ruleEval.vsLimit, 0.5),
    ]);
    summary.push([
      '1. Compiled KQL vs mingo',
      '≥ 20×',
      formatRatio(BEFORE.ruleVsMingo),
      formatRatio(ruleEval.vsMingo),
      verdict(ruleEval.vsMingo, 20),
    ]);
  }
  if (kinesis !== undefined) {
    for (const [label, prefix, before] of [
      ['CloudTrail', 'CloudTrail', BEFORE.kinesisVsLimit.cloudtrail],
      ['Azure (derived ids)', 'Azure Activity', BEFORE.kinesisVsLimit.azure],
      ['GCP', 'GCP', BEFORE.kinesisVsLimit.gcp],
      ['Azure gzipped batch', 'Azure batch', BEFORE.kinesisVsLimit.azureGzip],
    ] as const) {
      const row = kinesisRow(prefix);
      if (row === undefined) continue;
      summary.push([
        `2. Kinesis path vs decode + parse, ${label}`,
        '≥ 0.7×',
        formatRatio(before),
        formatRatio(row.vsLimit),
        verdict(row.vsLimit, 0.7),
      ]);
    }
  }
  if (prefilter !== undefined) {
    summary.push([
      '3. Pre-filtered path vs parse-everything limit',
      '≥ 3×',
      'no pre-filter (0.34×)',
      formatRatio(prefilter.vsLimit),
      verdict(prefilter.vsLimit, 3),
    ]);
  }
  if (bundles !== undefined) {
    const detect = bundles.rows.find((row) => row.name === 'detect');
    if (detect !== undefined) {
      summary.push([
        '4. detect bundle size',
        '< 400 KB',
        '—',
        `${(detect.bytes / 1000).toFixed(0)} KB`,
        detect.bytes < 400_000 ? 'met' : '**missed**',
      ]);
      summary.push([
        '4. detect module init',
        '< 60 ms',
        '—',
        `${detect.initMs.toFixed(0)} ms`,
        detect.initMs < 60 ? 'met' : `**missed** by ${formatRatio(detect.initMs / 60)}`,
      ]);
    }
  }
  if (local !== undefined) {
    const worst = Math.min(...local.runs.map((run) => run.mbPerSecond));
    const peak = Math.max(...local.runs.map((run) => run.peakRssBytes));
    summary.push([
      '5. Local detector throughput',
      '≥ 50 MB/s',
      BEFORE.localMbPerSecond > 0 ? `${BEFORE.localMbPerSecond} MB/s` : '—',
      `${worst.toFixed(1)} MB/s`,
      verdict(worst, 50),
    ]);
    summary.push([
      '5. Local detector peak RSS',
      '< 200 MB, flat',
      '—',
      `${(peak / 1024 ** 2).toFixed(0)} MiB`,
      peak < 200 * 1024 ** 2 ? 'met' : '**missed**',
    ]);
  }

  parts.push(machine(), '');
  if (summary.length > 0) {
    parts.push(
      '### Targets',
      '',
      table(['what', 'target', `before (${BEFORE.commit})`, 'now', 'verdict'], summary),
      '',
    );
  }
  if (ruleEval !== undefined)
    parts.push('### 1. Rule evaluation on normalized events', '', ruleEval.markdown, '');
  if (kinesis !== undefined) parts.push('### 2. The Kinesis path end to end', '', kinesis.markdown, '');
  if (prefilter !== undefined) parts.push('### 3. The literal pre-filter', '', prefilter.markdown, '');
  if (bundles !== undefined) parts.push('### 4. Lambda bundles', '', bundles.markdown, '');
  if (local !== undefined)
    parts.push('### 5. The local detector over CloudTrail files', '', local.markdown, '');
  if (options.only.has('cost')) {
    const durations: MeasuredDurations =
      prefilter === undefined
        ? DEFAULT_DURATIONS
        : {
            kinesisUsPerRecord: prefilter.unfilteredNs / 1e3,
            kinesisPrefilteredUsPerRecord: prefilter.filteredNs / 1e3,
          };
    parts.push('### Cost model', '', costModel(durations), '');
  }
  const seconds = (performance.now() - started) / 1000;
  parts.push(`_This run took ${seconds.toFixed(0)} s${options.quick ? ' (--quick)' : ''}._`);
  const generated = parts.join('\n');

  if (!options.write) {
    console.log(generated);
    return;
  }
  const file = path.join(REPO_ROOT, 'BENCHMARKS.md');
  const current = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`BENCHMARKS.md lacks the ${begin} … ${end} markers`);
  writeFileSync(file, `${current.slice(0, from + begin.length)}\n${generated}\n${current.slice(to)}`);
  log(`wrote BENCHMARKS.md (${seconds.toFixed(0)} s)`);
}

await main();
