/**
 * Compile target 4 (DESIGN.md): a literal pre-filter over the raw text of a Kinesis payload. A rule can
 * only match a record whose raw JSON contains certain literal values — `event.provider:"AWS IAM"` needs
 * `"iam.amazonaws.com"` somewhere in a CloudTrail record, `event.action:"roleAssignments/write"` needs
 * `/roleassignments/write"` in an Azure one, in any case — so a payload that contains none of a rule's
 * required literals is skipped without `JSON.parse`. In a stream where 1% of records are sensitive calls,
 * that is nearly all of them.
 *
 * The filter must be SOUND: it passes every payload in which the full path (decode, normalize, predicate)
 * could find a match; it may pass more. Everything it knows about raw values comes from the normalizers'
 * `rawMatchesFor`, the same source as the EventBridge pattern and the Athena WHERE clause:
 * - `field:value` → the raw conditions the catalog gives (several → any of them); a field the catalog does
 *   not constrain → "can't rule out"; a value no record of the source can produce → "never";
 * - `and` → all, `or` → any, and every source the rule selects → any;
 * - `not`, ranges, `exists`, nested queries, wildcards, free text → "can't rule out" (a negation of an
 *   over-approximation is not one).
 * A raw condition becomes a needle: `equals iam.amazonaws.com` → `"iam.amazonaws.com"` (quotes included,
 * since the value is a whole JSON string), `prefix` → `"value`, a suffix → `value"`, JSON-escaped as a
 * JSON writer writes them; case-insensitive conditions are searched in the lower-cased text.
 *
 * JSON may spell the same string differently, so the payload is checked first and the filter passes it
 * whenever a needle could be hidden:
 * - any `\u` escape in the text (a writer may escape any character) → pass;
 * - a Pub/Sub-style `"data": "<base64 or JSON string>"` member, which `recordsFromDocument` decodes into
 *   records the text does not show → pass;
 * - `\/` anywhere (a writer may escape `/`) → needles are split at `/` and every piece must appear.
 * The caller gunzips first: the filter reads text, never compressed bytes.
 *
 * Pure: no AWS SDK, no I/O.
 */
import type { SourceName } from '../ecs';
import type { KqlNode } from '../kql';
import { type RawMatch, rawMatchesFor } from '../normalizers';

/** What the filter needs of a rule: its query and the sources its index patterns select. */
export interface PrefilterRule {
  readonly ast: KqlNode;
  readonly sources: readonly SourceName[];
}

/** `true` when a rule could match a record in this payload text: parse it. `false`: skip it. */
export type PayloadTextFilter = (text: string) => boolean;

export interface LiteralPrefilter {
  /** Undefined when some rule can match without any literal (nothing could be skipped): don't filter. */
  readonly test: PayloadTextFilter | undefined;
  /** The condition in words, for logs and reviewers: `("iam.amazonaws.com" and ("DeleteAccessKey" or …)) or …`. */
  readonly description: string;
}

/** A needle: text that must appear in the payload (in the lower-cased payload when `ignoreCase`). */
interface Needle {
  readonly kind: 'needle';
  readonly text: string;
  readonly ignoreCase: boolean;
  /** The guessed chance that a record contains it (see `FIELD_SELECTIVITY`). */
  readonly selectivity: number;
  /**
   * The end of `text` from its rarest character on, searched first: a search is only as fast as the
   * first character of what it looks for is rare, and `"` is the commonest character of JSON.
   */
  readonly anchor: string;
  /** The pieces between `/`s, for a payload that escapes `/` as `\/`. */
  readonly pieces: readonly string[];
  /** Index of this needle's search result in a payload's memo (set when the filter is compiled). */
  id: number;
  /** Index of the anchor's search result: needles share anchors (`setiampolicy"`, `.setiampolicy"`). */
  anchorId: number;
}

type Condition =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'all' | 'any'; readonly of: readonly Condition[] }
  | Needle;

const TRUE: Condition = { kind: 'true' };
const FALSE: Condition = { kind: 'false' };

/**
 * Compiles the rules into one filter: a payload passes when any rule, for any of its sources, could match
 * a record in it.
 */
export function compileLiteralPrefilter(rules: readonly PrefilterRule[]): LiteralPrefilter {
  const condition = any(rules.flatMap((rule) => rule.sources.map((source) => conditionOf(rule.ast, source))));
  const description = describe(condition);
  if (condition.kind === 'true') return { test: undefined, description };
  const slots = numberSearches(condition);
  const evaluate = evaluator(condition);
  const test: PayloadTextFilter = (text) => {
    if (text.includes('\\u') || (text.includes('data') && PUB_SUB_DATA.test(text))) return true;
    return evaluate(new Payload(text, slots));
  };
  return { test, description };
}

