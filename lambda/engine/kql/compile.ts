/**
 * Compiles a KQL AST once into nested closures that decide a normalized event. This runs for every event
 * on every path (Kinesis, EventBridge, the sweep, the CLI), so all the work that does not depend on the
 * event happens here: field paths are split, every dotted key a path could be stored under is joined,
 * wildcards become prefix/suffix/substring checks (never a RegExp, so no backtracking on hostile values),
 * and `or` over many `field:value` comparisons becomes one field look-up and one `Set`/`Map` probe.
 *
 * Semantics are those of Elasticsearch `keyword` fields, which is how our ECS profile maps everything the
 * rules compare:
 * - comparisons are exact and case-sensitive; numbers, booleans and bigints in a document compare by
 *   their string form (`field:42` matches `42` and `"42"`); `null` is "no value";
 * - `*` matches any run of characters and the pattern is anchored at both ends (`Del*` matches
 *   `DeleteAccessKey`, not `xDel`); a quoted `*` or `\*` is a literal star;
 * - an array matches when any element does; a missing field never matches (and never throws), so
 *   `not field:x` matches documents without `field`;
 * - `event.provider` resolves through nested objects (`{event:{provider}}`), literal dotted keys
 *   (`{"event.provider": …}`) and any mix, and through arrays of objects along the way; only own
 *   properties count, so `__proto__`, `constructor` or `toString` resolve to nothing unless the document
 *   really has them;
 * - `field:*` (exists) holds when the field resolves to at least one non-null value (an object counts when
 *   it holds one somewhere); `*:*` matches every document, as Kibana's `match_all`;
 * - wildcard field names (`event.*:x`) match any leaf field whose dotted path matches the pattern;
 * - free text (no field) matches when any leaf value, at any depth, matches;
 * - `path:{ a:1 and b:2 }` holds when one object found at `path` satisfies the whole sub-query, with
 *   fields relative to that object;
 * - ranges compare numerically when both sides are finite decimal numbers; otherwise as instants when both
 *   are ISO-8601 dates (a date without an offset is UTC; a numeric bound against a date is epoch
 *   milliseconds); otherwise as strings by UTF-16 code units. Date math (`now-5m`) is not supported.
 */

import type {
  KqlAndNode,
  KqlExistsNode,
  KqlIsNode,
  KqlNestedNode,
  KqlNode,
  KqlOrNode,
  KqlPattern,
  KqlRangeNode,
  KqlRangeOperator,
} from './ast';
import { buildAnd, isLoneWildcard } from './ast';
import { KqlAstError } from './errors';
import { parseKql } from './parser';

/** A compiled query: `true` when the document matches. Never throws. */
export type KqlPredicate = (doc: unknown) => boolean;

/**
 * Compiles a query (or an AST from `parseKql`) into a predicate over documents. Compile once per rule and
 * call the predicate per event: the predicate does no parsing, no AST walking and no RegExp construction.
 *
 * @throws {KqlSyntaxError} when given a string that does not parse.
 * @throws {KqlAstError} when given something that is not a KQL AST.
 */
export function compileKql(queryOrAst: string | KqlNode): KqlPredicate {
  const ast = typeof queryOrAst === 'string' ? parseKql(queryOrAst) : queryOrAst;
  if (ast !== null && typeof ast === 'object' && ast.type === 'all') return () => true;
  const general = compileNode(ast);
  const exact: KqlPredicate = (doc) => {
    try {
      return general(doc);
    } catch {
      // Only exotic documents get here (throwing getters, revoked proxies): treat them as not matching.
      return false;
    }
  };
  return compileFastPath(ast, exact) ?? exact;
}

/** Decides one (sub)document: the event, or an object inside it for a nested query. */
type Predicate = (root: unknown) => boolean;
/** Looks at one value found at a field path; `context` is whatever the caller passed along. */
type Visit = (value: unknown, context: unknown) => boolean;
/** Calls `visit` on each value found at a field path under `root` until one returns true. */
type Resolver = (root: unknown, visit: Visit, context: unknown) => boolean;
type StringTest = (value: string) => boolean;

/** Deeper than any real event; stops runaway recursion on cyclic or adversarial documents. */
const MAX_DOCUMENT_DEPTH = 100;

const always: Predicate = () => true;
const never: Predicate = () => false;
const anyString: StringTest = () => true;
const hasOwn = Object.prototype.hasOwnProperty;

