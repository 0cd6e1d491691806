/**
 * Compiles a rule's KQL AST into an EventBridge event pattern for the CloudTrail path: a pre-filter that
 * keeps the detect function from being invoked for the millions of CloudTrail events no rule cares about.
 *
 * The pattern must be SOUND: it accepts every CloudTrail event whose normalized form the rule's predicate
 * accepts, and may accept more (the predicate always decides). Everything it knows about raw field names
 * and values comes from the normalizers' `rawMatchesFor`, so `event.provider:"AWS IAM"` becomes
 * `detail.eventSource: ["iam.amazonaws.com"]` because the catalog says so, not because this file does.
 *
 * How the query is translated:
 * - `field:value` → the raw conditions the catalog gives for that value (several → alternatives);
 * - `or` → alternatives (same-field literals merge into one array), `and` → merged keys;
 * - a wildcard value on a field the catalog copies verbatim → `prefix` (or `suffix` when it starts with
 *   `*`); any other wildcard, `not`, ranges, `exists`, nested queries, free text and wildcard field names
 *   → the constraint is dropped (widened), and the reason is reported in `widened`;
 * - alternatives that differ in more than one field become `$or` inside `detail`; keys every alternative
 *   shares are hoisted out of it.
 * A pattern that would exceed EventBridge's default size quota is widened until it fits.
 *
 * Pure: no AWS SDK, no I/O.
 */
import type { KqlIsNode, KqlNode, KqlWildcardPattern } from '../kql';
import { type RawMatch, rawMatchesFor } from '../normalizers';
import { andProviders, forProviders, type Providers } from './providers';

const SOURCE = 'aws-cloudtrail';

/** The decoder accepts every EventBridge detail-type with this suffix as a CloudTrail record. */
export const CLOUDTRAIL_DETAIL_TYPE_SUFFIX = 'via CloudTrail';

/**
 * Every AWS service's CloudTrail `eventSource` is its `<endpoint>.amazonaws.com` name. An exact
 * `eventSource` value outside this shape (the catalog's pass-through makes `gcp.iam` a possible
 * `event.provider` of a CloudTrail record in principle) cannot arrive on EventBridge, so it is dropped.
 */
const AWS_EVENT_SOURCE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com$/;

/**
 * The EventBridge `source` of CloudTrail events for services where it is known to be `aws.<endpoint>`.
 * Only these narrow `source`; any other service leaves `source` unconstrained.
 */
const EVENTBRIDGE_SOURCES: ReadonlyMap<string, string> = new Map(
  ['iam', 'sts', 'signin', 's3', 'ec2', 'kms', 'organizations', 'cloudtrail', 'lambda'].map((service) => [
    `${service}.amazonaws.com`,
    `aws.${service}`,
  ]),
);

/** EventBridge's default event pattern size quota, in characters. */
export const EVENT_PATTERN_MAX_LENGTH = 2048;

/** Above this many alternatives the pattern is collapsed to the keys they all share. */
const MAX_ALTERNATIVES = 32;

/** One EventBridge content filter for a string value. */
export type EventMatcher =
  | string
  | { readonly prefix: string | { readonly 'equals-ignore-case': string } }
  | { readonly suffix: string | { readonly 'equals-ignore-case': string } }
  | { readonly 'equals-ignore-case': string };

/** A `detail` sub-pattern: field → filters (any may match), nested objects, and `$or` alternatives. */
export interface DetailPattern {
  readonly [key: string]: readonly EventMatcher[] | DetailPattern | readonly DetailPattern[];
}

/** The event pattern, in EventBridge's JSON shape. */
export interface EventBridgePattern {
  readonly source?: readonly string[];
  readonly 'detail-type': readonly EventMatcher[];
  readonly detail?: DetailPattern;
}

