/**
 * Issue 7, bad input, property-based: whatever arrives is a counted bad record or an alert, never a crash,
 * a retried batch or a lost neighbour; a mistyped query or rule fails loudly, naming where.
 *
 * Referenced, not repeated: `parseKql` on generated KQL and random strings (5,000 runs) and the
 * print → parse round trip (2,000 generated ASTs, 5,000 generated texts) in test/kql/print.test.ts;
 * 10,000-deep nesting in test/kql/parser.test.ts; normalizers on mutated and arbitrary records, 300 runs
 * each, in test/normalizers/robustness.test.ts; the table of rule mistakes in test/rules/loader.test.ts.
 * What is added here: Unicode and long queries, mutations of the seed query, and everything through the
 * detect handler's Kinesis path and the local scanner rather than the normalizers alone.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Alert } from '../../lambda/engine/alerts/alert';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import type { KqlNode } from '../../lambda/engine/kql';
import { KqlSyntaxError, parseKql, printKql, stripPositions } from '../../lambda/engine/kql';
import type { Rule } from '../../lambda/engine/rules';
import { parseRule, RuleValidationError } from '../../lambda/engine/rules';
import { detect, MAX_INFLATED_BYTES } from '../../lambda/handlers/pipeline';
import { RENDER_CHANNELS, renderForChannel } from '../../lambda/local/render-command';
import type { BadRecord } from '../../lambda/local/run';
import { runLocal } from '../../lambda/local/run';
import { SEED_QUERY_MULTILINE } from '../kql/seed';
import { SHIPPED_RULE } from '../rules/helpers';
import type { LocalAws } from '../support/local-aws';
import { startLocalAws } from '../support/local-aws';
import type { EventSpec, Stack } from './support';
import {
  expectedAlerts,
  newStack,
  payloadOf,
  rawEvent,
  runShard,
  shippedRules,
  streamOf,
  syntheticRecord,
} from './support';

const NOW = Date.parse('2026-11-28T10:00:00.000Z');

let aws: LocalAws;
let rules: readonly Rule[];

beforeAll(async () => {
  aws = await startLocalAws();
  rules = await shippedRules();
});

afterAll(async () => {
  await aws.stop();
});

afterEach(() => {
  // Nothing a record carries may reach a prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
});

// ---------------------------------------------------------------------------------------------------------
// The KQL parser

/** Characters that matter to the grammar, and ones no query should hold. */
const KQL_PIECES = [
  ...'():{}"*\\<>=!. \t\n\r',
  'and ',
  ' or ',
  'not ',
  'AND',
  'OR',
  'NOT',
  ':',
  '\u0000',
  '\u202e',
  '\u2028',
  '\ud800',
  '\udc00',
  '😀',
];