function compileNode(node: KqlNode): Predicate {
  if (node === null || typeof node !== 'object') throw new KqlAstError('Expected a KQL AST node', node);
  switch (node.type) {
    case 'or':
      return compileOr(node);
    case 'and':
      return compileAnd(node);
    case 'not': {
      const child = compileNode(node.child);
      return (root) => !child(root);
    }
    case 'is':
      return compileIs(node);
    case 'range':
      return compileRange(node);
    case 'exists':
      return compileExists(node);
    case 'nested':
      return compileNested(node);
    case 'all':
      return always;
    default:
      throw new KqlAstError(`Unknown KQL node type "${String((node as { type?: unknown }).type)}"`, node);
  }
}

function compileAnd(node: KqlAndNode): Predicate {
  return allOf(node.children.map(compileNode));
}

/**
 * `or` is where rules spend their time: a value list, or one branch per provider as in the seed rule. So:
 * - bare `field:value` children on the same field share one field resolution and one `Set` probe;
 * - when two or more children are `field:value` or `and`s containing one, for the same field (the
 *   seed's `event.provider`), that field is resolved once and its value selects the branches to try
 *   through a `Map`, instead of trying each branch in turn.
 */
function compileOr(node: KqlOrNode): Predicate {
  const dispatchField = pickDispatchField(node.children);
  const groups = new Map<string, FieldGroup>();
  const group = (field: string): FieldGroup => {
    let found = groups.get(field);
    if (found === undefined) {
      found = { literals: new Set(), wildcards: [], branches: new Map() };
      groups.set(field, found);
    }
    return found;
  };
  const others: Predicate[] = [];
  for (const child of node.children) {
    if (child.type === 'is' && child.field !== null && child.field.kind === 'literal') {
      const target = group(child.field.value);
      if (child.value.kind === 'literal') target.literals.add(child.value.value);
      else target.wildcards.push(compileWildcard(child.value.parts));
      continue;
    }
    if (dispatchField !== undefined && child.type === 'and') {
      const index = child.children.findIndex((grandchild) => literalIsOn(grandchild, dispatchField));
      const key = child.children[index];
      if (key !== undefined && key.type === 'is' && key.value.kind === 'literal') {
        const rest = child.children.filter((_, i) => i !== index);
        const restPredicate =
          rest.length === 1 ? compileNode(rest[0] as KqlNode) : compileNode(buildAnd(rest));
        const branches = group(dispatchField).branches;
        const list = branches.get(key.value.value);
        if (list === undefined) branches.set(key.value.value, [restPredicate]);
        else list.push(restPredicate);
        continue;
      }
    }
    others.push(compileNode(child));
  }
  const predicates: Predicate[] = [];
  for (const [field, target] of groups) predicates.push(compileGroup(field, target));
  return anyOf([...predicates, ...others]);
}

/** The `field:value` comparisons of one `or` on one literal field, and the branches they select. */
interface FieldGroup {
  readonly literals: Set<string>;
  readonly wildcards: StringTest[];
  /** value → rest of each `and` branch that requires `field:value`. */
  readonly branches: Map<string, Predicate[]>;
}

function compileGroup(field: string, group: FieldGroup): Predicate {
  const resolve = compilePath(field);
  const { literals, wildcards, branches } = group;
  if (branches.size === 0 && wildcards.length === 0 && literals.size === 1) {
    const [only] = literals;
    const visit = keywordVisit((value) => value === only);
    return (root) => resolve(root, visit, undefined);
  }
  if (branches.size === 0 && wildcards.length === 0) {
    const visit = keywordVisit((value) => literals.has(value));
    return (root) => resolve(root, visit, undefined);
  }
  if (branches.size === 0) {
    const visit = keywordVisit((value) => literals.has(value) || someTest(wildcards, value));
    return (root) => resolve(root, visit, undefined);
  }
  const visit: Visit = (value, root) => {
    const text = keywordOf(value);
    if (text === undefined) return false;
    if (literals.has(text) || someTest(wildcards, text)) return true;
    const candidates = branches.get(text);
    if (candidates === undefined) return false;
    for (const candidate of candidates) if (candidate(root)) return true;
    return false;
  };
  return (root) => resolve(root, visit, root);
}