export interface CompiledEventPattern {
  /** `null` when no CloudTrail record can satisfy the query: the rule needs no EventBridge rule. */
  readonly pattern: EventBridgePattern | null;
  /** What the pattern does not express (it accepts more there), for reviewers; empty when exact. */
  readonly widened: readonly string[];
}

export interface CompileEventPatternOptions {
  /**
   * The size quota the pattern must fit, in characters of its JSON.
   * @default EVENT_PATTERN_MAX_LENGTH
   */
  readonly maxLength?: number;
}

/** A conjunction: raw path → filters of which one must match. The empty term accepts everything. */
type Term = ReadonlyMap<string, readonly EventMatcher[]>;
/** A disjunction of terms: `[]` accepts nothing. */
type Dnf = readonly Term[];

const TRUE: Dnf = [new Map()];
const FALSE: Dnf = [];

/**
 * Compiles a rule's AST to the event pattern of its CloudTrail EventBridge rule.
 */
export function compileEventPattern(
  ast: KqlNode,
  options: CompileEventPatternOptions = {},
): CompiledEventPattern {
  const maxLength = options.maxLength ?? EVENT_PATTERN_MAX_LENGTH;
  const widened: string[] = [];
  const widen = (reason: string): Dnf => {
    if (!widened.includes(reason)) widened.push(reason);
    return TRUE;
  };
  let dnf = compileNode(ast, widen);
  if (dnf.length > MAX_ALTERNATIVES) {
    widen(`more than ${MAX_ALTERNATIVES} alternatives: kept only the keys they share`);
    dnf = [collapse(dnf)];
  }
  if (dnf.length === 0) return { pattern: null, widened };

  let pattern = buildPattern(dnf);
  if (patternLength(pattern) > maxLength && dnf.length > 1) {
    widen(`longer than ${maxLength} characters: kept only the keys all alternatives share`);
    dnf = [collapse(dnf)];
    pattern = buildPattern(dnf);
  }
  while (patternLength(pattern) > maxLength) {
    const [term] = dnf as [Term];
    const largest = [...term.entries()].sort(
      (a, b) => JSON.stringify(b[1]).length - JSON.stringify(a[1]).length,
    )[0];
    if (largest === undefined) break;
    widen(`longer than ${maxLength} characters: dropped the filter on ${largest[0]}`);
    const rest = new Map(term);
    rest.delete(largest[0]);
    dnf = [rest];
    pattern = buildPattern(dnf);
  }
  return { pattern, widened };
}

function patternLength(pattern: EventBridgePattern): number {
  return JSON.stringify(pattern).length;
}

// ---------------------------------------------------------------------------------------------------------
// AST → disjunctive normal form over raw conditions

/** `providers`: what the enclosing `and`s allow `event.provider` to be (see `./providers`). */
function compileNode(node: KqlNode, widen: (reason: string) => Dnf, providers?: Providers): Dnf {
  switch (node.type) {
    case 'and': {
      const allowed = andProviders(providers, node.children);
      return node.children.reduce<Dnf>((acc, child) => and(acc, compileNode(child, widen, allowed)), TRUE);
    }
    case 'or':
      return node.children.reduce<Dnf>((acc, child) => or(acc, compileNode(child, widen, providers)), FALSE);
    case 'is':
      return compileIs(node, widen, providers);
    case 'not':
      return widen('negation (not …)');
    case 'range':
      return widen(`range on ${describeField(node.field)}`);
    case 'exists':
      return widen(`exists (${describeField(node.field)}:*)`);
    case 'nested':
      return widen(`nested query on ${node.path}`);
    case 'all':
      return TRUE;
  }
}

function describeField(field: { readonly value: string } | null): string {
  return field === null ? 'free text' : field.value;
}

function compileIs(node: KqlIsNode, widen: (reason: string) => Dnf, providers: Providers): Dnf {
  if (node.field === null) return widen('free text (a value without a field)');
  if (node.field.kind === 'wildcard') return widen(`wildcard field name ${node.field.value}`);
  const field = node.field.value;
  if (node.value.kind === 'wildcard') return compileWildcard(field, node.value, widen);
  const matches = rawMatchesFor(SOURCE, field, node.value.value);
  if (matches === undefined) return widen(`${field} (no raw mapping in the catalog)`);
  return fromRawMatches(forProviders(matches, providers), widen);
}

