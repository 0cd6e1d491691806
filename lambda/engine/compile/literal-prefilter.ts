/**
 * Compile target 4 (DESIGN.md): a literal pre-filter over the raw bytes of a Kinesis payload. A rule can
 * only match a record whose raw JSON holds certain literal values — `event.provider:"AWS IAM"` needs
 * `"eventSource": "iam.amazonaws.com"` in a CloudTrail record, `event.action:"roleAssignments/write"` needs an
 * `"operationName"` ending in `/roleassignments/write`, in any case, in an Azure one — so a payload that
 * holds none of a rule's required literals is skipped without decoding or parsing it. In a stream where 1%
 * of records are sensitive calls, that is nearly all of them.
 *
 * The filter must be SOUND: it passes every payload in which the full path (decode, normalize, predicate)
 * could find a match; it may pass more. Everything it knows about raw records comes from the normalizers'
 * `rawMatchesFor`, the same source as the EventBridge pattern and the Athena WHERE clause:
 * - `field:value` → the raw conditions the catalog gives (several → any of them); a field the catalog does
 *   not constrain → "can't rule out"; a value no record of the source can produce → "never";
 * - `and` → all, `or` → any, and every source the rule selects → any;
 * - `not`, ranges, `exists`, nested queries, wildcards, free text → "can't rule out" (a negation of an
 *   over-approximation is not one).
 * A raw condition on the string at `a.b` becomes a needle: the value as JSON writes it, quoted where the
 * value starts or ends (`equals iam.amazonaws.com` → `"iam.amazonaws.com"`, `prefix` → `"value`, a suffix →
 * `value"`), which must stand at the start or the end of the string value of a key `"b"` (any `"b"` in the
 * payload: which object holds it is not checked), and the key `"a"` must appear too. The normalizers read
 * raw paths key for key, as the EventBridge pattern and the Athena SQL also assume.
 *
 * It reads bytes, not text: the payload after gunzip, one character per byte, never UTF-8-decoded. In UTF-8
 * an ASCII byte only ever stands for that ASCII character (every byte of any other character is ≥ 0x80)
 * and a string's bytes are in a text's bytes exactly when it is in the text, so searching bytes is exact;
 * case is only ignored for ASCII (a case-insensitive value with anything else stays unfiltered).
 *
 * What it costs is searches: V8 finds a string by `memchr` on its first character, then compares, so a
 * search costs a pass over the payload plus a stop at every occurrence of that character, and audit-log
 * JSON is full of `"`, lower-case letters and digits. So each key or needle is found through a probe: a
 * few of its characters from a rare one on, in both cases when case is ignored; one probe serves every
 * key or needle it is in (`Name` finds `"eventName"`, `"methodName"`, `"operationName"` and
 * `"serviceName"`), and each hit is compared in place. A needle in a key's value is found through the key
 * when that is cheaper, then its value is read right there, so the seed rule needs two probes (`Name`,
 * `Deta`) to rule out a typical record of any cloud; the probes are planned, and the condition ordered,
 * to rule records out with as few searches as possible (`plan`), and answers are memoized per payload.
 *
 * JSON may spell the same string differently, and a case-insensitive comparison may see letters the bytes
 * do not have, so the filter passes a payload whenever a needle could be hidden:
 * - any `\u` escape (a writer may escape any character, in keys too) → pass;
 * - a Pub/Sub-style `"data": "<base64 or JSON string>"` member, which `recordsFromDocument` decodes into
 *   records the bytes do not show → pass, unless the reader does not open Pub/Sub messages (the detect
 *   function's does not: `STREAM_SHAPES`); the filter is compiled for the reader's `DocumentShapes`;
 * - a character whose `toLowerCase()` holds an ASCII letter of a case-insensitive needle (U+212A KELVIN
 *   SIGN → `k`, U+0130 → `i̇`; see `FOLDS_INTO_ASCII`) → pass; not searched for when the caller says the
 *   payload is ASCII (`encoding` `'ascii'`), which it can know from a check it makes anyway;
 * - `\/` anywhere (a writer may escape `/`) → every needle is split at `/` and each piece must appear
 *   somewhere (keys are not checked then).
 * The caller gunzips first: the filter never reads compressed bytes.
 *
 * Pure: no AWS SDK, no I/O. A compiled filter keeps its scratch state between calls, so it is not
 * re-entrant; it is synchronous, so one filter serves a whole container.
 */
import type { SourceName } from '../ecs';
import type { KqlNode } from '../kql';
import { type DocumentShapes, type RawMatch, rawMatchesFor } from '../normalizers';
import { parsePath } from './eventbridge-pattern';
import { andProviders, forProviders, type Providers } from './providers';

/**
 * What the filter needs of a rule: its query and the sources its index patterns select. A rule without its
 * parsed query could match anything: then nothing is filtered. (A `DetectorRule` is one.)
 */
export interface PrefilterRule {
  readonly ast?: KqlNode | undefined;
  readonly sources: readonly SourceName[];
}

/**
 * `true` when a rule could match a record in this payload: parse it. `false`: skip it. The payload is its
 * bytes after gunzip, before any UTF-8 decoding: a `Uint8Array`, or, with `encoding` `'latin1'`, a string of
 * one char per byte (what `atob` returns, and what the detect pipeline passes: the form V8 searches
 * fastest). `'ascii'` says the same of a string whose every char is below 0x80 (the caller checked), which
 * spares the search for non-ASCII characters that fold into ASCII. A string without `encoding` is text,
 * read as its UTF-8 bytes.
 */
export type PayloadFilter = (payload: Uint8Array | string, encoding?: PayloadEncoding) => boolean;

/** How a string payload holds its bytes (see `PayloadFilter`). */
export type PayloadEncoding = 'latin1' | 'ascii';

export interface LiteralPrefilter {
  /** Undefined when some rule can match without any literal (nothing could be skipped): don't filter. */
  readonly test: PayloadFilter | undefined;
  /**
   * The condition in words, for logs and reviewers: `(eventSource:"iam.amazonaws.com" and …) or …`
   * (`key:needle` for a needle in the key's string value).
   */
  readonly description: string;
}

