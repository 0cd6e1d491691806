/**
 * The declarative half of each normalizer: tables that say which raw path feeds which ECS field. The
 * same tables drive the copy at run time and `RAW_FIELDS`, so the pre-filter compilers and the
 * normalizers cannot disagree about where `event.action` comes from.
 */
import type { JsonObject, JsonValue } from '../ecs';
import { at, isObject, json, str } from './read';

/** A raw JSON path as segments; a segment may itself contain dots (Azure claim URIs). */
export type RawPath = readonly string[];

/**
 * One row of a raw→ECS table. `copy: 'string'` rows are applied generically (first non-empty string
 * along `raw`); `copy: 'value'` rows keep the raw value whole; `copy: 'computed'` rows are filled by
 * the normalizer's own code and are listed here so `RAW_FIELDS` stays complete.
 */
export interface FieldRule {
  readonly ecs: string;
  readonly raw: readonly RawPath[];
  readonly copy: 'string' | 'value' | 'computed';
}

/** A table with the ECS paths split once at load, so the per-event loop does no string work. */
export interface CompiledTable {
  readonly rules: readonly FieldRule[];
  readonly copies: readonly { readonly ecsPath: readonly string[]; readonly rule: FieldRule }[];
  /** The copy rows as specialized steps, in table order (see `applyTable`). */
  readonly steps: readonly CopyStep[];
}

/** One `string` or `value` row: how to read its raw value, and where it goes. */
interface CopyStep {
  readonly read: (record: unknown) => JsonValue | undefined;
  /** The ECS parent path, one array per distinct parent so steps under one parent can share it. */
  readonly parent: readonly string[];
  readonly leaf: string;
}

/** Called once per normalizer at module load. */
export function compileTable(rules: readonly FieldRule[]): CompiledTable {
  const copies = rules
    .filter((rule) => rule.copy !== 'computed')
    .map((rule) => ({ ecsPath: rule.ecs.split('.'), rule }));
  const parents = new Map<string, readonly string[]>();
  const steps = copies.map(({ ecsPath, rule }): CopyStep => {
    const parentKey = ecsPath.slice(0, -1).join('.');
    let parent = parents.get(parentKey);
    if (parent === undefined) {
      parent = ecsPath.slice(0, -1);
      parents.set(parentKey, parent);
    }
    const readers = rule.raw.map(compileReader);
    const read =
      rule.copy === 'string'
        ? firstOf(readers, (value) => str(value))
        : firstOf(readers, (value) => json(value));
    return { read, parent, leaf: ecsPath[ecsPath.length - 1] as string };
  });
  return { rules, copies, steps };
}

/** `at(record, path)` unrolled for the path's length (nearly all are one to three segments). */
function compileReader(path: RawPath): (record: unknown) => unknown {
  const [a, b, c] = path as [string, string | undefined, string | undefined];
  switch (path.length) {
    case 1:
      return (record) => ownValue(record, a);
    case 2:
      return (record) => ownValue(ownValue(record, a), b as string);
    case 3:
      return (record) => ownValue(ownValue(ownValue(record, a), b as string), c as string);
    default:
      return (record) => at(record, path);
  }
}

/**
 * `own(value, key)` with the own-property check made only for a value that is there: most rows name a
 * field the record does not have, and a plain load that finds nothing needs no check.
 */
function ownValue(value: unknown, key: string): unknown {
  if (!isObject(value)) return undefined;
  const found = value[key];
  return found !== undefined && Object.hasOwn(value, key) ? found : undefined;
}

/** The first raw value, along the row's paths, that `convert` accepts. */
function firstOf(
  readers: readonly ((record: unknown) => unknown)[],
  convert: (value: unknown) => JsonValue | undefined,
): (record: unknown) => JsonValue | undefined {
  if (readers.length === 1) {
    const [only] = readers as [(record: unknown) => unknown];
    return (record) => convert(only(record));
  }
  return (record) => {
    for (const reader of readers) {
      const value = convert(reader(record));
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

/**
 * Applies the `string` and `value` rows of a table to `doc`, exactly as `setPath` would row by row (same
 * objects created, in the same order, so the document's key order is unchanged); consecutive rows under
 * one parent (`aws.cloudtrail.*`) reuse the parent found by the previous one instead of walking again.
 */
export function applyTable(doc: JsonObject, record: unknown, table: CompiledTable): void {
  let lastParentPath: readonly string[] | undefined;
  let lastParent: JsonObject = doc;
  for (const step of table.steps) {
    const value = step.read(record);
    if (value === undefined) continue;
    if (step.parent !== lastParentPath) {
      lastParent = parentFor(doc, step.parent);
      lastParentPath = step.parent;
    }
    lastParent[step.leaf] = value;
  }
}

/** The object at `path` under `doc`, created as `setPath` creates it. */
function parentFor(doc: JsonObject, path: readonly string[]): JsonObject {
  let current = doc;
  for (const key of path) {
    const next = current[key];
    if (isObject(next)) {
      current = next as JsonObject;
    } else {
      const created: JsonObject = {};
      current[key] = created;
      current = created;
    }
  }
  return current;
}

const PLAIN_SEGMENT = /^[A-Za-z0-9_@$-]+$/;

/** Renders a raw path for humans and compilers: `a.b`, with `["x.y"]` for segments containing dots. */
export function formatPath(path: RawPath): string {
  let out = '';
  for (const segment of path) {
    if (PLAIN_SEGMENT.test(segment)) out += out.length === 0 ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Shorthand for table rows: `p('a.b')` → `['a', 'b']`; use an array literal when a key contains a dot. */
export function p(dotted: string): RawPath {
  return dotted.split('.');
}
