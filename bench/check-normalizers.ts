/**
 * Before/after equality of the normalizers: performance work must not change one byte of their output.
 * Runs the current normalizers (the working tree) and a baseline copy (a commit's, `HEAD` by default,
 * extracted to a temp dir with `git archive`) over the benchmark's generated events, the shared corpus and mutated records
 * (timestamps in every shape `parseTimestamp` reads, records without ids, odd types), and compares the
 * normalized documents, their key order, provenance and errors.
 *
 * `npx tsx bench/check-normalizers.ts [--ref <commit> | --baseline <dir containing lambda/>] [--count N]`
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { SourceName } from '../lambda/engine/ecs';
import * as current from '../lambda/engine/normalizers';
import * as currentRead from '../lambda/engine/normalizers/read';
import { createRandom, generateEvents } from './generate';
import { REPO_ROOT } from './seed-rule';

type Normalizers = typeof current;
type Read = typeof currentRead;

const CORPUS = path.resolve(REPO_ROOT, '..', 'shared', 'corpus');

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function baselineDir(): string {
  const given = option('--baseline');
  if (given !== undefined) return path.resolve(given);
  const dir = mkdtempSync(path.join(tmpdir(), 'normalizers-baseline-'));
  const archive = execFileSync('git', ['archive', option('--ref') ?? 'HEAD', 'lambda'], { cwd: REPO_ROOT });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  return dir;
}

/** JSON with `undefined` made visible, so a property set to undefined differs from a missing one. */
function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (item === undefined ? '__undefined__' : item));
}

function outcome(normalizers: Normalizers, source: SourceName, record: unknown): unknown {
  try {
    return { ok: normalizers.normalize(source, record) };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

function mutations(record: Record<string, unknown>, seed: number): Record<string, unknown>[] {
  const random = createRandom(seed);
  const times = [
    '2024-05-01T12:00:00Z',
    '2024-05-01T12:00:00.1Z',
    '2024-05-01T12:00:00.57Z',
    '2024-05-01T12:00:00.999999999Z',
    '2024-02-29T23:59:59Z',
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-12-31T23:59:60Z',
    '2024-13-01T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '0099-05-01T12:00:00Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '2024-05-01t12:00:00z',
    '2024-05-01 12:00:00',
    ' 2024-05-01T12:00:00Z ',
    '2024-05-01T12:00:00+02:00',
    '2024-05-01T12:00Z',
    '2024-05-01',
    '2024-05-01T12:00:00.Z',
    '2024-05-01T12:00:00.1234567890Z',
    '２０２４-05-01T12:00:00Z',
    '0000-00-00T00:00:00Z',
    'Aug 12, 2020 12:16:24 PM',
    '1714560000',
    '',
  ];
  const out: Record<string, unknown>[] = [];
  for (const time of times) {
    out.push({ ...record, eventTime: time, time, timestamp: time });
  }
  const withoutIds = { ...record };
  for (const key of ['eventID', 'eventDataId', 'insertId']) delete withoutIds[key];
  out.push(withoutIds);
  out.push({ ...withoutIds, extra: { nested: [1, 'two', null, { b: 2, a: 1 }], emoji: '🔑', big: 1e21 } });
  out.push({
    ...withoutIds,
    'k"ey': 'a\\b',
    'ctl\u0001': '\ud800',
    'emoji🔑': '\u2028 \u007f',
    '10': [undefined, () => 1, Symbol('s')],
    '2': { z: -0, y: Number.NaN, x: 1.5e-7 },
  });
  out.push({
    ...record,
    userIdentity: {
      type: random.pick(['AssumedRole', 'FederatedUser', 'Root', 'AWSService', 'IAMUser']),
      arn: random.pick([
        'arn:aws:sts::1:assumed-role/R/S',
        'arn:aws:iam::1:user/u',
        'not-an-arn',
        'arn:aws:sts::1:federated-user/f',
      ]),
    },
  });
  out.push({
    ...record,
    sourceIPAddress: random.pick(['::1', '10.0.0.1', 'lambda.amazonaws.com', '256.1.1.1']),
  });
  out.push({ ...record, eventSource: 42 });
  return out;
}

async function main(): Promise<void> {
  const base = baselineDir();
  const baseline = (await import(path.join(base, 'lambda/engine/normalizers/index.ts'))) as Normalizers;
  const baselineRead = (await import(path.join(base, 'lambda/engine/normalizers/read.ts'))) as Read;
  const count = Number(option('--count') ?? 30_000);
  const inputs: { source: SourceName; record: unknown; from: string }[] = [];
  for (const event of generateEvents(count, { seed: 7, sensitiveRate: 0.05, trapRate: 0.05 })) {
    inputs.push({ source: event.source, record: event.record, from: 'generated' });
  }
  for (const [i, event] of generateEvents(300, { seed: 8 }).entries()) {
    for (const mutated of mutations(event.record, i))
      inputs.push({ source: event.source, record: mutated, from: 'mutated' });
  }
  for (const cloud of ['aws', 'azure', 'gcp']) {
    const dir = path.join(CORPUS, cloud);
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const file of files) {
      for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        for (const item of current.recordsFromDocument(JSON.parse(line))) {
          if ('source' in item)
            inputs.push({ source: item.source, record: item.record, from: `corpus ${file}` });
        }
      }
    }
  }
  let differences = 0;
  for (const input of inputs) {
    const before = outcome(baseline, input.source, input.record);
    const after = outcome(current, input.source, input.record);
    if (!isDeepStrictEqual(before, after) || serialize(before) !== serialize(after)) {
      differences += 1;
      if (differences <= 5) {
        console.error(
          `DIFFERENT (${input.from}, ${input.source}):\n  before ${serialize(before)}\n  after  ${serialize(after)}`,
        );
      }
    }
  }
  const timestamps: unknown[] = [];
  const random = createRandom(9);
  for (let i = 0; i < 200_000; i++) {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const fraction = random.chance(0.5) ? `.${random.hex(random.int(0, 10)).replace(/[a-f]/g, '7')}` : '';
    const zone = random.pick(['Z', 'z', '', '+01:00', ' UTC']);
    timestamps.push(
      `${pad(random.int(0, 10_000), 4)}-${pad(random.int(0, 13), 2)}-${pad(random.int(0, 32), 2)}${random.pick(['T', 't', ' '])}` +
        `${pad(random.int(0, 25), 2)}:${pad(random.int(0, 60), 2)}:${pad(random.int(0, 61), 2)}${fraction}${zone}`,
    );
  }
  timestamps.push(0, -1, 1e9, 1714560000123, { seconds: 1714560000, nanos: 5 }, null, undefined, '   ');
  let timestampDifferences = 0;
  for (const value of timestamps) {
    if (baselineRead.parseTimestamp(value) !== currentRead.parseTimestamp(value)) {
      timestampDifferences += 1;
      if (timestampDifferences <= 5) {
        console.error(
          `DIFFERENT parseTimestamp(${JSON.stringify(value)}): ${baselineRead.parseTimestamp(value)} vs ${currentRead.parseTimestamp(value)}`,
        );
      }
    }
  }
  console.log(
    `${inputs.length} records, ${timestamps.length} timestamps compared against ${base}: ` +
      `${differences} records and ${timestampDifferences} timestamps differ`,
  );
  if (differences > 0 || timestampDifferences > 0) process.exitCode = 1;
}

await main();