/**
 * A wildcard value can be filtered on raw values only when the field's raw value *is* its ECS value
 * (CloudTrail `eventName` → `event.action`). That is checked by asking the catalog about several values
 * sharing the wildcard's fixed prefix (or suffix): each must map to exact, verbatim raw values on the same
 * paths. Anything else widens.
 */
function compileWildcard(field: string, value: KqlWildcardPattern, widen: (reason: string) => Dnf): Dnf {
  const first = value.parts[0] ?? '';
  const last = value.parts[value.parts.length - 1] ?? '';
  const anchor = first !== '' ? 'prefix' : last !== '' ? 'suffix' : undefined;
  if (anchor === undefined)
    return widen(`${field}:${value.value} (wildcard without a fixed prefix or suffix)`);
  const fixed = anchor === 'prefix' ? first : last;
  const paths = verbatimPaths(field, fixed, anchor);
  if (paths === undefined) return widen(`${field}:${value.value} (the catalog renames this field's values)`);
  return or(
    FALSE,
    paths.map((path) => new Map([[path, [anchor === 'prefix' ? { prefix: fixed } : { suffix: fixed }]]])),
  );
}

/** The raw paths that hold the ECS value verbatim, or `undefined` when the catalog does not copy it so. */
function verbatimPaths(field: string, fixed: string, anchor: 'prefix' | 'suffix'): string[] | undefined {
  const variations = ['', 'a', 'Z9', '-x.y', '/q'];
  const probes = variations.map((extra) => (anchor === 'prefix' ? `${fixed}${extra}` : `${extra}${fixed}`));
  let paths: string[] | undefined;
  for (const probe of probes) {
    const matches = rawMatchesFor(SOURCE, field, probe);
    if (matches === undefined || matches.length === 0) return undefined;
    if (matches.some((match) => match.op !== 'equals' || match.value !== probe)) return undefined;
    const found = [...new Set(matches.map((match) => match.path))].sort();
    if (paths === undefined) paths = found;
    else if (found.join('\n') !== paths.join('\n')) return undefined;
  }
  return paths;
}

function fromRawMatches(matches: readonly RawMatch[], widen: (reason: string) => Dnf): Dnf {
  let result: Dnf = FALSE;
  for (const match of matches) {
    if (match.path === 'eventSource' && match.op === 'equals' && !AWS_EVENT_SOURCE.test(match.value))
      continue;
    const matcher = toMatcher(match);
    if (matcher === undefined) return widen(`${match.path} compared by ${match.op}`);
    result = or(result, [new Map([[match.path, [matcher]]])]);
  }
  return result;
}

