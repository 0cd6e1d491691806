import type { JsonValue } from '../ecs';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Reads a dotted ECS path from a normalized document, following nested objects and literal dotted
 * keys alike. Own properties only: a field named `__proto__` in a log must never reach a prototype.
 */
export function valueAt(doc: unknown, path: string): JsonValue | undefined {
  if (doc === null || typeof doc !== 'object') return undefined;
  const record = doc as Record<string, JsonValue>;
  if (hasOwn.call(record, path)) return record[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  // Try every split point so `{"event.provider": …}` and `{event: {provider: …}}` both resolve.
  for (let split = dot; split >= 0; split = path.indexOf('.', split + 1)) {
    const head = path.slice(0, split);
    if (hasOwn.call(record, head)) {
      const found = valueAt(record[head], path.slice(split + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The field as a display string: scalars as text, arrays joined, objects and absence as undefined. */
export function stringAt(doc: unknown, path: string): string | undefined {
  return displayValue(valueAt(doc, path));
}

/**
 * Arrays nested deeper than this are not shown. Raw fields are kept as they arrived, and a few kilobytes
 * of JSON nest thousands of levels: following them would overflow the stack while the alert is built,
 * and the match would be lost with it. ECS arrays are flat; a value this deep is hostile or broken.
 */
export const MAX_DISPLAY_DEPTH = 8;

export function displayValue(value: JsonValue | undefined, depth = 0): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    if (depth >= MAX_DISPLAY_DEPTH) return undefined;
    const parts = value
      .map((item) => displayValue(item, depth + 1))
      .filter((part): part is string => part !== undefined);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  return undefined;
}