/** `"data": "…"`: a Pub/Sub message whose records `recordsFromDocument` decodes from a string. */
const PUB_SUB_DATA = /"data"\s*:\s*"/;

/** Gives every distinct search (needle, anchor; case-sensitive or not) a memo slot; returns the count. */
function numberSearches(condition: Condition): number {
  const slots = new Map<string, number>();
  const slot = (text: string, ignoreCase: boolean): number => {
    const key = `${ignoreCase ? 'i' : 's'}${text}`;
    let index = slots.get(key);
    if (index === undefined) {
      index = slots.size;
      slots.set(key, index);
    }
    return index;
  };
  const visit = (part: Condition): void => {
    if (part.kind === 'needle') {
      part.id = slot(part.text, part.ignoreCase);
      part.anchorId = slot(part.anchor, part.ignoreCase);
    } else if (part.kind === 'all' || part.kind === 'any') part.of.forEach(visit);
  };
  visit(condition);
  return slots.size;
}

function conditionOf(node: KqlNode, source: SourceName): Condition {
  switch (node.type) {
    case 'and':
      return all(node.children.map((child) => conditionOf(child, source)));
    case 'or':
      return any(node.children.map((child) => conditionOf(child, source)));
    case 'is': {
      if (node.field === null || node.field.kind !== 'literal' || node.value.kind !== 'literal') return TRUE;
      const matches = rawMatchesFor(source, node.field.value, node.value.value);
      if (matches === undefined) return TRUE;
      const field = node.field.value;
      return any(matches.map((match) => needleOf(match, field)));
    }
    default:
      // not, range, exists, nested, all: nothing a literal search can rule out.
      return TRUE;
  }
}

/** The text a raw condition's value leaves in JSON, quotes included where the value starts or ends. */
function needleOf(match: RawMatch, field: string): Condition {
  const ignoreCase = match.op.endsWith('IgnoreCase');
  const escaped = jsonEscape(match.value);
  // Lower-casing is only exact on ASCII; anything else in a case-insensitive value stays unfiltered.
  if (escaped === undefined || (ignoreCase && !/^[\x20-\x7e]*$/.test(match.value))) return TRUE;
  const value = ignoreCase ? escaped.toLowerCase() : escaped;
  let text: string;
  switch (match.op) {
    case 'equals':
    case 'equalsIgnoreCase':
      text = `"${value}"`;
      break;
    case 'prefix':
    case 'prefixIgnoreCase':
      text = `"${value}`;
      break;
    case 'suffixIgnoreCase':
      text = `${value}"`;
      break;
  }
  return {
    kind: 'needle',
    text,
    ignoreCase,
    selectivity: FIELD_SELECTIVITY[field] ?? 0.5,
    anchor: anchorOf(text),
    pieces: text.split('/').filter((piece) => piece !== ''),
    id: -1,
    anchorId: -1,
  };
}

/**
 * How likely a record is to contain a needle of the field, for ordering only: an action is rarer than its
 * provider (`"iam.amazonaws.com"` is in every IAM record, `"DeleteAccessKey"` in few).
 */
const FIELD_SELECTIVITY: Readonly<Record<string, number>> = { 'event.action': 0.02, 'event.provider': 0.3 };

/** Shorter anchors than this match too often by chance to rule anything out. */
const MIN_ANCHOR = 6;
/**
 * How common a character is in audit-log JSON, roughly: punctuation, digits, vowels and frequent consonants
 * high; rare letters low. Only the order matters, and only for speed (any anchor is sound).
 */
const COMMON = '"/:,.-_0123456789 eaoistnrlcmdupgh';
const RARE = 'zqxjkvwyfb';

function rarity(char: string): number {
  const common = COMMON.indexOf(char);
  if (common !== -1) return 100 - common;
  const rare = RARE.indexOf(char);
  if (rare !== -1) return rare;
  // Upper-case letters and anything else: between the two.
  return 20;
}

function anchorOf(text: string): string {
  // A leading quote is the worst first character there is; the quote is checked with the whole needle.
  if (text.length <= MIN_ANCHOR) return text.startsWith('"') && text.length > 3 ? text.slice(1) : text;
  let best = text.startsWith('"') ? 1 : 0;
  for (let i = best + 1; i <= text.length - MIN_ANCHOR; i++) {
    if (rarity(text[i] as string) < rarity(text[best] as string)) best = i;
  }
  return text.slice(best);
}

