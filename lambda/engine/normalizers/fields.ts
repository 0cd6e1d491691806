/**
 * The declarative half of each normalizer: tables that say which raw path feeds which ECS field. The
 * same tables drive the copy at run time and `RAW_FIELDS`, so the pre-filter compilers and the
 * normalizers cannot disagree about where `event.action` comes from.
 */
import type { JsonObject } from '../ecs';
import { at, firstString, json, setPath } from './read';

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
}

/** Called once per normalizer at module load. */
export function compileTable(rules: readonly FieldRule[]): CompiledTable {
  return {
    rules,
    copies: rules
      .filter((rule) => rule.copy !== 'computed')
      .map((rule) => ({ ecsPath: rule.ecs.split('.'), rule })),
  };
}

/** Applies the `string` and `value` rows of a table to `doc`. */
export function applyTable(doc: JsonObject, record: unknown, table: CompiledTable): void {
  for (const { ecsPath, rule } of table.copies) {
    if (rule.copy === 'string') {
      setPath(doc, ecsPath, firstString(record, rule.raw));
      continue;
    }
    for (const path of rule.raw) {
      const value = json(at(record, path));
      if (value !== undefined) {
        setPath(doc, ecsPath, value);
        break;
      }
    }
  }
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