/**
 * Non-ASCII characters whose `toLowerCase()` holds ASCII, with that ASCII: a case-insensitive raw
 * comparison (`rawMatchHolds`, the normalizers' catalog look-ups) sees `k` in `storageAccounts/listKeys`
 * spelled with U+212A, which no byte search for `k` finds. Complete for this runtime's Unicode data:
 * `test/compile/prefilter-folding.test.ts` checks every code point.
 */
export const FOLDS_INTO_ASCII: readonly { readonly char: string; readonly ascii: string }[] = [
  { char: '\u0130', ascii: 'i' },
  { char: '\u212a', ascii: 'k' },
];

/** A needle: text that must appear in the payload (in any ASCII case when `ignoreCase`). */
interface Needle {
  readonly kind: 'needle';
  /** As JSON spells it (lower case when `ignoreCase`), after its key if it has one, for `describe`. */
  readonly label: string;
  /** As bytes, one char per byte. */
  readonly text: string;
  readonly ignoreCase: boolean;
  /**
   * Where it must stand: at the start or the end of the string value of `key`, anywhere, or (`object`,
   * with no text) the value of `key` must be an object: the keys on the way to a raw value.
   */
  readonly at: 'start' | 'end' | 'anywhere' | 'object';
  /** That key, quoted, as bytes: checked before the value when the needle is its own spot. */
  readonly key: string | undefined;
  /** The guessed chance that a record holds it (see `FIELD_SELECTIVITY`). */
  readonly selectivity: number;
  /** The pieces between `/`s, for a payload that escapes `/` as `\/`. */
  readonly pieces: readonly string[];
  /** What a probe finds for it: itself, or its key (set by `Spots.assign`). */
  spot: Spot;
  /** Its slot in the payload's memo (set when the filter is compiled). */
  id: number;
}

/**
 * What a probe finds: a needle (then the key before its value, if it has one), or a key whose values hold
 * needles (then each needle in the value after it). See `Spots.assign`.
 */
interface Spot {
  /** As bytes, one char per byte: the needle, or the key quoted (`"eventSource"`). */
  readonly text: string;
  readonly ignoreCase: boolean;
  readonly isKey: boolean;
  /** The needle it is, or the needles its values are checked for. */
  readonly needles: Needle[];
  /** Set when the probes are chosen: the probe that finds it, and where the probe sits in `text`. */
  probe: Probe;
  offset: number;
  /**
   * A char of `text` next to the probe, compared before the rest (-1: none), so that a hit of a probe
   * that serves several spots (`Na`) costs one comparison for each spot it is not.
   */
  precheck: number;
  /** For a key: its needles by the byte a value is compared at first (set when the filter is compiled). */
  values: ValueIndex;
}

/**
 * A key's needles, indexed so that a value after the key is compared only with the needles it could hold:
 * most values hold none, and a key like `"operationName"` has a dozen (`keyValues`).
 */
interface ValueIndex {
  /** The needles that only need the value to be an object. */
  readonly objects: readonly Needle[];
  /** By the byte after the value's opening quote, in both cases when ignoring case: needles at its start. */
  readonly starts: readonly (readonly Needle[] | undefined)[];
  /** By the byte before its closing quote: needles at its end. */
  readonly ends: readonly (readonly Needle[] | undefined)[];
  readonly hasEnds: boolean;
}

/**
 * What is searched for: a few characters of some spots, in every spelling they can have (`y"` and `Y"`
 * for `setiampolicy"` in any case). Each hit is compared with every spot the probe serves, in place, so one
 * search answers for all of them (and for every needle of theirs).
 */
interface Probe {
  readonly spellings: readonly string[];
  readonly spots: readonly Spot[];
  /** About what a search costs, in nanoseconds on a 2 KB record (see `SCAN`). */
  readonly cost: number;
  readonly id: number;
}

type Condition =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'all' | 'any'; readonly of: readonly Condition[] }
  | Needle;

const TRUE: Condition = { kind: 'true' };
const FALSE: Condition = { kind: 'false' };
const NO_PROBE: Probe = { spellings: [], spots: [], cost: 0, id: -1 };
const NO_VALUES: ValueIndex = { objects: [], starts: [], ends: [], hasEnds: false };
const NO_SPOT: Spot = {
  text: '',
  ignoreCase: false,
  isKey: false,
  needles: [],
  probe: NO_PROBE,
  offset: 0,
  precheck: -1,
  values: NO_VALUES,
};

/**
 * Compiles the rules into one filter: a payload passes when any rule, for any of its sources, could match
 * a record that `recordsFromDocument(document, shapes)` finds in it. Give it the shapes the reader opens:
 * a filter compiled for a reader that does not open Pub/Sub messages misses the records inside them.
 */
export function compileLiteralPrefilter(
  rules: readonly PrefilterRule[],
  shapes: DocumentShapes = {},
): LiteralPrefilter {
  const spots = new Spots();
  const condition = any(
    rules.flatMap((rule) =>
      rule.sources.map((source) => (rule.ast === undefined ? TRUE : conditionOf(rule.ast, source, spots))),
    ),
  );
  const description = describe(condition);
  if (condition.kind === 'true') return { test: undefined, description };
  spots.assign(needlesOf(condition));
  const used = usedSpots(condition);
  const probes = planProbes(used);
  const needles = used.flatMap((spot) => spot.needles);
  needles.forEach((needle, id) => {
    needle.id = id;
  });
  for (const spot of used) if (spot.isKey) spot.values = keyValues(spot.needles);
  const scan = new Scan(needles.length, probes.length, foldsFor(needles), shapes.pubSubMessages ?? true);
  const planned = plan(condition, new Set());
  const evaluate = generatedEvaluator(planned, probes) ?? evaluator(planned);
  const test: PayloadFilter = (payload, encoding) => {
    const passed = scan.start(byteString(payload, encoding), encoding === 'ascii');
    const result = passed || evaluate(scan) || scan.hidesNeedles();
    scan.end();
    return result;
  };
  return { test, description };
}