/**
 * The value as a JSON writer writes it inside a string, given that the payload has no `\u` escapes:
 * `"` and `\` escaped, the controls that have short escapes as those; undefined for other control
 * characters, which only `\u` can spell.
 */
function jsonEscape(value: string): string | undefined {
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
    if (condition.kind === 'all') kept.push(...condition.of);
    else if (!kept.some((other) => same(other, condition))) kept.push(condition);
  }
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? (kept[0] as Condition) : { kind: 'all', of: kept };
}

function any(conditions: readonly Condition[]): Condition {
  const kept: Condition[] = [];
  for (const condition of conditions) {
    if (condition.kind === 'true') return TRUE;
    if (condition.kind === 'false') continue;
    if (condition.kind === 'any')
      kept.push(...condition.of.filter((inner) => !kept.some((k) => same(k, inner))));
    else if (!kept.some((other) => same(other, condition))) kept.push(condition);
  }
  if (kept.length === 0) return FALSE;
  return kept.length === 1 ? (kept[0] as Condition) : { kind: 'any', of: kept };
}

function same(a: Condition, b: Condition): boolean {
  return describe(a) === describe(b);
}

/** One payload: the text, its lower-cased form made on first need, and whether it escapes `/`. */
class Payload {
  private lower: string | undefined;
  readonly escapesSlash: boolean;
  /** Search results so far, by slot: 0 not searched, 1 found, 2 absent. */
  private readonly memo: Uint8Array;

  constructor(
    readonly text: string,
    slots: number,
  ) {
    this.escapesSlash = text.includes('\\/');
    this.memo = new Uint8Array(slots);
  }

  has(needle: Needle): boolean {
    const known = this.memo[needle.id];
    if (known !== 0) return known === 1;
    const found = this.search(needle);
    this.memo[needle.id] = found ? 1 : 2;
    return found;
  }

  private search(needle: Needle): boolean {
    let haystack = this.text;
    if (needle.ignoreCase) {
      this.lower ??= this.text.toLowerCase();
      haystack = this.lower;
    }
    if (this.escapesSlash) {
      for (const piece of needle.pieces) if (!haystack.includes(piece)) return false;
      return true;
    }
    if (needle.anchor === needle.text) return haystack.includes(needle.text);
    const known = this.memo[needle.anchorId];
    const anchored = known === 0 ? haystack.includes(needle.anchor) : known === 1;
    this.memo[needle.anchorId] = anchored ? 1 : 2;
    return anchored && haystack.includes(needle.text);
  }
}

type Evaluate = (payload: Payload) => boolean;

function evaluator(condition: Condition): Evaluate {
  switch (condition.kind) {
    case 'true':
      return () => true;
    case 'false':
      return () => false;
    case 'needle':
      return (payload) => payload.has(condition);
    case 'all': {
      // Cheapest way to a "no" first: searches it costs over the chance that it says no.
      const rank = (part: Condition): number => searches(part) / Math.max(1 - chance(part), 1e-6);
      const parts = [...condition.of].sort((a, b) => rank(a) - rank(b)).map(evaluator);
      return (payload) => {
        for (const part of parts) if (!part(payload)) return false;
        return true;
      };
    }
    case 'any': {
      // Cheapest way to a "yes" first.
      const rank = (part: Condition): number => searches(part) / Math.max(chance(part), 1e-6);
      const parts = [...condition.of].sort((a, b) => rank(a) - rank(b)).map(evaluator);
      return (payload) => {
        for (const part of parts) if (part(payload)) return true;
        return false;
      };
    }
  }
}

/** About how many text searches a condition costs when it is false (lower-cased ones cost more). */
function searches(condition: Condition): number {
  switch (condition.kind) {
    case 'needle':
      return condition.ignoreCase ? 1.2 : 1;
    case 'all':
      return Math.min(...condition.of.map(searches));
    case 'any':
      return condition.of.reduce((sum, part) => sum + searches(part), 0);
    default:
      return 0;
  }
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

function describe(condition: Condition): string {
  switch (condition.kind) {
    case 'true':
      return 'anything';
    case 'false':
      return 'nothing';
    case 'needle':
      return condition.ignoreCase ? `${condition.text} (any case)` : condition.text;
    case 'all':
      return `(${condition.of.map(describe).join(' and ')})`;
    case 'any':
      return `(${condition.of.map(describe).join(' or ')})`;
  }
}
