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

export function displayValue(value: JsonValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const parts = value.map(displayValue).filter((part): part is string => part !== undefined);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  return undefined;
}