/** The literal field most `or` children select on, if at least two do and at least one is an `and`. */
function pickDispatchField(children: readonly KqlNode[]): string | undefined {
  const counts = new Map<string, number>();
  let sawAnd = false;
  for (const child of children) {
    const fields = new Set<string>();
    if (child.type === 'and') {
      for (const grandchild of child.children) {
        const field = literalIsField(grandchild);
        if (field !== undefined) {
          fields.add(field);
          sawAnd = true;
        }
      }
    } else {
      const field = literalIsField(child);
      if (field !== undefined) fields.add(field);
    }
    for (const field of fields) counts.set(field, (counts.get(field) ?? 0) + 1);
  }
  if (!sawAnd) return undefined;
  let best: string | undefined;
  let bestCount = 1;
  for (const [field, count] of counts) {
    if (count > bestCount) {
      best = field;
      bestCount = count;
    }
  }
  return best;
}

function literalIsField(node: KqlNode): string | undefined {
  if (node.type !== 'is' || node.field === null || node.field.kind !== 'literal') return undefined;
  return node.value.kind === 'literal' ? node.field.value : undefined;
}

function literalIsOn(node: KqlNode, field: string): boolean {
  return literalIsField(node) === field;
}

function compileIs(node: KqlIsNode): Predicate {
  const test = node.value.kind === 'literal' ? equals(node.value.value) : compileWildcard(node.value.parts);
  return onField(node.field, keywordVisit(test));
}

function equals(expected: string): StringTest {
  return (value) => value === expected;
}

function compileExists(node: KqlExistsNode): Predicate {
  if (isLoneWildcard(node.field)) return always;
  return onField(node.field, hasValue);
}

function compileNested(node: KqlNestedNode): Predicate {
  const query = compileNode(node.query);
  const resolve = compilePath(node.path);
  const visit: Visit = (value) => typeof value === 'object' && value !== null && query(value);
  return (root) => resolve(root, visit, undefined);
}

function compileRange(node: KqlRangeNode): Predicate {
  return onField(node.field, compileComparison(node.operator, node.value));
}