// ---------------------------------------------------------------------------------------------------------
// Rules → conditions

/** The needles and keys of one compilation, each made once, so equal needles share a memo slot. */
class Spots {
  private readonly byText = new Map<string, Spot>();
  private readonly needles = new Map<string, Needle>();

  /** The needle that `text` stands `at` in the value of `key`, or anywhere if `key` is undefined. */
  needle(
    label: string,
    text: string,
    ignoreCase: boolean,
    at: Needle['at'],
    key: string | undefined,
    selectivity: number,
  ): Needle {
    const id = JSON.stringify([label, text, ignoreCase, at, key]);
    let needle = this.needles.get(id);
    if (needle === undefined) {
      needle = {
        kind: 'needle',
        label,
        text,
        ignoreCase,
        at,
        key,
        selectivity,
        pieces: (at === 'object' ? (key as string) : text).split('/').filter((piece) => piece !== ''),
        spot: NO_SPOT,
        id: -1,
      };
      this.needles.set(id, needle);
    }
    return needle;
  }

  /**
   * Gives every needle its spot. A key's needles are all found through the key, or each through its own
   * probe (then the key is checked before the value), whichever is cheaper: `"eventSource"` costs less than
   * `z` (for `"iam.amazonaws.com"`) and `g` (for `"gcp.iam"`) together, and serves every rule's provider.
   */
  assign(needles: readonly Needle[]): void {
    const byKey = new Map<string, Needle[]>();
    for (const needle of needles) {
      if (needle.key === undefined) {
        needle.spot = this.spot(needle.text, needle.ignoreCase, false);
        needle.spot.needles.push(needle);
      } else byKey.set(needle.key, [...(byKey.get(needle.key) ?? []), needle]);
    }
    for (const [key, ofKey] of byKey) {
      const throughKey =
        ofKey.some((needle) => needle.at === 'object') ||
        cheapestProbe(key, false) <=
          ofKey.reduce((sum, needle) => sum + cheapestProbe(needle.text, needle.ignoreCase), 0);
      for (const needle of ofKey) {
        needle.spot = throughKey
          ? this.spot(key, false, true)
          : this.spot(needle.text, needle.ignoreCase, false, key);
        needle.spot.needles.push(needle);
      }
    }
  }

  /** A spot; needles of a key found through their own probes share them only with that key's. */
  private spot(text: string, ignoreCase: boolean, isKey: boolean, owner = ''): Spot {
    const id = `${isKey ? 'k' : ignoreCase ? 'i' : 's'}${owner}${text}`;
    let spot = this.byText.get(id);
    if (spot === undefined) {
      spot = {
        text,
        ignoreCase,
        isKey,
        needles: [],
        probe: NO_PROBE,
        offset: 0,
        precheck: -1,
        values: NO_VALUES,
      };
      this.byText.set(id, spot);
    }
    return spot;
  }
}

/**
 * The condition a record's raw JSON must meet for `node` to hold on it. `providers`, when set, are the
 * `event.provider` values an enclosing `and` requires: raw matches that only account for records of other
 * providers (`RawMatch.provider`) are left out, since no record they account for satisfies the `and`.
 */
function conditionOf(node: KqlNode, source: SourceName, spots: Spots, providers?: Providers): Condition {
  switch (node.type) {
    case 'and': {
      const allowed = andProviders(providers, node.children);
      return all(node.children.map((child) => conditionOf(child, source, spots, allowed)));
    }
    case 'or':
      return any(node.children.map((child) => conditionOf(child, source, spots, providers)));
    case 'is': {
      if (node.field === null || node.field.kind !== 'literal' || node.value.kind !== 'literal') return TRUE;
      const matches = rawMatchesFor(source, node.field.value, node.value.value);
      if (matches === undefined) return TRUE;
      const selectivity = FIELD_SELECTIVITY[node.field.value] ?? 0.5;
      return any(forProviders(matches, providers).map((match) => rawCondition(match, selectivity, spots)));
    }
    default:
      // not, range, exists, nested, all: nothing a literal search can rule out.
      return TRUE;
  }
}

/** A raw condition as needles: the value in the string value of the path's last key, and the other keys. */
function rawCondition(match: RawMatch, selectivity: number, spots: Spots): Condition {
  const ignoreCase = match.op.endsWith('IgnoreCase');
  const value = jsonText(match.value);
  if (value === undefined) return TRUE;
  // Only ASCII case is ignored: a case-insensitive value with anything else stays unfiltered.
  if (ignoreCase && !/^[\x20-\x7e]*$/.test(match.value)) return TRUE;
  const spelled = ignoreCase ? value.toLowerCase() : value;
  const [label, at] =
    match.op === 'suffixIgnoreCase'
      ? [`${spelled}"`, 'end' as const]
      : match.op === 'prefix' || match.op === 'prefixIgnoreCase'
        ? [`"${spelled}`, 'start' as const]
        : [`"${spelled}"`, 'start' as const];
  let keys: string[];
  try {
    keys = parsePath(match.path);
  } catch {
    keys = [];
  }
  const quoted = keys.map((key) => jsonText(key));
  if (keys.length === 0 || quoted.some((key) => key === undefined)) {
    return spots.needle(label, bytes(label), ignoreCase, 'anywhere', undefined, selectivity);
  }
  const last = keys[keys.length - 1] as string;
  const needle = spots.needle(
    `${last}:${label}`,
    bytes(label),
    ignoreCase,
    at,
    bytes(`"${quoted[quoted.length - 1]}"`),
    selectivity,
  );
  const parents = quoted
    .slice(0, -1)
    .map((key) => spots.needle(`${key}:{…}`, '', false, 'object', bytes(`"${key}"`), KEY_SELECTIVITY));
  return all([needle, ...parents]);
}