/** The seed query with 1–4 pieces inserted, deleted or replaced at random offsets. */
const mutatedSeed = fc
  .array(
    fc.record({
      op: fc.constantFrom('insert', 'delete', 'replace'),
      at: fc.nat(),
      piece: fc.oneof(fc.constantFrom(...KQL_PIECES), fc.string({ unit: 'binary', maxLength: 3 })),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((edits) => {
    let query = SEED_QUERY_MULTILINE;
    for (const { op, at, piece } of edits) {
      const offset = at % (query.length + 1);
      const rest = op === 'insert' ? query.slice(offset) : query.slice(offset + 1);
      query = query.slice(0, offset) + (op === 'delete' ? '' : piece) + rest;
    }
    return query;
  });

/** Either a syntax error pointing inside the query, or an AST that prints and parses back to itself. */
function parsesOrPointsAtTheMistake(query: string): void {
  let ast: KqlNode;
  try {
    ast = parseKql(query);
  } catch (error) {
    expect(error).toBeInstanceOf(KqlSyntaxError);
    const { position, line, column, query: reported } = error as KqlSyntaxError;
    expect(reported).toBe(query);
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThanOrEqual(query.length);
    const before = query.slice(0, position);
    expect(line).toBe(before.split('\n').length);
    expect(column).toBe(position - (before.lastIndexOf('\n') + 1) + 1);
    return;
  }
  const printed = printKql(ast);
  expect(stripPositions(parseKql(printed)), printed).toEqual(stripPositions(ast));
}

describe('parseKql on what an author can mistype', () => {
  it('throws only KqlSyntaxError, with a position, line and column that agree, on any Unicode text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc
            .array(fc.constantFrom(...KQL_PIECES, 'a', 'b', '1'), { maxLength: 80 })
            .map((parts) => parts.join('')),
        ),
        parsesOrPointsAtTheMistake,
      ),
      { numRuns: 3000 },
    );
  });

  it('points at the mistake in a mutated seed query, or round-trips what still parses', () => {
    fc.assert(fc.property(mutatedSeed, parsesOrPointsAtTheMistake), { numRuns: 3000 });
  });

  it.each<[string, string]>([
    ['20,000 disjuncts', Array.from({ length: 20_000 }, (_, i) => `a:${i}`).join(' or ')],
    ['a value list of 20,000', `a:(${Array.from({ length: 20_000 }, (_, i) => `v${i}`).join(' or ')})`],
    ['a 100,000-character value', `a:"${'x'.repeat(100_000)}"`],
    ['an unterminated 100,000-character value', `a:"${'x'.repeat(100_000)}`],
    ['50,000 wildcards', `a:${'*x'.repeat(50_000)}`],
    ['50,000 escapes', `a:${'\\('.repeat(50_000)}`],
    ['25,000 negations', `${'not '.repeat(25_000)}a:1`],
    ['100,000 open parentheses', '('.repeat(100_000)],
  ])('parses or rejects %s without overflowing the stack', (_name, query) => {
    parsesOrPointsAtTheMistake(query);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Hostile payloads through the detect handler's Kinesis path

const deep = (depth: number, shape: 'array' | 'object'): string =>
  shape === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** `text` with `value` (raw JSON text) in place of the JSON string `"@@"`. */
const inject = (text: string, value: string): string => text.replace('"@@"', value);

/** Serializes a value with `__proto__` and `constructor` members added to every object. */
function withHostileKeys(value: unknown): string {
  const hostile = '"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}';
  if (Array.isArray(value)) return `[${value.map(withHostileKeys).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}:${withHostileKeys(item)}`,
    );
    return `{${[hostile, ...members].join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

let sequence = 0;
function nextId(prefix: string): string {
  sequence += 1;
  return `${prefix}-${sequence}`;
}

/** A sensitive event of any cloud with its own user, so each one opens its own alert. */
function sensitive(cloud: EventSpec['cloud']): EventSpec {
  const id = nextId(cloud);
  return { cloud, id, user: `${id}@example.com`, time: '2026-11-28T09:30:00Z', sensitive: true };
}

/** Paths of the raw records where a hostile value goes (existing fields, and ones the normalizers read). */
const INJECTION_PATHS: Record<EventSpec['cloud'], readonly string[][]> = {
  aws: [
    ['requestParameters', 'deep'],
    ['userIdentity', 'type'],
    ['userAgent'],
    ['eventID'],
    ['awsRegion'],
    ['responseElements'],
  ],
  azure: [
    ['properties', 'deep'],
    ['caller'],
    ['claims', 'name'],
    ['eventDataId'],
    ['subscriptionId'],
    ['authorization', 'scope'],
  ],
  gcp: [
    ['resource', 'labels', 'email_id'],
    ['protoPayload', 'request', 'deep'],
    ['insertId'],
    ['resource', 'labels', 'project_id'],
    ['protoPayload', 'authenticationInfo', 'principalEmail'],
  ],
};

/** A sensitive record of `cloud` with the JSON text `value` at one of its injection paths. */
function sensitiveWith(cloud: EventSpec['cloud'], pick: number, value: string): string {
  const record = rawEvent(sensitive(cloud));
  const paths = INJECTION_PATHS[cloud];
  const target = paths[pick % paths.length] as string[];
  let node = record as Record<string, unknown>;
  for (const key of target.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[target.at(-1) as string] = '@@';
  return inject(JSON.stringify(record), value);
}

/**
 * Values no normalizer expects: deep, huge, lone surrogates, control characters, wrong types. Generated as
 * small descriptions (so a failing case prints readably) and rendered to JSON text by `valueText`.
 */
type HostileValue =
  | { readonly deep: number; readonly shape: 'array' | 'object' }
  | { readonly huge: number }
  | { readonly json: string };

const hostileValue: fc.Arbitrary<HostileValue> = fc.oneof(
  fc.record({
    deep: fc.integer({ min: 1, max: 100_000 }),
    shape: fc.constantFrom('array' as const, 'object' as const),
  }),
  fc.record({ huge: fc.integer({ min: 1_000, max: 400_000 }) }),
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ json: JSON.stringify(text) })),
  fc
    .constantFrom('"\\ud800"', '"a\\udc00b"', '"\\u0000\\u001b[31m\\r\\n"', 'null', '[]', '{}', '1e400', '-0')
    .map((json) => ({ json })),
  fc.jsonValue({ maxDepth: 4 }).map((value) => ({ json: JSON.stringify(value) })),
);

function valueText(value: HostileValue): string {
  if ('deep' in value) return deep(value.deep, value.shape);
  if ('huge' in value) return JSON.stringify('x'.repeat(value.huge));
  return value.json;
}

/** A hostile Kinesis record, described; `hostileData` makes its `data` (base64, or not). */
type Hostile =
  | { readonly kind: 'invalid base64'; readonly text: string }
  | { readonly kind: 'random bytes' | 'invalid UTF-8' | 'gzipped bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'truncated gzip'; readonly cut: number }
  | { readonly kind: 'wrong shape' | 'hostile keys'; readonly value: unknown }
  | { readonly kind: 'hostile keys in a sensitive record'; readonly cloud: EventSpec['cloud'] }
  | { readonly kind: 'deep nesting'; readonly depth: number }
  | {
      readonly kind: 'hostile value in a sensitive record';
      readonly cloud: EventSpec['cloud'];
      readonly pick: number;
      readonly value: HostileValue;
    }
  | { readonly kind: 'JSON Lines with bad lines'; readonly lines: readonly (string | null)[] };

const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64');
const cloud = fc.constantFrom<EventSpec['cloud']>('aws', 'azure', 'gcp');

const hostileRecord: fc.Arbitrary<Hostile> = fc.oneof(
  fc.string({ maxLength: 40 }).map((text) => ({ kind: 'invalid base64' as const, text })),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ kind: 'random bytes' as const, bytes })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'invalid UTF-8' as const, bytes })),
  fc.integer({ min: 2, max: 80 }).map((cut) => ({ kind: 'truncated gzip' as const, cut })),
  fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'gzipped bytes' as const, bytes })),
  fc.jsonValue({ maxDepth: 5 }).map((value) => ({ kind: 'wrong shape' as const, value })),
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'hostile keys' as const, value })),
  cloud.map((c) => ({ kind: 'hostile keys in a sensitive record' as const, cloud: c })),
  fc.integer({ min: 1, max: 100_000 }).map((depth) => ({ kind: 'deep nesting' as const, depth })),
  fc
    .record({ cloud, pick: fc.nat(), value: hostileValue })
    .map((fields) => ({ kind: 'hostile value in a sensitive record' as const, ...fields })),
  // `null` stands for a valid sensitive record's line.
  fc
    .array(fc.option(fc.string(), { nil: null }), { minLength: 2, maxLength: 5 })
    .map((lines) => ({ kind: 'JSON Lines with bad lines' as const, lines })),
);

function hostileData(hostile: Hostile): string {
  switch (hostile.kind) {
    case 'invalid base64':
      return `%${hostile.text}`;
    case 'random bytes':
      return b64(hostile.bytes);
    case 'invalid UTF-8':
      return b64(
        Buffer.concat([Buffer.from('{"eventID":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), hostile.bytes]),
      );
    case 'gzipped bytes':
      return b64(gzipSync(hostile.bytes));
    case 'truncated gzip':
      return b64(gzipSync(payloadOf(sensitive('aws'))).subarray(0, hostile.cut));
    case 'wrong shape':
      return b64(JSON.stringify(hostile.value));
    case 'hostile keys':
      return b64(withHostileKeys(hostile.value));
    case 'hostile keys in a sensitive record':
      return b64(withHostileKeys(rawEvent(sensitive(hostile.cloud))));
    case 'deep nesting':
      return b64(deep(hostile.depth, 'array'));
    case 'hostile value in a sensitive record':
      return b64(sensitiveWith(hostile.cloud, hostile.pick, valueText(hostile.value)));
    case 'JSON Lines with bad lines':
      return b64(hostile.lines.map((line) => line ?? JSON.stringify(rawEvent(sensitive('gcp')))).join('\n'));
  }
}

/** The payloads the reference can read (invalid base64 never reaches the engine). */
function readable(records: readonly KinesisStreamRecord[]): Buffer[] {
  return records
    .filter(
      (record) => /^[A-Za-z0-9+/]*={0,2}$/.test(record.kinesis.data) && record.kinesis.data.length % 4 === 0,
    )
    .map((record) => Buffer.from(record.kinesis.data, 'base64'));
}

/** Runs one batch and checks the contract: no retry, exactly the reference's alerts, bad records kept. */
async function checkBatch(
  stack: Stack,
  records: readonly KinesisStreamRecord[],
  hostile: ReadonlySet<string>,
) {
  const expected = await expectedAlerts(readable(records), rules, NOW);

  const response = await detect({ Records: [...records] }, stack.detectDeps(NOW));

  expect(response).toEqual({ batchItemFailures: [] });
  expect(stack.sns.alertCounts()).toEqual(new Map([...expected.alertIds].map((id) => [id, 1])));
  for (const dead of stack.deadLetters) expect(hostile).toContain(dead.location.sequenceNumber);
  expect(stack.observers.metric('BadRecords')).toBe(stack.deadLetters.length);
  expect(stack.observers.metric('RecordsRetried')).toBe(0);
  return expected;
}

/**
 * Hostile payloads worth naming, and what each must become: put into kinesalite between two valid
 * neighbours and read back, and written as files for the local scanner.
 */
const named: [string, () => Buffer, 'alert' | 'bad' | 'alert or bad'][] = [
  ['a 100,000-deep array', () => Buffer.from(deep(100_000, 'array')), 'bad'],
  ['a 100,000-deep object', () => Buffer.from(deep(100_000, 'object')), 'bad'],
  [
    'a sensitive CloudTrail record with a 100,000-deep request parameter',
    () => Buffer.from(sensitiveWith('aws', 0, deep(100_000, 'array'))),
    'alert',
  ],
  [
    'a sensitive CloudTrail record whose user identity type is 100,000 deep',
    () => Buffer.from(sensitiveWith('aws', 1, deep(100_000, 'object'))),
    'alert',
  ],
  [
    'a sensitive GCP record with a 100,000-deep resource label',
    () => Buffer.from(sensitiveWith('gcp', 0, deep(100_000, 'array'))),
    'alert',
  ],
  [
    'a sensitive Azure record with a 100,000-deep property',
    () => Buffer.from(sensitiveWith('azure', 0, deep(100_000, 'array'))),
    'alert',
  ],
  [
    // Without an event id the normalizer derives one by hashing the whole record.
    'a sensitive Azure record without an event id, 100,000 deep',
    () => {
      const record = rawEvent(sensitive('azure'));
      delete record.eventDataId;
      record.properties = '@@';
      return Buffer.from(inject(JSON.stringify(record), deep(100_000, 'array')));
    },
    'alert or bad',
  ],
  [
    'a 900 KB user agent on a sensitive record',
    () => Buffer.from(sensitiveWith('aws', 2, JSON.stringify('A'.repeat(900_000)))),
    'alert',
  ],
  [
    "a lone surrogate in a sensitive record's event id",
    () => Buffer.from(sensitiveWith('aws', 3, '"ct-\\ud800"')),
    'alert',
  ],
  [
    "a lone surrogate in a sensitive record's region",
    () => Buffer.from(sensitiveWith('aws', 4, '"us-east-1\\udc00"')),
    'alert',
  ],
  ['a lone surrogate in a GCP insertId', () => Buffer.from(sensitiveWith('gcp', 2, '"\\udbff"')), 'alert'],
  [
    'a lone surrogate in an Azure subscription',
    () => Buffer.from(sensitiveWith('azure', 4, '"\\ud800"')),
    'alert',
  ],
  [
    '__proto__ and constructor members everywhere in a sensitive record',
    () => Buffer.from(withHostileKeys(rawEvent(sensitive('azure')))),
    'alert',
  ],
  [
    'invalid UTF-8',
    () => Buffer.concat([Buffer.from('{"eventID":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
    'bad',
  ],
  ['a truncated gzip', () => gzipSync(payloadOf(sensitive('gcp'))).subarray(0, 20), 'bad'],
  ['a gzip bomb', () => gzipSync(Buffer.alloc(MAX_INFLATED_BYTES + 1024)), 'bad'],
  ['not JSON', () => Buffer.from('{"eventID": "x", truncated'), 'bad'],
  ['a bare number', () => Buffer.from('42'), 'bad'],
  [
    'NUL and escape characters inside a sensitive record',
    () => Buffer.from(sensitiveWith('gcp', 4, '"\\u0000\\u001b[2J\\r\\n"')),
    'alert',
  ],
];

describe('the detect handler on hostile Kinesis records', () => {
  it('keeps every valid neighbour alerting and every hostile record counted, whatever the batch holds', {
    timeout: 180_000,
  }, async () => {
    let cases = 0;
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(hostileRecord, fc.constantFrom('aws', 'azure', 'gcp')), {
          minLength: 1,
          maxLength: 8,
        }),
        async (items) => {
          cases += 1;
          const stack = await newStack(aws);
          const hostile = new Set<string>();
          const valid: string[] = [];
          const records = ['aws', ...items, 'gcp'].map((item, index) => {
            const seq = 1000 + index;
            if (typeof item === 'string') {
              const spec = sensitive(item as EventSpec['cloud']);
              valid.push(spec.id);
              return syntheticRecord(seq, b64(payloadOf(spec)));
            }
            kinds.set(item.kind, (kinds.get(item.kind) ?? 0) + 1);
            hostile.add(String(seq));
            return syntheticRecord(seq, hostileData(item));
          });

          await checkBatch(stack, records, hostile);

          const alerted = stack.sns.delivered.map((input) =>
            JSON.parse(JSON.parse(input.Message ?? '{}').lambda),
          );
          const alertedIds = new Set(alerted.map((message: { alert: Alert }) => message.alert.event.id));
          for (const id of valid) expect(alertedIds).toContain(id);
          stack.destroy();
        },
      ),
      { numRuns: 60 },
    );
    console.log(
      `hostile Kinesis batches: ${cases} generated cases; records by kind: ${JSON.stringify(Object.fromEntries(kinds))}`,
    );
  });

  it.each(named)(
    'handles %s: counted or alerting, never retried, neighbours alert',
    async (_name, build, outcome) => {
      const stack = await newStack(aws);
      const before = sensitive('azure');
      const after = sensitive('aws');
      const payload = build();
      const records = await streamOf(aws, [payloadOf(before), payload, payloadOf(after)]);
      const hostileSeq = records[1]?.kinesis.sequenceNumber ?? '';

      const expected = await checkBatch(stack, records, new Set([hostileSeq]));

      const alertedIds = stack.sns.delivered.map(
        (input) => (JSON.parse(JSON.parse(input.Message ?? '{}').lambda) as { alert: Alert }).alert.event.id,
      );
      expect(alertedIds).toEqual(expect.arrayContaining([before.id, after.id]));
      if (outcome === 'alert') {
        expect(expected.alertIds.size).toBe(3);
        expect(stack.deadLetters).toEqual([]);
      }
      if (outcome === 'bad') {
        expect(stack.deadLetters).toHaveLength(1);
        expect(Buffer.from(stack.deadLetters[0]?.raw ?? [])).toEqual(payload);
      }
      for (const input of stack.sns.delivered) {
        expect(Buffer.byteLength(input.Message ?? '')).toBeLessThan(256 * 1024);
      }
      stack.destroy();
    },
  );

  it('dead-letters data that is not base64, with the bytes that arrived, and goes on', async () => {
    const stack = await newStack(aws);
    const good = sensitive('gcp');
    const records = [
      syntheticRecord(1, '!!not base64!!'),
      syntheticRecord(2, 'QUJD=RA=='),
      syntheticRecord(3, b64(payloadOf(good))),
      syntheticRecord(4, 'YWJj\n'),
    ];

    await checkBatch(stack, records, new Set(['1', '2', '4']));

    expect(stack.deadLetters.map((dead) => dead.reason)).toEqual(
      Array(3).fill('Kinesis data is not valid base64'),
    );
    expect(Buffer.from(stack.deadLetters[0]?.raw ?? []).toString()).toBe('!!not base64!!');
    expect(stack.sns.alertIds()).toHaveLength(1);
    stack.destroy();
  });

  it('processes a whole shard read back from kinesalite with a hostile record every third, retrying nothing', async () => {
    const stack = await newStack(aws);
    const payloads: Buffer[] = [];
    for (const [index, [, build]] of named.entries()) {
      payloads.push(payloadOf(sensitive((['aws', 'azure', 'gcp'] as const)[index % 3])), build());
    }
    const records = await streamOf(aws, payloads);
    const expected = await expectedAlerts(readable(records), rules, NOW);

    const report = await runShard(records, (event) => detect(event, stack.detectDeps(NOW)), {
      batchSize: 10,
    });

    expect(report.retries).toBe(0);
    expect(stack.sns.alertCounts()).toEqual(new Map([...expected.alertIds].map((id) => [id, 1])));
    expect(expected.alertIds.size).toBeGreaterThanOrEqual(
      named.length + named.filter(([, , o]) => o === 'alert').length,
    );
    stack.destroy();
  });
});

// ---------------------------------------------------------------------------------------------------------
// The same through the local scanner

/** Runs the local detector over a folder, collecting alerts and bad records; it must not throw. */
async function scanLocally(dir: string) {
  const alerts: Alert[] = [];
  const bad: BadRecord[] = [];
  const summary = await runLocal({
    paths: [dir],
    rules,
    store: new MemoryStore(),
    mode: 'alerts',
    onAlert: (alert) => alerts.push(alert),
    onBadRecord: (record) => bad.push(record),
    now: () => new Date(NOW),
  });
  return { summary, alerts, bad };
}

describe('the local scanner on hostile files', () => {
  it('reads every named hostile payload as a file of its own, and as a line among valid ones, without throwing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'reliability-local-'));
    const valid: EventSpec[] = [];
    const lines: string[] = [];
    for (const [index, [, build]] of named.entries()) {
      const payload = build();
      await writeFile(path.join(dir, `hostile-${String(index).padStart(2, '0')}.json`), payload);
      await writeFile(path.join(dir, `hostile-${String(index).padStart(2, '0')}.json.gz`), gzipSync(payload));
      const spec = sensitive((['aws', 'azure', 'gcp'] as const)[index % 3]);
      valid.push(spec);
      lines.push(JSON.stringify(rawEvent(spec)), payload.toString('utf8').replaceAll('\n', ' '));
    }
    await writeFile(path.join(dir, 'mixed.jsonl'), `${lines.join('\n')}\n`);

    const { summary, alerts, bad } = await scanLocally(dir);

    expect(summary.files).toBe(2 * named.length + 1);
    expect(alerts.map((alert) => alert.event.id)).toEqual(
      expect.arrayContaining(valid.map((spec) => spec.id)),
    );
    expect(summary.badRecords).toBe(bad.length);
    expect(bad.length).toBeGreaterThanOrEqual(3 * named.filter(([, , o]) => o === 'bad').length - 2);
  });

  it.each(RENDER_CHANNELS)(
    'shows the alert on a sensitive record nested 100,000 deep as %s, cut to fit',
    async (channel) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'reliability-local-'));
      await writeFile(path.join(dir, 'deep.json'), sensitiveWith('aws', 0, deep(100_000, 'array')));
      const { alerts } = await scanLocally(dir);

      const shown = renderForChannel(alerts[0] as Alert, channel);

      expect(alerts).toHaveLength(1);
      expect(shown).toContain(alerts[0]?.event.id);
      expect(Buffer.byteLength(shown)).toBeLessThan(512 * 1024);
    },
  );

  it('alerts on every valid line of a JSON Lines file, whatever the other lines and files hold', {
    timeout: 180_000,
  }, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 200 }),
            fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
            hostileValue.map(valueText),
          ),
          { maxLength: 10 },
        ),
        fc.uint8Array({ maxLength: 2048 }),
        async (garbage, bytes) => {
          cases += 1;
          const dir = await mkdtemp(path.join(os.tmpdir(), 'reliability-local-'));
          const valid = (['aws', 'azure', 'gcp'] as const).map(sensitive);
          const lines = [...garbage.map((line) => line.replace(/[\r\n]/g, ' '))];
          for (const [i, spec] of valid.entries()) lines.splice(i * 3, 0, JSON.stringify(rawEvent(spec)));
          await writeFile(path.join(dir, 'a.jsonl'), lines.join('\n'));
          await writeFile(path.join(dir, 'b.json'), bytes);
          await writeFile(path.join(dir, 'c.json.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b]), bytes]));

          const { summary, alerts } = await scanLocally(dir);

          expect(summary.files).toBe(3);
          expect(alerts.map((alert) => alert.event.id)).toEqual(
            expect.arrayContaining(valid.map((spec) => spec.id)),
          );
        },
      ),
      { numRuns: 100 },
    );
    console.log(`hostile local folders: ${cases} generated cases`);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Rule files

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every field path of a rule document, in the loader's notation (`runbook.triage[0].commands[1].when`). */
function fieldPaths(value: Json, prefix = ''): string[] {
  const paths: string[] = [];
  const visit = (node: Json, at: string): void => {
    if (at !== '') paths.push(at);
    if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) visit(item, `${at}[${index}]`);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) visit(item, at === '' ? key : `${at}.${key}`);
    }
  };
  visit(value, prefix);
  return paths;
}

function getAt(root: Json, field: string): Json {
  let node = root;
  for (const [, key, index] of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    node = (
      index === undefined ? (node as Record<string, Json>)[key as string] : (node as Json[])[Number(index)]
    ) as Json;
  }
  return node;
}

function setAt(root: Json, field: string, value: Json): void {
  const steps = [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) =>
    index === undefined ? (key as string) : Number(index),
  );
  let node = root as Record<string | number, Json>;
  for (const step of steps.slice(0, -1)) node = node[step] as Record<string | number, Json>;
  node[steps.at(-1) as string | number] = value;
}

/** A query that does not parse, and where the parser says its mistake is. */
const BROKEN_KQL = 'event.provider:("AWS IAM" or "AWS STS"';
const BROKEN_KQL_POSITION = BROKEN_KQL.length;

/** Values that are wrong for the field they replace, by the field's own name; `undefined`: use a wrong type. */
function wrongValue(field: string, original: Json): { value: Json; kql?: boolean } | undefined {
  const leaf =
    field
      .replace(/\[\d+\]$/, '')
      .split('.')
      .at(-1) ?? '';
  if (typeof original !== 'string' && typeof original !== 'number' && typeof original !== 'boolean')
    return undefined;
  switch (leaf) {
    case 'severity':
      return { value: 'urgent' };
    case 'risk_score':
      return { value: 101 };
    case 'type':
      return { value: 'threshold' };
    case 'language':
      return { value: 'eql' };
    case 'interval':
    case 'window':
      return { value: '5 minutes' };
    case 'enabled':
      return { value: 'sometimes' };
    case 'version':
      return { value: 0 };
    case 'id':
      return { value: field.startsWith('threat') ? 'TA0003' : 'Not Kebab Case' };
    case 'references':
      return { value: 'not a url' };
    case 'index':
      return { value: 'logs-*' };
    case 'cloud':
      return { value: 'oci' };
    case 'command':
      return { value: 'aws iam list-users\nrm -rf ~' };
    case 'group_by':
      return { value: 'not a field!' };
    case 'query':
    case 'when':
      return { value: BROKEN_KQL, kql: true };
    default:
      // Free text (names, descriptions, tactics, notes): the only wrong value is an empty one.
      return { value: '' };
  }
}

describe('the rule loader on a mutated shipped rule', () => {
  it('throws a RuleValidationError naming the file, the mutated field and its line (and the offset of a query)', {
    timeout: 180_000,
  }, async () => {
    const { readFile } = await import('node:fs/promises');
    const shipped = parseYaml(await readFile(SHIPPED_RULE, 'utf8')) as Json;
    const paths = fieldPaths(shipped);
    const file = 'rules/abnormal-cloud-api-calls.yaml';
    const fields = new Set<string>();
    let cases = 0;

    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.constantFrom('type', 'value', 'unknown key'),
        (field, mistake) => {
          cases += 1;
          const rule = structuredClone(shipped);
          const original = getAt(rule, field);
          const isMapping = original !== null && typeof original === 'object' && !Array.isArray(original);
          let named = field;
          let kql = false;
          if (mistake === 'unknown key' && isMapping) {
            named = `${field}.severty`;
            setAt(rule, named, 'high');
          } else {
            const wrong = mistake === 'value' ? wrongValue(field, original) : undefined;
            kql = wrong?.kql === true;
            // A mapping becomes a number; anything else becomes a mapping.
            setAt(rule, field, wrong?.value ?? (isMapping ? 42 : { wrong: 'type' }));
          }
          fields.add(named);

          let error: unknown;
          try {
            parseRule(stringifyYaml(rule), file);
          } catch (caught) {
            error = caught;
          }

          expect(error, `${mistake} at ${named}`).toBeInstanceOf(RuleValidationError);
          const validation = error as RuleValidationError;
          expect(validation.file).toBe(file);
          expect(validation.message).toContain(file);
          const problem = validation.problems.find((candidate) => candidate.field === named);
          expect(problem, `${mistake} at ${named}: ${JSON.stringify(validation.problems)}`).toBeDefined();
          expect(validation.message).toContain(named);
          expect(problem?.line).toEqual(expect.any(Number));
          if (kql) expect(problem?.position).toBe(BROKEN_KQL_POSITION);
        },
      ),
      { numRuns: 600 },
    );
    console.log(
      `rule mutations: ${cases} generated cases over ${fields.size} distinct fields of ${paths.length}`,
    );
  });
});