/** Applies `visit` to the values of a literal field, of every leaf field a wildcard matches, or (free text) of every leaf. */
function onField(field: KqlPattern | null, visit: Visit): Predicate {
  if (field === null) return (root) => someLeaf(root, visit, 0);
  if (field.kind === 'literal') {
    const resolve = compilePath(field.value);
    return (root) => resolve(root, visit, undefined);
  }
  const pathTest = compileWildcard(field.parts);
  return (root) => someLeafPath(root, null, pathTest, visit, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Field resolution

/**
 * Resolves a dotted field path. At each object along the way every own key the remaining segments could
 * be stored under is tried — `event`, then `event.provider` — so nested objects, dotted keys and mixtures
 * all resolve. Arrays anywhere along the path (and at its end) are flattened.
 */
function compilePath(path: string): Resolver {
  const segments = path.split('.');
  const count = segments.length;
  // keys[i][j]: segments i..i+j joined with dots — the own keys that can hold the rest of the path.
  const keys: string[][] = segments.map((_, i) => {
    const row: string[] = [];
    let joined = '';
    for (let k = i; k < count; k += 1) {
      joined = k === i ? (segments[k] as string) : `${joined}.${segments[k]}`;
      row.push(joined);
    }
    return row;
  });
  const step: Step = (node, index, visit, context, depth) => {
    if (typeof node !== 'object' || node === null || depth > MAX_DOCUMENT_DEPTH) return false;
    if (Array.isArray(node)) {
      for (const element of node) if (step(element, index, visit, context, depth + 1)) return true;
      return false;
    }
    const row = keys[index] as string[];
    for (let j = 0; j < row.length; j += 1) {
      const key = row[j] as string;
      const value = (node as Record<string, unknown>)[key];
      if (value === undefined || !hasOwn.call(node, key)) continue;
      const next = index + j + 1;
      if (
        next === count
          ? visitAll(value, visit, context, depth + 1)
          : step(value, next, visit, context, depth + 1)
      ) {
        return true;
      }
    }
    return false;
  };
  if (count === 1) return compileOneSegment(path, step);
  if (count === 2) return compileTwoSegments(segments[0] as string, segments[1] as string, path, step);
  return (root, visit, context) => step(root, 0, visit, context, 0);
}

type Step = (node: unknown, index: number, visit: Visit, context: unknown, depth: number) => boolean;

/** `field`: one own-property read; arrays go the general way. */
function compileOneSegment(key: string, step: Step): Resolver {
  return (root, visit, context) => {
    if (typeof root !== 'object' || root === null) return false;
    if (Array.isArray(root)) return step(root, 0, visit, context, 0);
    const value = (root as Record<string, unknown>)[key];
    if (value === undefined || !hasOwn.call(root, key)) return false;
    return Array.isArray(value) ? visitAll(value, visit, context, 1) : visit(value, context);
  };
}

/**
 * `event.provider`, the shape of nearly every ECS field a rule names: `root.event.provider`, then the
 * dotted key `root['event.provider']`, in straight-line code; arrays go the general way.
 */
function compileTwoSegments(first: string, second: string, dotted: string, step: Step): Resolver {
  return (root, visit, context) => {
    if (typeof root !== 'object' || root === null) return false;
    if (Array.isArray(root)) return step(root, 0, visit, context, 0);
    const parent = (root as Record<string, unknown>)[first];
    if (parent !== undefined && typeof parent === 'object' && parent !== null && hasOwn.call(root, first)) {
      if (Array.isArray(parent)) {
        if (step(parent, 1, visit, context, 1)) return true;
      } else {
        const value = (parent as Record<string, unknown>)[second];
        if (value !== undefined && hasOwn.call(parent, second)) {
          if (Array.isArray(value) ? visitAll(value, visit, context, 2) : visit(value, context)) return true;
        }
      }
    }
    const flat = (root as Record<string, unknown>)[dotted];
    if (flat === undefined || !hasOwn.call(root, dotted)) return false;
    return Array.isArray(flat) ? visitAll(flat, visit, context, 1) : visit(flat, context);
  };
}

/** Visits a value found at the end of a path, flattening arrays (any element matches). */
function visitAll(value: unknown, visit: Visit, context: unknown, depth: number): boolean {
  if (!Array.isArray(value)) return visit(value, context);
  if (depth > MAX_DOCUMENT_DEPTH) return false;
  for (const element of value) if (visitAll(element, visit, context, depth + 1)) return true;
  return false;
}

/** Visits every non-object leaf value under `node` (free text, and exists on an object). */
function someLeaf(node: unknown, visit: Visit, depth: number): boolean {
  if (typeof node !== 'object' || node === null) return depth > 0 && visit(node, undefined);
  if (depth > MAX_DOCUMENT_DEPTH) return false;
  if (Array.isArray(node)) {
    for (const element of node) if (someLeaf(element, visit, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(node)) {
    if (someLeaf((node as Record<string, unknown>)[key], visit, depth + 1)) return true;
  }
  return false;
}

/**
 * Visits every leaf value under `node` whose dotted path (array indexes omitted) passes `pathTest`; `path`
 * is `null` at the root, which has no path of its own.
 */
function someLeafPath(
  node: unknown,
  path: string | null,
  pathTest: StringTest,
  visit: Visit,
  depth: number,
): boolean {
  if (typeof node !== 'object' || node === null)
    return path !== null && pathTest(path) && visit(node, undefined);
  if (depth > MAX_DOCUMENT_DEPTH) return false;
  if (Array.isArray(node)) {
    for (const element of node) if (someLeafPath(element, path, pathTest, visit, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(node)) {
    const child = path === null ? key : `${path}.${key}`;
    if (someLeafPath((node as Record<string, unknown>)[key], child, pathTest, visit, depth + 1)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// Value tests

/** The keyword (string) form of a scalar document value; `undefined` for null, objects and the like. */
function keywordOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return undefined;
  }
}

function keywordVisit(test: StringTest): Visit {
  return (value) => {
    const text = keywordOf(value);
    return text !== undefined && test(text);
  };
}

const isScalar: Visit = (value) => keywordOf(value) !== undefined;

/** Exists: a scalar, or an object holding one somewhere (Elasticsearch's exists on an object field). */
const hasValue: Visit = (value) =>
  typeof value === 'object' && value !== null ? someLeaf(value, isScalar, 1) : isScalar(value, undefined);

function someTest(tests: readonly StringTest[], value: string): boolean {
  for (const test of tests) if (test(value)) return true;
  return false;
}

/**
 * Compiles `*` wildcards (parts are the literal text between stars) to string checks, anchored at both
 * ends. The general case matches each middle part at its leftmost position after the previous one, which
 * is exact for `*`-only patterns and linear, unlike a backtracking RegExp.
 */
function compileWildcard(parts: readonly string[]): StringTest {
  if (parts.length < 2) return equals(parts[0] ?? '');
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  const middle = parts.slice(1, -1).filter((part) => part !== '');
  const minLength = first.length + last.length + middle.reduce((sum, part) => sum + part.length, 0);
  if (middle.length === 0) {
    if (first === '' && last === '') return anyString;
    if (last === '') return (value) => value.startsWith(first);
    if (first === '') return (value) => value.endsWith(last);
    return (value) => value.length >= minLength && value.startsWith(first) && value.endsWith(last);
  }
  if (first === '' && last === '' && middle.length === 1) {
    const [inner] = middle as [string];
    return (value) => value.includes(inner);
  }
  return (value) => {
    if (value.length < minLength || !value.startsWith(first) || !value.endsWith(last)) return false;
    const limit = value.length - last.length;
    let cursor = first.length;
    for (const part of middle) {
      const at = value.indexOf(part, cursor);
      if (at === -1 || at + part.length > limit) return false;
      cursor = at + part.length;
    }
    return true;
  };
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|([+-])(\d{2}):?(\d{2}))?)?$/i;

function toNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Epoch milliseconds of an ISO-8601 date or date-time, read as UTC when it has no offset. */
function toInstant(text: string): number | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  const [
    ,
    year,
    month,
    day,
    hour = '0',
    minute = '0',
    second = '0',
    fraction = '',
    zone,
    sign,
    zoneHour,
    zoneMinute,
  ] = match;
  const m = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  if (m < 1 || m > 12 || d < 1 || d > 31 || h > 24 || min > 59 || s > 60) return undefined;
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  let instant = Date.UTC(Number(year), m - 1, d, h, min, s, millis);
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const offset = (Number(zoneHour) * 60 + Number(zoneMinute)) * 60_000;
    instant += sign === '+' ? -offset : offset;
  }
  return Number.isFinite(instant) ? instant : undefined;
}

const OPERATOR_TESTS: Readonly<Record<KqlRangeOperator, (order: number) => boolean>> = {
  lt: (order) => order < 0,
  lte: (order) => order <= 0,
  gt: (order) => order > 0,
  gte: (order) => order >= 0,
};

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function compileComparison(operator: KqlRangeOperator, bound: string): Visit {
  const holds = OPERATOR_TESTS[operator];
  const boundNumber = toNumber(bound);
  const boundInstant = toInstant(bound) ?? boundNumber;
  return (value) => {
    if (typeof value === 'number' || typeof value === 'bigint') {
      const number = Number(value);
      if (boundNumber !== undefined) return holds(number - boundNumber);
      if (boundInstant !== undefined) return holds(number - boundInstant);
      return holds(compareStrings(String(value), bound));
    }
    if (typeof value === 'string') {
      const number = boundNumber === undefined ? undefined : toNumber(value);
      if (number !== undefined && boundNumber !== undefined) return holds(number - boundNumber);
      const instant = boundInstant === undefined ? undefined : toInstant(value);
      if (instant !== undefined && boundInstant !== undefined) return holds(instant - boundInstant);
      return holds(compareStrings(value, bound));
    }
    if (typeof value === 'boolean') return holds(compareStrings(String(value), bound));
    return false;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Combinators

function anyOf(predicates: readonly Predicate[]): Predicate {
  switch (predicates.length) {
    case 0:
      return never;
    case 1:
      return predicates[0] as Predicate;
    case 2: {
      const [a, b] = predicates as [Predicate, Predicate];
      return (root) => a(root) || b(root);
    }
    case 3: {
      const [a, b, c] = predicates as [Predicate, Predicate, Predicate];
      return (root) => a(root) || b(root) || c(root);
    }
    default:
      return (root) => {
        for (const predicate of predicates) if (predicate(root)) return true;
        return false;
      };
  }
}

function allOf(predicates: readonly Predicate[]): Predicate {
  switch (predicates.length) {
    case 0:
      return always;
    case 1:
      return predicates[0] as Predicate;
    case 2: {
      const [a, b] = predicates as [Predicate, Predicate];
      return (root) => a(root) && b(root);
    }
    case 3: {
      const [a, b, c] = predicates as [Predicate, Predicate, Predicate];
      return (root) => a(root) && b(root) && c(root);
    }
    default:
      return (root) => {
        for (const predicate of predicates) if (!predicate(root)) return false;
        return true;
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// The fast path

/**
 * Normalized events are plain nested objects: no arrays on the way to `event.provider`, no dotted keys, no
 * inherited properties. The fast path bets on that shape and is compiled to straight-line code, while the
 * closures above stay the exact evaluator it falls back to:
 * - each field path gets a reader generated with its property names written out (`root["event"]`), so V8
 *   sees named loads with their own inline caches instead of loads by a variable key shared by every path;
 *   the reader gives up (`COMPLEX`) on arrays, object leaves and any dotted-key alternative
 *   (`root["event.provider"]`), and the whole event then goes to the general evaluator;
 * - reads are plain property loads; "only own properties count" is checked by a second generated function
 *   only for a value that passes a comparison, which is the only time it can change the outcome (a value
 *   that fails a test contributes nothing, inherited or not, and a test's `not` sees the exact result);
 * - each field is read at most once per event, and only when the query needs it (short-circuit order);
 * - `or` over literals of one field becomes `===` comparisons (a `Set` probe past a few values).
 * Property names and values reach the generated source only as `JSON.stringify` literals, never as code.
 * Where code generation is unavailable (`--disallow-code-generation-from-strings`), or for queries the
 * fast path does not cover, the general evaluator runs alone.
 */
function compileFastPath(ast: KqlNode, general: KqlPredicate): KqlPredicate | undefined {
  const builder = new FastPathBuilder();
  let expression: string;
  try {
    expression = builder.expression(ast, 0);
  } catch (error) {
    if (error instanceof FastPathTooLarge) return undefined;
    throw error;
  }
  if (builder.paths.length === 0) return undefined;
  const fields = builder.paths.map((_, i) => i);
  const declarations = [
    ...builder.paths.map((segments, i) => `const r${i} = ${readerSource(segments)};`),
    ...builder.paths.map((segments, i) => `const o${i} = ${ownSource(segments)};`),
    ...builder.constants.map((_, i) => `const c${i} = constants[${i}];`),
  ];
  const body = [
    "'use strict';",
    ...declarations,
    'return function kqlFastPath(root) {',
    `  let ${fields.map((i) => `s${i} = UNREAD`).join(', ')};`,
    ...(builder.keys > 0
      ? [`  let ${Array.from({ length: builder.keys }, (_, i) => `d${i}`).join(', ')};`]
      : []),
    '  let result;',
    '  try {',
    `    result = ${expression};`,
    '  } catch {',
    // Only exotic documents throw (getters, proxies); the fast path reads in another order than the
    // general evaluator, so the general one decides.
    '    return general(root);',
    '  }',
    `  if (${fields.map((i) => `s${i} === COMPLEX`).join(' || ')}) return general(root);`,
    '  return result;',
    '};',
  ].join('\n');
  try {
    const factory = new Function(
      'hasOwn',
      'isArray',
      'COMPLEX',
      'UNREAD',
      'keywordOf',
      'constants',
      'general',
      body,
    );
    return factory(
      hasOwn,
      Array.isArray,
      COMPLEX,
      UNREAD,
      keywordOf,
      builder.constants,
      general,
    ) as KqlPredicate;
  } catch {
    return undefined;
  }
}

/** What a reader returns when the event is not plain enough for the fast path. */
const COMPLEX = Symbol('kql.complex');
/** A field not read yet in this evaluation. */
const UNREAD = Symbol('kql.unread');
/** Placeholder for the dispatch among the parts of an `or` being generated. */
const DISPATCH = Symbol('kql.dispatch');
/** Beyond these the general evaluator alone is used: generated code would be large for little gain. */
const MAX_FAST_PATH_NODES = 2_000;
const MAX_FAST_PATH_DEPTH = 200;
/** A path of n segments probes n(n-1)/2 dotted keys; longer paths use the general resolver. */
const MAX_FAST_PATH_SEGMENTS = 8;
/** Up to this many literals of one field are compared with `===`; more use a `Set`. */
const MAX_INLINE_LITERALS = 8;

class FastPathTooLarge extends Error {}

class FastPathBuilder {
  readonly paths: string[][] = [];
  readonly constants: unknown[] = [];
  /** How many dispatch keys (`d<i>` locals) the expression uses. */
  keys = 0;
  private readonly fieldIndex = new Map<string, number>();
  private nodes = 0;

  /** A JavaScript expression that evaluates `node` against `root`, reading fields through `s<i>`. */
  expression(node: KqlNode, depth: number): string {
    this.nodes += 1;
    if (this.nodes > MAX_FAST_PATH_NODES || depth > MAX_FAST_PATH_DEPTH) throw new FastPathTooLarge();
    switch (node.type) {
      case 'all':
        return 'true';
      case 'not':
        return `!(${this.expression(node.child, depth + 1)})`;
      case 'and':
        return `(${node.children.map((child) => this.expression(child, depth + 1)).join(' && ')})`;
      case 'or':
        return this.or(node, depth);
      case 'is':
        return this.is(node);
      case 'exists': {
        if (isLoneWildcard(node.field)) return 'true';
        const field = this.field(node.field);
        if (field === undefined) return this.general(node);
        return `(${this.constant(isKeywordValue)}(${this.read(field)}) && o${field}(root))`;
      }
      case 'range': {
        const field = this.field(node.field);
        if (field === undefined) return this.general(node);
        const compare = this.constant(compileComparison(node.operator, node.value));
        return `(${compare}(${this.read(field)}) && o${field}(root))`;
      }
      default:
        return this.general(node);
    }
  }

  private or(node: KqlOrNode, depth: number): string {
    // As in `compileOr`: the field most branches select on (the seed's `event.provider`) is read once and
    // its value picks the branches to try. Other literals of one field are tested together, where the first
    // of them stood (`or` commutes).
    const dispatchPath = pickDispatchField(node.children);
    const dispatchField = dispatchPath === undefined ? undefined : this.fieldOfPath(dispatchPath);
    const branches = new Map<string, string[]>();
    const literals = new Map<number, string[]>();
    const parts: (string | number | typeof DISPATCH)[] = [];
    const addBranch = (value: string, rest: string): void => {
      if (branches.size === 0) parts.push(DISPATCH);
      const list = branches.get(value);
      if (list === undefined) branches.set(value, [rest]);
      else list.push(rest);
    };
    for (const child of node.children) {
      if (dispatchPath !== undefined && dispatchField !== undefined) {
        if (literalIsOn(child, dispatchPath) && child.type === 'is') {
          this.nodes += 1;
          addBranch(child.value.value, 'true');
          continue;
        }
        if (child.type === 'and') {
          const index = child.children.findIndex((grandchild) => literalIsOn(grandchild, dispatchPath));
          const key = child.children[index];
          if (key !== undefined && key.type === 'is') {
            this.nodes += 2;
            const rest = child.children.filter((_, i) => i !== index);
            const restNode = rest.length === 1 ? (rest[0] as KqlNode) : buildAnd(rest);
            addBranch(key.value.value, this.expression(restNode, depth + 2));
            continue;
          }
        }
      }
      const field =
        child.type === 'is' && child.value.kind === 'literal' ? this.field(child.field) : undefined;
      if (field === undefined || child.type !== 'is' || child.value.kind !== 'literal') {
        parts.push(this.expression(child, depth + 1));
        continue;
      }
      this.nodes += 1;
      const list = literals.get(field);
      if (list === undefined) {
        literals.set(field, [child.value.value]);
        parts.push(field);
      } else if (!list.includes(child.value.value)) list.push(child.value.value);
    }
    const resolved = parts.map((part) => {
      if (part === DISPATCH) return this.dispatch(dispatchField as number, branches);
      return typeof part === 'number' ? this.oneOf(part, literals.get(part) ?? []) : part;
    });
    return `(${resolved.join(' || ')})`;
  }

  /** `key === v1 ? (own && rest1) : key === v2 ? (own && rest2) : false`, the key read once. */
  private dispatch(field: number, branches: ReadonlyMap<string, readonly string[]>): string {
    const key = `d${this.keys}`;
    this.keys += 1;
    const s = `s${field}`;
    const read = `(${key} = typeof ${this.read(field)} === 'string' ? ${s} : keywordOf(${s}))`;
    let chain = 'false';
    const entries = [...branches];
    for (let i = entries.length - 1; i >= 0; i--) {
      const [value, rests] = entries[i] as [string, readonly string[]];
      const rest = rests.includes('true') ? 'true' : rests.join(' || ');
      chain = `${i === 0 ? read : key} === ${JSON.stringify(value)} ? (o${field}(root) && (${rest})) : ${chain}`;
    }
    return `(${chain})`;
  }

  private is(node: KqlIsNode): string {
    const field = this.field(node.field);
    if (field === undefined) return this.general(node);
    if (node.value.kind === 'literal') return this.oneOf(field, [node.value.value]);
    const test = this.constant(keywordVisit(compileWildcard(node.value.parts)));
    return `(${test}(${this.read(field)}) && o${field}(root))`;
  }

  /** The field's keyword is one of `values`: `===` on strings, the keyword form for other scalars. */
  private oneOf(field: number, values: readonly string[]): string {
    const s = `s${field}`;
    const set = this.constant(new Set(values));
    const strings =
      values.length <= MAX_INLINE_LITERALS
        ? values.map((value) => `${s} === ${JSON.stringify(value)}`).join(' || ')
        : `${set}.has(${s})`;
    return `((typeof ${this.read(field)} === 'string' ? ${strings} : ${set}.has(keywordOf(${s}))) && o${field}(root))`;
  }

  private read(field: number): string {
    return `(s${field} === UNREAD ? (s${field} = r${field}(root)) : s${field})`;
  }

  /** The index of a literal field path the fast path can read, or undefined. */
  private field(pattern: KqlPattern | null): number | undefined {
    if (pattern === null || pattern.kind !== 'literal') return undefined;
    return this.fieldOfPath(pattern.value);
  }

  private fieldOfPath(path: string): number | undefined {
    let index = this.fieldIndex.get(path);
    if (index === undefined) {
      const segments = path.split('.');
      if (segments.length > MAX_FAST_PATH_SEGMENTS) return undefined;
      index = this.paths.length;
      this.paths.push(segments);
      this.fieldIndex.set(path, index);
    }
    return index;
  }

  /** A node the fast path does not specialize: the general evaluator's closure for it, called in place. */
  private general(node: KqlNode): string {
    return `${this.constant(compileNode(node))}(root)`;
  }

  private constant(value: unknown): string {
    this.constants.push(value);
    return `c${this.constants.length - 1}`;
  }
}

function isKeywordValue(value: unknown): boolean {
  return keywordOf(value) !== undefined;
}

/**
 * A reader for one path: the single value found by following own-or-inherited properties, `undefined`
 * when there is none, or `COMPLEX` when the general resolver must decide (an array on the way or at the
 * end, an object at the end, or a dotted key that could hold the rest of the path at any object on the way).
 */
function readerSource(segments: readonly string[]): string {
  const lines = [
    'function (root) {',
    "  if (typeof root !== 'object' || root === null) return undefined;",
    '  if (isArray(root)) return COMPLEX;',
  ];
  let current = 'root';
  for (let i = 0; i < segments.length; i++) {
    const dotted: string[] = [];
    for (let j = i + 1; j < segments.length; j++) dotted.push(segments.slice(i, j + 1).join('.'));
    if (dotted.length > 0) {
      const probes = dotted.map((key) => `${current}[${JSON.stringify(key)}] !== undefined`).join(' || ');
      lines.push(`  if (${probes}) return COMPLEX;`);
    }
    const next = `v${i}`;
    lines.push(`  const ${next} = ${current}[${JSON.stringify(segments[i])}];`);
    if (i === segments.length - 1) {
      lines.push(`  return typeof ${next} === 'object' && ${next} !== null ? COMPLEX : ${next};`);
    } else {
      lines.push(`  if (typeof ${next} !== 'object' || ${next} === null) return undefined;`);
      lines.push(`  if (isArray(${next})) return COMPLEX;`);
    }
    current = next;
  }
  lines.push('}');
  return lines.join('\n');
}

/** Whether every step of the path the reader followed is an own property (called only on a match). */
function ownSource(segments: readonly string[]): string {
  const lines = ['function (root) {'];
  let current = 'root';
  for (let i = 0; i < segments.length; i++) {
    const key = JSON.stringify(segments[i]);
    lines.push(`  if (!hasOwn.call(${current}, ${key})) return false;`);
    if (i < segments.length - 1) {
      lines.push(`  const v${i} = ${current}[${key}];`);
      current = `v${i}`;
    }
  }
  lines.push('  return true;', '}');
  return lines.join('\n');
}