/** A payload as `PayloadFilter` takes it → its bytes, one char per byte. */
function byteString(payload: Uint8Array | string, encoding: PayloadEncoding | undefined): string {
  if (typeof payload === 'string') return encoding === undefined ? bytes(payload) : payload;
  const buffer = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return buffer.toString('latin1');
}

/** A string as UTF-8 bytes, one char per byte (the same string when it is ASCII). */
function bytes(text: string): string {
  return Buffer.byteLength(text, 'utf8') === text.length
    ? text
    : Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * How likely a record is to hold a needle of the field, for ordering only: an action is rarer than its
 * provider (`"iam.amazonaws.com"` is in every IAM record, `"DeleteAccessKey"` in few).
 */
const FIELD_SELECTIVITY: Readonly<Record<string, number>> = { 'event.action': 0.02, 'event.provider': 0.1 };
/** A key is in every record of its cloud. */
const KEY_SELECTIVITY = 0.2;

/**
 * The string inside JSON quotes as a JSON writer writes it, given that the payload has no `\u` escapes:
 * `"` and `\` escaped, the controls that have short escapes as those; undefined for other control
 * characters, which only `\u` can spell.
 */
function jsonText(value: string): string | undefined {
  let out = '';
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code < 0x20) {
      const short = SHORT_ESCAPES[char];
      if (short === undefined) return undefined;
      out += short;
    } else out += char;
  }
  return out;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function all(conditions: readonly Condition[]): Condition {
  const kept: Condition[] = [];
  for (const condition of conditions) {
    if (condition.kind === 'false') return FALSE;
    if (condition.kind === 'true') continue;
    for (const part of condition.kind === 'all' ? condition.of : [condition]) {
      if (!kept.some((other) => same(other, part))) kept.push(part);
    }
  }
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? (kept[0] as Condition) : { kind: 'all', of: kept };
}

function any(conditions: readonly Condition[]): Condition {
  const kept: Condition[] = [];
  for (const condition of conditions) {
    if (condition.kind === 'true') return TRUE;
    if (condition.kind === 'false') continue;
    for (const part of condition.kind === 'any' ? condition.of : [condition]) {
      if (!kept.some((other) => same(other, part))) kept.push(part);
    }
  }
  if (kept.length === 0) return FALSE;
  if (kept.length === 1) return kept[0] as Condition;
  const conjuncts = kept.map((part) => (part.kind === 'all' ? part.of : [part]));
  const has = (set: readonly Condition[], part: Condition): boolean => set.some((other) => same(other, part));
  // a or (a and b) → a.
  const needed = kept.filter((_, i) => {
    const mine = conjuncts[i] as readonly Condition[];
    return !conjuncts.some(
      (set, j) => j !== i && set.every((part) => has(mine, part)) && (set.length < mine.length || j < i),
    );
  });
  if (needed.length === 1) return needed[0] as Condition;
  // (a and b) or (a and c) or d → (a and (b or c)) or d, for the conjunct the most parts share: it is
  // searched once, and rules them all out at once.
  const sets = needed.map((part) => (part.kind === 'all' ? part.of : [part]));
  let shared: Condition | undefined;
  let sharedBy = 1;
  for (const set of sets) {
    if (set.length < 2) continue;
    for (const part of set) {
      const count = sets.filter((other) => other.length > 1 && has(other, part)).length;
      if (count > sharedBy) {
        shared = part;
        sharedBy = count;
      }
    }
  }
  if (shared === undefined) return { kind: 'any', of: needed };
  const factor = shared;
  const inner = sets.filter((set) => set.length > 1 && has(set, factor));
  const outer = needed.filter((_, i) => !inner.includes(sets[i] as readonly Condition[]));
  const factored = all([factor, any(inner.map((set) => all(set.filter((part) => !same(part, factor)))))]);
  return outer.length === 0 ? factored : any([factored, ...outer]);
}

function same(a: Condition, b: Condition): boolean {
  return a === b || describe(a) === describe(b);
}

const descriptions = new WeakMap<Condition, string>();

function describe(condition: Condition): string {
  let description = descriptions.get(condition);
  if (description === undefined) {
    description = describeNow(condition);
    descriptions.set(condition, description);
  }
  return description;
}

function describeNow(condition: Condition): string {
  switch (condition.kind) {
    case 'true':
      return 'anything';
    case 'false':
      return 'nothing';
    case 'needle':
      return condition.ignoreCase ? `${condition.label} (any case)` : condition.label;
    case 'all':
      return `(${condition.of.map(describe).join(' and ')})`;
    case 'any':
      return `(${condition.of.map(describe).join(' or ')})`;
  }
}

/** The needles the condition holds, each once. */
function needlesOf(condition: Condition): Needle[] {
  const needles = new Set<Needle>();
  const visit = (part: Condition): void => {
    if (part.kind === 'needle') needles.add(part);
    else if (part.kind === 'all' || part.kind === 'any') part.of.forEach(visit);
  };
  visit(condition);
  return [...needles];
}

/** The spots of the needles the condition still holds, each once. */
function usedSpots(condition: Condition): Spot[] {
  const spots = new Set<Spot>();
  const visit = (part: Condition): void => {
    if (part.kind === 'needle') spots.add(part.spot);
    else if (part.kind === 'all' || part.kind === 'any') part.of.forEach(visit);
  };
  visit(condition);
  return [...spots];
}

/** The UTF-8 bytes (one char per byte) of the `FOLDS_INTO_ASCII` characters some needle could be missing. */
function foldsFor(needles: readonly Needle[]): string[] {
  return FOLDS_INTO_ASCII.filter(({ ascii }) =>
    needles.some((needle) => needle.ignoreCase && [...ascii].some((char) => needle.text.includes(char))),
  ).map(({ char }) => bytes(char));
}

/**
 * Indexes a key's needles by the byte a value is compared at first: the one after the opening quote for a
 * needle at the start (`"iam.amazonaws.com"` → `i`), the one before the closing quote for a needle at the
 * end (`/roleassignments/write"` → `e` and `E`). A needle with no such byte (`"` alone: an empty prefix or
 * suffix) is under every byte.
 */