function toMatcher(match: RawMatch): EventMatcher | undefined {
  switch (match.op) {
    case 'equals':
      return match.value;
    case 'equalsIgnoreCase':
      return { 'equals-ignore-case': match.value };
    case 'prefix':
      return { prefix: match.value };
    case 'prefixIgnoreCase':
      return { prefix: { 'equals-ignore-case': match.value } };
    case 'suffixIgnoreCase':
      return { suffix: { 'equals-ignore-case': match.value } };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Boolean algebra on DNF, widening (never narrowing) where the pattern language has no exact form

function and(left: Dnf, right: Dnf): Dnf {
  const out: Term[] = [];
  for (const a of left) {
    for (const b of right) {
      const merged = conjoin(a, b);
      if (merged !== undefined) out.push(merged);
    }
  }
  return simplify(out);
}

function or(left: Dnf, right: Dnf): Dnf {
  return simplify([...left, ...right]);
}

/** Both terms at once; `undefined` when they cannot hold together. */
function conjoin(a: Term, b: Term): Term | undefined {
  const out = new Map(a);
  for (const [path, matchers] of b) {
    const existing = out.get(path);
    if (existing === undefined) {
      out.set(path, matchers);
      continue;
    }
    const both = intersect(existing, matchers);
    if (both.length === 0) return undefined;
    out.set(path, both);
  }
  return out;
}

/**
 * Filters that accept what both lists accept. Exact for a list of literals (each literal is kept when the
 * other list accepts it); otherwise one of the two lists, which accepts at least the intersection.
 */
function intersect(a: readonly EventMatcher[], b: readonly EventMatcher[]): readonly EventMatcher[] {
  const literalsA = a.every((m) => typeof m === 'string');
  const literalsB = b.every((m) => typeof m === 'string');
  if (literalsA) return a.filter((value) => b.some((m) => accepts(m, value as string)));
  if (literalsB) return b.filter((value) => a.some((m) => accepts(m, value as string)));
  return a.length <= b.length ? a : b;
}

/** EventBridge's semantics of one filter on one string value. */
function accepts(matcher: EventMatcher, value: string): boolean {
  if (typeof matcher === 'string') return matcher === value;
  if ('equals-ignore-case' in matcher)
    return value.toLowerCase() === matcher['equals-ignore-case'].toLowerCase();
  if ('prefix' in matcher) {
    const prefix = matcher.prefix;
    return typeof prefix === 'string'
      ? value.startsWith(prefix)
      : value.toLowerCase().startsWith(prefix['equals-ignore-case'].toLowerCase());
  }
  const suffix = matcher.suffix;
  return typeof suffix === 'string'
    ? value.endsWith(suffix)
    : value.toLowerCase().endsWith(suffix['equals-ignore-case'].toLowerCase());
}

const key = (matcher: EventMatcher): string => JSON.stringify(matcher);

function union(a: readonly EventMatcher[], b: readonly EventMatcher[]): EventMatcher[] {
  const seen = new Set(a.map(key));
  return [...a, ...b.filter((m) => !seen.has(key(m)))];
}

function sameMatchers(a: readonly EventMatcher[], b: readonly EventMatcher[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(key));
  return b.every((m) => keys.has(key(m)));
}

/** Whether every event `narrow` accepts, `wide` accepts too (syntactically: fewer keys, more filters). */
function subsumes(wide: Term, narrow: Term): boolean {
  for (const [path, matchers] of wide) {
    const other = narrow.get(path);
    if (other === undefined) return false;
    const keys = new Set(matchers.map(key));
    if (!other.every((m) => keys.has(key(m)))) return false;
  }
  return true;
}

/**
 * Drops terms another term already covers, and merges terms that differ on one key only (`a:x or a:y` →
 * `a:[x, y]`), until nothing changes. Neither step changes what the disjunction accepts.
 */
function simplify(terms: readonly Term[]): Dnf {
  let current = [...terms];
  for (let changed = true; changed; ) {
    changed = false;
    current = current.filter(
      (term, i) =>
        !current.some((other, j) => j !== i && subsumes(other, term) && (j < i || !subsumes(term, other))),
    );
    outer: for (let i = 0; i < current.length; i += 1) {
      for (let j = i + 1; j < current.length; j += 1) {
        const merged = mergeOnOneKey(current[i] as Term, current[j] as Term);
        if (merged !== undefined) {
          current = [...current.slice(0, i), merged, ...current.slice(i + 1, j), ...current.slice(j + 1)];
          changed = true;
          break outer;
        }
      }
    }
  }
  return current;
}

function mergeOnOneKey(a: Term, b: Term): Term | undefined {
  if (a.size !== b.size) return undefined;
  let differing: string | undefined;
  for (const [path, matchers] of a) {
    const other = b.get(path);
    if (other === undefined) return undefined;
    if (sameMatchers(matchers, other)) continue;
    if (differing !== undefined) return undefined;
    differing = path;
  }
  if (differing === undefined) return a;
  const out = new Map(a);
  out.set(differing, union(a.get(differing) ?? [], b.get(differing) ?? []));
  return out;
}

/** One term accepting everything any of `terms` accepts: the keys they all constrain, filters unioned. */
function collapse(terms: Dnf): Term {
  const [first, ...rest] = terms;
  if (first === undefined) return new Map();
  const out = new Map<string, readonly EventMatcher[]>();
  for (const [path, matchers] of first) {
    if (!rest.every((term) => term.has(path))) continue;
    out.set(
      path,
      rest.reduce<readonly EventMatcher[]>((acc, term) => union(acc, term.get(path) ?? []), matchers),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// DNF → EventBridge JSON

function buildPattern(dnf: Dnf): EventBridgePattern {
  const terms = dnf.map(dropPrefixConflicts);
  const common = new Map<string, readonly EventMatcher[]>();
  const [first] = terms;
  if (first !== undefined) {
    for (const [path, matchers] of first) {
      if (terms.every((term) => sameMatchers(term.get(path) ?? [], matchers) && term.has(path))) {
        common.set(path, matchers);
      }
    }
  }
  const residues = terms.map((term) => new Map([...term].filter(([path]) => !common.has(path))));
  const detail: Record<string, unknown> = nest(common);
  if (terms.length > 1 && residues.every((residue) => residue.size > 0)) {
    detail.$or = residues.map((residue) => nest(residue));
  }
  const source = eventBridgeSources(terms);
  return {
    ...(source === undefined ? {} : { source }),
    'detail-type': [{ suffix: CLOUDTRAIL_DETAIL_TYPE_SUFFIX }],
    ...(Object.keys(detail).length === 0 ? {} : { detail: detail as DetailPattern }),
  };
}

/** The union of each term's `source`, when every term pins `eventSource` to services with a known one. */
function eventBridgeSources(terms: readonly Term[]): string[] | undefined {
  const sources = new Set<string>();
  for (const term of terms) {
    const eventSources = term.get('eventSource');
    if (eventSources === undefined) return undefined;
    for (const matcher of eventSources) {
      const source = typeof matcher === 'string' ? EVENTBRIDGE_SOURCES.get(matcher) : undefined;
      if (source === undefined) return undefined;
      sources.add(source);
    }
  }
  return [...sources].sort();
}

/** A pattern cannot filter both `a` and `a.b`: the deeper filter is dropped (the term only widens). */
function dropPrefixConflicts(term: Term): Term {
  const paths = [...term.keys()];
  const kept = paths.filter(
    (path) => !paths.some((other) => other !== path && segmentsStartWith(parsePath(path), parsePath(other))),
  );
  return new Map(kept.map((path) => [path, term.get(path) ?? []]));
}

function segmentsStartWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length < path.length && prefix.every((segment, i) => path[i] === segment);
}

function nest(term: Term): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of [...term.keys()].sort()) {
    const segments = parsePath(path);
    let node = out;
    segments.forEach((segment, i) => {
      if (i === segments.length - 1) {
        node[segment] = term.get(path);
        return;
      }
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    });
  }
  return out;
}

/** Splits a path as `RAW_FIELDS` formats it: `a.b`, with `["x.y"]` for a segment containing dots. */
export function parsePath(formatted: string): string[] {
  const segments: string[] = [];
  const token = /([A-Za-z0-9_@$-]+)|\[("(?:[^"\\]|\\.)*")\]/y;
  let position = 0;
  while (position < formatted.length) {
    if (formatted[position] === '.' && segments.length > 0) position += 1;
    token.lastIndex = position;
    const found = token.exec(formatted);
    if (found === null) throw new Error(`Unreadable raw path "${formatted}" at ${position}`);
    segments.push(found[1] ?? (JSON.parse(found[2] as string) as string));
    position = token.lastIndex;
  }
  return segments;
}
