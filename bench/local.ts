/**
 * Benchmark 5: the local detector (`npm start`'s engine, `runLocal`) over gzipped CloudTrail log files, as
 * an analyst runs the seed's 30-day retrospective: throughput in MB/s of uncompressed input and peak RSS,
 * at two input sizes to show that memory stays flat as the input grows. The files are generated into a
 * temp dir at bench time (deleted after), one `{"Records": [...]}` document per file like CloudTrail's S3
 * objects, 50–1,000 records each, 1% sensitive calls. Each size runs in a fresh child process, so its peak
 * RSS (`process.resourceUsage().maxRSS`) is its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRandom, generateOne } from './generate';
import { formatBytes, table } from './harness';
import { REPO_ROOT } from './seed-rule';

export interface LocalRun {
  readonly inputBytes: number;
  readonly gzippedBytes: number;
  readonly files: number;
  readonly records: number;
  readonly seconds: number;
  readonly mbPerSecond: number;
  readonly peakRssBytes: number;
  readonly alerts: number;
  readonly matched: number;
}

export interface LocalResult {
  readonly markdown: string;
  readonly runs: readonly LocalRun[];
  /** The same files through the engine before this work, run right after each size (with `beforeDir`). */
  readonly before?: readonly LocalRun[];
}

/** Writes gzipped CloudTrail files until `bytes` of uncompressed JSON; returns what it wrote. */
export function writeCloudTrailFiles(
  dir: string,
  bytes: number,
  seed: number,
): { files: number; records: number; inputBytes: number; gzippedBytes: number } {
  const random = createRandom(seed);
  let inputBytes = 0;
  let gzippedBytes = 0;
  let files = 0;
  let records = 0;
  let time = Date.UTC(2024, 4, 1);
  while (inputBytes < bytes) {
    const count = random.int(50, 1_000);
    const batch: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const roll = random.next();
      const kind = roll < 0.01 ? 'sensitive' : roll < 0.03 ? 'trap' : 'routine';
      time += random.int(1, 4_000);
      batch.push(generateOne(random, 'aws-cloudtrail', kind, new Date(time)).record);
    }
    const text = JSON.stringify({ Records: batch });
    const gzipped = gzipSync(text, { level: 6 });
    const day = new Date(time).toISOString().slice(0, 10).replaceAll('-', '/');
    const folder = path.join(dir, 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', day);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      path.join(folder, `111122223333_CloudTrail_us-east-1_${files}_${random.hex(16)}.json.gz`),
      gzipped,
    );
    inputBytes += Buffer.byteLength(text);
    gzippedBytes += gzipped.length;
    files += 1;
    records += count;
  }
  return { files, records, inputBytes, gzippedBytes };
}

/** Runs the local detector over `dir` in a child process and returns its own measurements. */
function runChild(
  dir: string,
  lambdaDir?: string,
): Omit<LocalRun, 'inputBytes' | 'gzippedBytes' | 'files'> & { bytes: number } {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'local-child.ts');
  const args = [
    '--no-warnings',
    '--import',
    'tsx',
    child,
    dir,
    ...(lambdaDir === undefined ? [] : [lambdaDir]),
  ];
  const out = execFileSync(process.execPath, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

export async function benchLocal(options: {
  quick: boolean;
  sizeBytes?: number;
  /** Another copy of the engine (`lambda/`), run on the same files right after, for a before/after figure. */
  beforeDir?: string;
}): Promise<LocalResult> {
  const large = options.sizeBytes ?? (options.quick ? 48 * 1024 * 1024 : 1024 * 1024 * 1024);
  const sizes = [Math.round(large / 4), large];
  const runs: LocalRun[] = [];
  const before: LocalRun[] = [];
  for (const [index, size] of sizes.entries()) {
    const dir = mkdtempSync(path.join(tmpdir(), 'cloudtrail-'));
    try {
      const written = writeCloudTrailFiles(dir, size, 100 + index);
      const measure = (lambdaDir?: string): LocalRun => {
        const result = runChild(dir, lambdaDir);
        return {
          inputBytes: written.inputBytes,
          gzippedBytes: written.gzippedBytes,
          files: written.files,
          records: result.records,
          seconds: result.seconds,
          mbPerSecond: result.bytes / 1e6 / result.seconds,
          peakRssBytes: result.peakRssBytes,
          alerts: result.alerts,
          matched: result.matched,
        };
      };
      runs.push(measure());
      if (options.beforeDir !== undefined) before.push(measure(options.beforeDir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const markdown = [
    'Generated CloudTrail S3 objects (`{"Records": [...]}`, gzip level 6, 50–1,000 records each, 1% sensitive ' +
      'calls), read by `runLocal` with the shipped rule and the embedded store, alerts mode; one fresh child ' +
      'process per size and engine. MB/s counts uncompressed input (10^6 bytes).' +
      (before.length > 0 ? ' "Before": the engine before this work, on the same files right after.' : ''),
    '',
    table(
      [
        'input (uncompressed)',
        'gzipped',
        'files',
        'records',
        'time',
        'throughput',
        'peak RSS',
        'matches / alerts',
        ...(before.length > 0 ? ['before: throughput', 'before: peak RSS'] : []),
      ],
      runs.map((run, index) => [
        formatBytes(run.inputBytes),
        formatBytes(run.gzippedBytes),
        run.files.toLocaleString('en-US'),
        run.records.toLocaleString('en-US'),
        `${run.seconds.toFixed(1)} s`,
        `${run.mbPerSecond.toFixed(1)} MB/s`,
        formatBytes(run.peakRssBytes),
        `${run.matched.toLocaleString('en-US')} / ${run.alerts.toLocaleString('en-US')}`,
        ...(before[index] === undefined
          ? []
          : [
              `${(before[index] as LocalRun).mbPerSecond.toFixed(1)} MB/s`,
              formatBytes((before[index] as LocalRun).peakRssBytes),
            ]),
      ]),
    ),
  ].join('\n');
  return { markdown, runs, ...(before.length > 0 ? { before } : {}) };
}