function keyValues(needles: readonly Needle[]): ValueIndex {
  const starts: Needle[][] = Array.from({ length: 256 }, () => []);
  const ends: Needle[][] = Array.from({ length: 256 }, () => []);
  const objects: Needle[] = [];
  const index = (into: Needle[][], needle: Needle, at: number): void => {
    if (at < 0) {
      for (const slot of into) slot.push(needle);
      return;
    }
    const code = needle.text.charCodeAt(at);
    into[code]?.push(needle);
    const other = asciiOtherCase(code);
    if (needle.ignoreCase && other !== code) into[other]?.push(needle);
  };
  for (const needle of needles) {
    if (needle.at === 'object') objects.push(needle);
    else if (needle.at === 'start') index(starts, needle, needle.text.length > 1 ? 1 : -1);
    else if (needle.at === 'end') index(ends, needle, needle.text.length - 2);
  }
  const compact = (slots: Needle[][]): (Needle[] | undefined)[] =>
    slots.map((slot) => (slot.length === 0 ? undefined : slot));
  return {
    objects,
    starts: compact(starts),
    ends: compact(ends),
    hasEnds: needles.some((needle) => needle.at === 'end'),
  };
}

/** The other ASCII case of a letter; anything else as it is. */
function asciiOtherCase(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code + 0x20;
  if (code >= 0x61 && code <= 0x7a) return code - 0x20;
  return code;
}

// ---------------------------------------------------------------------------------------------------------
// Probes

/**
 * Characters per thousand in audit-log JSON, the most any cloud's records have (the shipped samples and
 * the benchmark's generated records of each cloud), commonest first; anything not listed is rarer than all
 * of them. Only for speed: any probe is sound.
 */
const FREQUENCY: ReadonlyMap<string, number> = new Map(
  (
    '"107.6 e88.2 o55.1 t52.7 c49.6 a49.4 447.6 r45 i44 s42.6 :42.3 040.1 n37 /36.5 132.7 -31.8 d28.5 ' +
    '227.8 l27.1 m27 p26.4 .26.2 ,26 u25.3 322.2 g22 f19.5 A18.1 b17.6 516.8 716.5 614.4 813.9 912.2 ' +
    'I11.5 v11 y10.8 S10.8 h10.5 R10.2 E9.7 T9.1 O8.9 {8.6 }8.6 C8.4 w7.1 j6.6 P6.2 \\6.1 D5.8 M5.4 ' +
    '#5.2 N5.1 U4.8 L4.7 x4.1 _4 F3.8 q3.7 G3.7 k3.6 H3.2 W3.2 B3.2 z3.1 @3.1 K3 V2.7 X2.2 Y2.1 Z2.1 ' +
    'J2.1 (1.4 )1.4 Q1.4 [1.2 ]1.2 %0.8'
  )
    .split(' ')
    .map((entry) => [entry[0] as string, Number(entry.slice(1))]),
);
/** A space is common too (pretty-printed JSON), but cannot sit in the list above. */
const SPACE_FREQUENCY = 9.9;

function frequency(char: string): number {
  return char === ' ' ? SPACE_FREQUENCY : (FREQUENCY.get(char) ?? 0.1);
}

/**
 * Rough costs, in nanoseconds on a 2 KB record on the benchmark machine, for choosing probes and ordering
 * searches: a search that finds nothing; then, per thousand characters of the frequency of its first
 * character, the stops the engine makes at a longer probe's false starts, or the hits of a one-character
 * probe, which this module compares with its spots.
 */
const SCAN = 40;
const STOP = 36;
const STOP_HERE = 60;
/** Probes are up to this long; each char less costs this much (false hits). */
const MAX_PROBE = 4;
const SHORT_PROBE = 10;
/** How much dearer than its cheapest probe a spot's probe may be, to share one. */
const SHARE_AT = 1.5;

/**
 * Chooses the probes: every spot gets one, and probes are shared wherever that costs little. A probe is
 * any run of up to `MAX_PROBE` characters of a spot, spelled as the spot spells it, or, when it holds at
 * most one letter, in both cases of that letter, so that it finds the spot whatever its case (`y"`, `Y"`).
 */
function planProbes(spots: readonly Spot[]): Probe[] {
  interface Candidate {
    readonly spellings: readonly string[];
    readonly cost: number;
    /** Spot → where the probe sits in it. */
    readonly offsets: Map<Spot, number>;
  }
  const candidates = new Map<string, Candidate>();
  const offer = (spellings: readonly string[], spot: Spot, offset: number): void => {
    const key = spellings.join('\u0000');
    let candidate = candidates.get(key);
    if (candidate === undefined) {
      candidate = { spellings, cost: probeCost(spellings), offsets: new Map() };
      candidates.set(key, candidate);
    }
    if (!candidate.offsets.has(spot)) candidate.offsets.set(spot, offset);
  };
  for (const spot of spots) {
    for (const { spellings, at } of probesIn(spot.text, spot.ignoreCase)) offer(spellings, spot, at);
  }
  // A spot only shares a probe that costs little more than its own cheapest: a probe that serves many
  // spots but stops everywhere (`/`) would cost every payload more than it saves.
  const cheapest = new Map<Spot, number>();
  for (const candidate of candidates.values()) {
    for (const spot of candidate.offsets.keys()) {
      cheapest.set(spot, Math.min(cheapest.get(spot) ?? Number.POSITIVE_INFINITY, candidate.cost));
    }
  }
  const acceptable = (candidate: Candidate, spot: Spot): boolean =>
    candidate.cost <= (cheapest.get(spot) as number) * SHARE_AT;
  // Greedy: the probe that serves the most spots for its cost, until every spot has one.
  const chosen: Candidate[] = [];
  const servedBy = new Map<Spot, Candidate>();
  while (servedBy.size < spots.length) {
    let best: Candidate | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const candidate of candidates.values()) {
      let serves = 0;
      for (const spot of candidate.offsets.keys()) {
        if (!servedBy.has(spot) && acceptable(candidate, spot)) serves += 1;
      }
      if (serves > 0 && candidate.cost / serves < bestScore) {
        best = candidate;
        bestScore = candidate.cost / serves;
      }
    }
    if (best === undefined) throw new Error('unreachable: every spot offers probes');
    for (const spot of best.offsets.keys()) {
      if (!servedBy.has(spot) && acceptable(best, spot)) servedBy.set(spot, best);
    }
    chosen.push(best);
  }
  // Then drop each probe whose searches another chosen probe makes anyway, if that one can serve its
  // spots: greedy may take `z` for two spots before `z`/`Z` for those two and a third.
  for (const candidate of [...chosen]) {
    const mine = [...servedBy].filter(([, by]) => by === candidate).map(([spot]) => spot);
    const wider = chosen.find(
      (other) =>
        other !== candidate &&
        candidate.spellings.every((spelling) => other.spellings.includes(spelling)) &&
        mine.every((spot) => other.offsets.has(spot)),
    );
    if (wider !== undefined) {
      for (const spot of mine) servedBy.set(spot, wider);
      chosen.splice(chosen.indexOf(candidate), 1);
    }
  }
  return chosen.map((candidate, id) => {
    const served = spots.filter((spot) => servedBy.get(spot) === candidate);
    const probe: Probe = { spellings: candidate.spellings, spots: served, cost: candidate.cost, id };
    for (const spot of served) {
      spot.probe = probe;
      spot.offset = candidate.offsets.get(spot) as number;
      const after = spot.offset + (candidate.spellings[0] as string).length;
      const next = spot.offset > 0 ? spot.offset - 1 : after < spot.text.length ? after : -1;
      spot.precheck = spot.ignoreCase || next === -1 ? -1 : next;
    }
    return probe;
  });
}

/** Every probe that finds `text`: its runs of up to `MAX_PROBE` characters, spelled every way they can be. */
function* probesIn(text: string, ignoreCase: boolean): Generator<{ spellings: string[]; at: number }> {
  for (let at = 0; at < text.length; at++) {
    for (let end = at + 1; end <= Math.min(text.length, at + MAX_PROBE); end++) {
      const run = text.slice(at, end);
      const letters = [...run].filter((char) => isAsciiLetter(char.charCodeAt(0)));
      if (letters.length <= 1) yield { spellings: caseSpellings(run), at };
      if (!ignoreCase) yield { spellings: [run], at };
    }
  }
}

function cheapestProbe(text: string, ignoreCase: boolean): number {
  let cheapest = Number.POSITIVE_INFINITY;
  for (const { spellings } of probesIn(text, ignoreCase)) cheapest = Math.min(cheapest, probeCost(spellings));
  return cheapest;
}

/** A run with at most one ASCII letter, spelled with that letter in each case (one spelling without one). */
function caseSpellings(run: string): string[] {
  const lower = run.toLowerCase();
  const upper = run.toUpperCase();
  return lower === upper ? [run] : [lower, upper];
}

function probeCost(spellings: readonly string[]): number {
  let cost = 0;
  for (const spelling of spellings) {
    cost += SCAN + frequency(spelling[0] as string) * (spelling.length === 1 ? STOP_HERE : STOP);
    // A longer probe stops as often but is found less often where no spot is (`De` in `"DeleteBucket"`).
    cost += SHORT_PROBE * (MAX_PROBE - spelling.length);
  }
  return cost;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation order

/**
 * Orders the condition for the common case, a payload that holds none of the needles, walking it as the
 * evaluator will and counting the probes searched so far as free (one search answers for every spot its
 * probe serves): an `any` must rule out every part, and takes them cheapest first; an `all` takes first the
 * part that rules it out cheapest, over the chance that it does.
 */
function plan(condition: Condition, searched: Set<Probe>): Condition {
  switch (condition.kind) {
    case 'needle':
      searched.add(condition.spot.probe);
      return condition;
    case 'any': {
      const left = [...condition.of];
      const ordered: Condition[] = [];
      while (left.length > 0) {
        let next = 0;
        for (let i = 1; i < left.length; i++) {
          if (ruleOutCost(left[i] as Condition, searched) < ruleOutCost(left[next] as Condition, searched))
            next = i;
        }
        ordered.push(plan(left.splice(next, 1)[0] as Condition, searched));
      }
      return { kind: 'any', of: ordered };
    }
    case 'all': {
      const [first, ...rest] = byRank(condition.of, searched) as [Condition, ...Condition[]];
      const planned = plan(first, searched);
      // The rest only runs when the first part holds, which is not the common case: plan it on a copy.
      const after = new Set(searched);
      return { kind: 'all', of: [planned, ...rest.map((part) => plan(part, after))] };
    }
    default:
      return condition;
  }
}

/** What ruling a condition out costs, given the probes already searched (see `SCAN`). */
function ruleOutCost(condition: Condition, searched: ReadonlySet<Probe>): number {
  switch (condition.kind) {
    case 'needle':
      return searched.has(condition.spot.probe) ? 0 : condition.spot.probe.cost;
    case 'any': {
      const more = new Set(searched);
      let sum = 0;
      for (const part of condition.of) {
        sum += ruleOutCost(part, more);
        probesOf(part, more);
      }
      return sum;
    }
    case 'all': {
      // Each part runs if the ones before it held.
      let sum = 0;
      let reached = 1;
      for (const part of byRank(condition.of, searched)) {
        sum += reached * ruleOutCost(part, searched);
        reached *= chance(part);
      }
      return sum;
    }
    default:
      return 0;
  }
}

/** The parts of an `all` in the order that rules it out cheapest: cost over the chance to rule it out. */
function byRank(parts: readonly Condition[], searched: ReadonlySet<Probe>): Condition[] {
  const rank = (part: Condition): number => ruleOutCost(part, searched) / Math.max(1 - chance(part), 1e-6);
  return [...parts].sort((a, b) => rank(a) - rank(b));
}

function probesOf(condition: Condition, into: Set<Probe>): void {
  if (condition.kind === 'needle') into.add(condition.spot.probe);
  else if (condition.kind === 'any' || condition.kind === 'all')
    for (const part of condition.of) probesOf(part, into);
}

/** A guess at how often a condition holds in a record, from what its needles are made of. */
function chance(condition: Condition): number {
  switch (condition.kind) {
    case 'true':
      return 1;
    case 'false':
      return 0;
    case 'needle':
      return condition.selectivity;
    case 'all':
      return condition.of.reduce((product, part) => product * chance(part), 1);
    case 'any':
      return 1 - condition.of.reduce((product, part) => product * (1 - chance(part)), 1);
  }
}

type Evaluate = (scan: Scan) => boolean;

/** Beyond this many parts the condition is evaluated by `evaluator`'s closures: the source would be large. */
const MAX_GENERATED_PARTS = 5_000;

/**
 * The condition as one generated function of `&&` and `||` over the memo (`Scan.has` inline), which V8
 * compiles to straight-line code: a tree of closures costs more than the searches, most answers coming from
 * the memo. Only needle and probe indexes reach the source. Undefined where code generation is unavailable
 * (`--disallow-code-generation-from-strings`) or the condition is too large: `evaluator` then.
 */
function generatedEvaluator(condition: Condition, probes: readonly Probe[]): Evaluate | undefined {
  let parts = 0;
  const source = (part: Condition): string => {
    parts += 1;
    switch (part.kind) {
      case 'true':
        return 'true';
      case 'false':
        return 'false';
      case 'needle': {
        // `scan.has`, inline.
        const probe = part.spot.probe.id;
        return `(f[${part.id}] === r || (s[${probe}] !== r && (scan.search(p[${probe}]), f[${part.id}] === r)))`;
      }
      case 'all':
        return `(${part.of.map(source).join(' && ')})`;
      case 'any':
        return `(${part.of.map(source).join(' || ')})`;
    }
  };
  const expression = source(condition);
  if (parts > MAX_GENERATED_PARTS) return undefined;
  const body = [
    "'use strict';",
    'return function evaluate(scan) {',
    '  const f = scan.found, s = scan.searched, r = scan.round;',
    `  return ${expression};`,
    '};',
  ].join('\n');
  try {
    return new Function('p', body)(probes) as Evaluate;
  } catch {
    return undefined;
  }
}

/**
 * The condition as closures: parts in the order given (see `plan`), stopping as soon as it is decided.
 * Needles are asked directly rather than through a function each: most parts are needles.
 */
function evaluator(condition: Condition): Evaluate {
  switch (condition.kind) {
    case 'true':
      return () => true;
    case 'false':
      return () => false;
    case 'needle':
      return (scan) => scan.has(condition);
    case 'all': {
      const parts = condition.of.map((part) => (part.kind === 'needle' ? part : evaluator(part)));
      return (scan) => {
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i] as Needle | Evaluate;
          if (!(typeof part === 'function' ? part(scan) : scan.has(part))) return false;
        }
        return true;
      };
    }
    case 'any': {
      const parts = condition.of.map((part) => (part.kind === 'needle' ? part : evaluator(part)));
      return (scan) => {
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i] as Needle | Evaluate;
          if (typeof part === 'function' ? part(scan) : scan.has(part)) return true;
        }
        return false;
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Searching a payload

const QUOTE = 0x22;
const COLON = 0x3a;
const BRACE = 0x7b;
const BACKSLASH = 0x5c;
/** Memo rounds count up to this, then the memo is cleared and they start again. */
const MAX_ROUND = 0x3fffffff;

/**
 * The payload being filtered: its bytes, one char per byte, and what was found in it so far. One per
 * compiled filter, reused for every payload, so filtering allocates nothing but the byte string.
 */
class Scan {
  private text = '';
  private lower: string | undefined;
  private escapesSlash = false;
  /** The payload is known to be ASCII: nothing in it folds into ASCII. */
  private ascii = false;
  // Read by the generated evaluator (see `generatedEvaluator`), hence not private.
  /** Memo, by needle id: `round` when found in this payload. */
  readonly found: Int32Array;
  /** Memo, by probe id: `round` when searched in this payload (its needles not found are absent). */
  readonly searched: Int32Array;
  /** Counts payloads, so that the memo need not be cleared between them. */
  round = 0;

  constructor(
    needles: number,
    probes: number,
    /** See `foldsFor`. */
    private readonly folds: readonly string[],
    /** Whether the reader opens Pub/Sub messages (`DocumentShapes`), whose `data` hides records. */
    private readonly pubSubMessages: boolean,
  ) {
    this.found = new Int32Array(needles);
    this.searched = new Int32Array(probes);
  }

  /** Starts on a payload; `true` when it must pass whatever else it holds (a `\u` escape). */
  start(bytes: string, ascii: boolean): boolean {
    this.text = bytes;
    this.ascii = ascii;
    if (this.round === MAX_ROUND) {
      this.found.fill(0);
      this.searched.fill(0);
      this.round = 0;
    }
    this.round += 1;
    const backslash = this.text.indexOf('\\');
    if (backslash === -1) {
      this.escapesSlash = false;
      return false;
    }
    if (this.text.includes('\\u', backslash)) return true;
    this.escapesSlash = this.text.includes('\\/', backslash);
    return false;
  }

  /** Lets go of the payload, which may be large. */
  end(): void {
    this.text = '';
    this.lower = undefined;
  }

  has(needle: Needle): boolean {
    const { round } = this;
    if (this.found[needle.id] === round) return true;
    const { probe } = needle.spot;
    if (this.searched[probe.id] === round) return false;
    this.search(probe);
    return this.found[needle.id] === round;
  }

  /** Asked only before saying no: whether the payload could hold a match that no needle shows. */
  hidesNeedles(): boolean {
    if (!this.ascii) for (const fold of this.folds) if (this.text.includes(fold)) return true;
    return this.pubSubMessages && hasPubSubData(this.text);
  }

  /** Searches a probe, and so every needle of every spot it serves. */
  search(probe: Probe): void {
    const { text, found, round } = this;
    this.searched[probe.id] = round;
    if (this.escapesSlash) {
      for (const spot of probe.spots) {
        for (const needle of spot.needles) if (this.hasPieces(needle)) found[needle.id] = round;
      }
      return;
    }
    const { spots, spellings } = probe;
    for (let k = 0; k < spellings.length; k++) {
      const spelling = spellings[k] as string;
      for (let at = text.indexOf(spelling); at !== -1; at = text.indexOf(spelling, at + 1)) {
        for (let i = 0; i < spots.length; i++) {
          const spot = spots[i] as Spot;
          const start = at - spot.offset;
          const { precheck } = spot;
          if (start < 0) continue;
          if (precheck !== -1 && text.charCodeAt(start + precheck) !== spot.text.charCodeAt(precheck))
            continue;
          if (!matchesAt(text, start, spot.text, spot.ignoreCase)) continue;
          if (spot.isKey) this.checkValue(spot, start + spot.text.length);
          else {
            const needle = spot.needles[0] as Needle;
            if (needle.key === undefined || keyBefore(text, start, needle)) found[needle.id] = round;
          }
        }
      }
    }
  }

  /**
   * After a key: the needles its value holds (an object; a string at its start or end), compared only
   * where the value's first or last byte says they could be (`ValueIndex`).
   */
  private checkValue(key: Spot, after: number): void {
    const { text, found, round } = this;
    let open = skipSpace(text, after);
    if (text.charCodeAt(open) !== COLON) return;
    open = skipSpace(text, open + 1);
    const first = text.charCodeAt(open);
    const { values } = key;
    if (first === BRACE) {
      for (const needle of values.objects) found[needle.id] = round;
      return;
    }
    if (first !== QUOTE) return;
    const starts = values.starts[text.charCodeAt(open + 1)];
    if (starts !== undefined) {
      for (let i = 0; i < starts.length; i++) {
        const needle = starts[i] as Needle;
        if (found[needle.id] !== round && matchesAt(text, open, needle.text, needle.ignoreCase))
          found[needle.id] = round;
      }
    }
    if (!values.hasEnds) return;
    const close = stringEnd(text, open);
    const ends = close === -1 ? undefined : values.ends[text.charCodeAt(close - 1)];
    if (ends === undefined) return;
    for (let i = 0; i < ends.length; i++) {
      const needle = ends[i] as Needle;
      const start = close + 1 - needle.text.length;
      if (
        found[needle.id] !== round &&
        start > open &&
        matchesAt(text, start, needle.text, needle.ignoreCase)
      )
        found[needle.id] = round;
    }
  }

  /**
   * For a payload that escapes `/`: every piece of the needle anywhere, whatever its key. Rare enough to do
   * simply, in the lower-cased text when ignoring case: lower-casing one char per byte maps ASCII to ASCII as
   * on the decoded text, and nothing else to ASCII.
   */
  private hasPieces(needle: Needle): boolean {
    if (needle.ignoreCase) this.lower ??= this.text.toLowerCase();
    const haystack = needle.ignoreCase ? (this.lower as string) : this.text;
    for (const piece of needle.pieces) if (!haystack.includes(piece)) return false;
    return true;
  }
}

/**
 * Whether `wanted` is in `text` at `start` (in any ASCII case when `ignoreCase`, `wanted` being lower case).
 * Compared char by char rather than with `startsWith`: nearly every comparison fails within a char or two,
 * sooner than a call into the runtime returns.
 */
function matchesAt(text: string, start: number, wanted: string, ignoreCase: boolean): boolean {
  if (ignoreCase) return matchesIgnoringCase(text, start, wanted);
  if (start < 0 || start + wanted.length > text.length) return false;
  for (let i = 0; i < wanted.length; i++) {
    if (text.charCodeAt(start + i) !== wanted.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether `lower` (lower case) is in `text` at `start`, ignoring ASCII case. */
function matchesIgnoringCase(text: string, start: number, lower: string): boolean {
  if (start + lower.length > text.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const want = lower.charCodeAt(i);
    const got = text.charCodeAt(start + i);
    if (got !== want && !(want >= 0x61 && want <= 0x7a && got === want - 0x20)) return false;
  }
  return true;
}

/** Whether the needle at `start` stands in the string value of its key (the other way round from `checkValue`). */
function keyBefore(text: string, start: number, needle: Needle): boolean {
  const open = needle.at === 'end' ? stringStart(text, start) : start;
  if (open === -1) return false;
  let at = skipSpaceBack(text, open - 1);
  if (text.charCodeAt(at) !== COLON) return false;
  at = skipSpaceBack(text, at - 1);
  const key = needle.key as string;
  return at + 1 >= key.length && text.startsWith(key, at + 1 - key.length);
}

/** The quote that opens the JSON string around `inside`, or -1. */
function stringStart(text: string, inside: number): number {
  for (
    let at = text.lastIndexOf('"', inside - 1);
    at !== -1;
    at = at === 0 ? -1 : text.lastIndexOf('"', at - 1)
  ) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

function skipSpaceBack(text: string, from: number): number {
  let at = from;
  while (at >= 0 && text.charCodeAt(at) <= 0x20) at--;
  return at;
}

/** Where the JSON string opened by the quote at `open` closes, or -1. */
function stringEnd(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}

/**
 * `"data": "…"`: a Pub/Sub message whose records `recordsFromDocument` decodes from a string. Any control
 * character or space counts as whitespace around the colon, a superset of JSON's.
 */
function hasPubSubData(text: string): boolean {
  for (let at = text.indexOf('data"'); at !== -1; at = text.indexOf('data"', at + 1)) {
    if (text.charCodeAt(at - 1) !== QUOTE) continue;
    let next = skipSpace(text, at + 5);
    if (text.charCodeAt(next) !== COLON) continue;
    next = skipSpace(text, next + 1);
    if (text.charCodeAt(next) === QUOTE) return true;
  }
  return false;
}

function skipSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length && text.charCodeAt(at) <= 0x20) at++;
  return at;
}
