/**
 * Defensive readers shared by the normalizers. Records come from files, queues and third parties, so
 * every read checks the shape and only ever looks at own properties: a record carrying `__proto__`
 * or `constructor` keys can neither pollute prototypes nor make us read inherited members.
 */
import crypto from 'node:crypto';
import { isIP } from 'node:net';
import type { JsonObject, JsonValue } from '../ecs';

/** An object read from JSON, indexed by string; read it with `own`/`at`, never directly. */
export type RawObject = Record<string, unknown>;

/** Arrays are excluded: no vendor record or nested object we read is an array where we expect an object. */
export function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property, never an inherited one. */
export function own(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Follows own properties along `path`; undefined as soon as a step is missing or not an object. */
export function at(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** A non-empty string, or undefined. Numbers are not coerced: a wrong shape is treated as absent. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A non-empty string or a finite number rendered as a string (ids and codes arrive as either). */
export function strOrNumber(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return str(value);
}

/** The first non-empty string found along the given paths. */
export function firstString(value: unknown, paths: readonly (readonly string[])[]): string | undefined {
  for (const path of paths) {
    const found = str(at(value, path));
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * An own property looked up without regard to case. Azure writes the same key as `requestbody`,
 * `requestBody`, `Properties` or `properties` depending on the export path.
 */
export function ownIgnoreCase(value: unknown, key: string): unknown {
  if (!isObject(value)) return undefined;
  if (Object.hasOwn(value, key)) return value[key];
  const lower = key.toLowerCase();
  for (const candidate of Object.keys(value)) {
    if (candidate.toLowerCase() === lower) return value[candidate];
  }
  return undefined;
}

/**
 * Keeps a raw value for the `aws.cloudtrail.*`-style namespaces. Values are kept by reference (no
 * clone): they came from JSON, and the normalized document is read-only downstream.
 */
export function json(value: unknown): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : undefined;
    case 'object':
      return value as JsonValue;
    default:
      return undefined;
  }
}

/** A string that is an IPv4 or IPv6 address (CloudTrail puts service names in `sourceIPAddress`). */
export function ipOf(value: string | undefined): string | undefined {
  return value !== undefined && isIP(value) !== 0 ? value : undefined;
}

/** Non-empty strings, first occurrence kept, order preserved. */
export function unique(values: readonly (string | undefined)[]): string[] {
  // A handful of values per event: a linear scan beats building a Set.
  const out: string[] = [];
  for (const value of values) {
    if (value !== undefined && value.length > 0 && !out.includes(value)) out.push(value);
  }
  return out;
}

/** `related`: `{user, ip}` with only the parts that have values, or undefined when neither has. */
export function relatedOf(users: readonly string[], ip: string | undefined): JsonObject | undefined {
  if (users.length === 0 && ip === undefined) return undefined;
  const related: JsonObject = {};
  if (users.length > 0) related.user = users as string[];
  if (ip !== undefined) related.ip = [ip];
  return related;
}

/** Parses a JSON document kept as a string inside a record (Azure `requestbody`); undefined if it is not JSON. */
export function parseEmbeddedJson(value: unknown): unknown {
  if (isObject(value)) return value;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const first = value.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * Sets a value at a dotted ECS path, creating plain objects on the way. Only ever called with paths
 * from this module's own tables, never with keys taken from a record.
 */
export function setPath(target: JsonObject, path: readonly string[], value: JsonValue | undefined): void {
  if (value === undefined) return;
  let current = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const next = current[key];
    if (isObject(next)) {
      current = next as JsonObject;
    } else {
      const created: JsonObject = {};
      current[key] = created;
      current = created;
    }
  }
  current[path[path.length - 1] as string] = value;
}

/**
 * A stable event id for records that carry none (old CloudTrail examples, Azure Event Hub records,
 * some GCP exports). The dedupe key must come from the event, so it is a hash of the record's content
 * with keys sorted: the same event read from S3, EventBridge or a replay gets the same id, and two
 * events that differ in any field (Azure Start and Success phases share a correlationId) do not.
 */
export function derivedEventId(record: unknown): string {
  // One string, one digest: hashing the same bytes token by token cost more in native calls than the
  // hashing itself (an Azure Event Hub record has ~200 tokens).
  return `derived-${sha256Hex(canonical(record)).slice(0, 32)}`;
}

/** `crypto.hash` (Node ≥ 20.12) skips the Hash object; the result is the same digest. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  return oneShotHash !== undefined
    ? oneShotHash('sha256', text, 'hex')
    : crypto.createHash('sha256').update(text).digest('hex');
}

/** Whether `JSON.stringify` would escape anything in `text`: `"`, `\\`, control characters, surrogates. */
function needsEscaping(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Paired surrogates are kept as they are by JSON.stringify; flagging them only costs the slow path.
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return true;
  }
  return false;
}

/** `JSON.stringify(key)` for keys seen before: records of one source repeat the same few hundred keys. */
const quotedKeys = new Map<string, string>();
const MAX_QUOTED_KEYS = 10_000;

function quote(text: string): string {
  return needsEscaping(text) ? JSON.stringify(text) : `"${text}"`;
}

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = quote(key);
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/**
 * How deep the derived id looks. JSON nests thousands of levels in a few kilobytes; past this depth a
 * value is hashed as a fixed marker, so a hostile record still gets an id (and alerts) instead of
 * overflowing the stack. Records nested less deeply hash exactly as before, so their ids do not change.
 */
const MAX_CANONICAL_DEPTH = 1000;
const TOO_DEEP = '"[nested deeper than 1000 levels]"';

/** JSON with object keys sorted at every level: the bytes the derived id hashes. */
function canonical(value: unknown, depth = 0): string {
  if (depth > MAX_CANONICAL_DEPTH) return TOO_DEEP;
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonical(value[i], depth + 1);
    }
    return `${out}]`;
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length > 1) keys.sort();
    let out = '{';
    let first = true;
    for (const key of keys) {
      const item = value[key];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      if (!first) out += ',';
      first = false;
      out += quoteKey(key);
      out += ':';
      out += canonical(item, depth + 1);
    }
    return `${out}}`;
  }
  return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'null');
}

// Timestamps ---------------------------------------------------------------------------------------

// `2022-09-27T17:09:18Z`, `2022-09-27 17:09:18`, `2023-01-03 01:52:07.000000000`, `...+02:00`, `... UTC`.
const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/;
// `Aug 12, 2020 12:16:24 PM` (the AWS Java SDK's date rendering, always UTC).
const JAVA_LIKE = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2}) ?([AaPp][Mm])$/;
const EPOCH_DIGITS = /^\d{9,16}(?:\.\d+)?$/;
const MONTHS = new Map(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, i) => [
    m,
    i + 1,
  ]),
);

/**
 * Parses the time formats the three vendors and their re-exporters use into ISO 8601 UTC with
 * millisecond precision; undefined when the value is not a real instant (e.g. the
 * `0000-00-00T00:00:00Z` placeholders of redacted fixtures). Times without a zone are UTC, as every
 * vendor writes UTC. `Date.parse` is avoided: it reads non-ISO strings in the host's local zone.
 */
export function parseTimestamp(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const fast = fromCanonicalUtc(value);
    if (fast !== undefined) return fast;
  }
  if (typeof value === 'number') return fromEpochNumber(value);
  if (isObject(value)) return fromProtoTimestamp(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (EPOCH_DIGITS.test(text)) return fromEpochNumber(Number(text));
  const iso = ISO_LIKE.exec(text);
  if (iso !== null) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = ''] = iso;
    return build(
      +(y as string),
      +(mo as string),
      +(d as string),
      +h,
      +mi,
      +s,
      fracToMillis(frac),
      zoneMinutes(zone),
    );
  }
  const java = JAVA_LIKE.exec(text);
  if (java !== null) {
    const [, mon, d, y, h, mi, s, ampm] = java as unknown as string[];
    const month = MONTHS.get((mon as string).toLowerCase());
    let hour = +(h as string);
    if (month === undefined || hour < 1 || hour > 12) return undefined;
    const pm = (ampm as string).toLowerCase() === 'pm';
    if (hour === 12) hour = pm ? 12 : 0;
    else if (pm) hour += 12;
    return build(+(y as string), month, +(d as string), hour, +(mi as string), +(s as string), 0, 0);
  }
  return undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digit at `index` (ASCII only, like `\d`), or -1. */
function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index) - 48;
  return code >= 0 && code <= 9 ? code : -1;
}

function twoDigits(text: string, index: number): number {
  const tens = digitAt(text, index);
  const ones = digitAt(text, index + 1);
  return tens < 0 || ones < 0 ? -1 : tens * 10 + ones;
}

/**
 * The shape nearly every record has (`2024-05-01T12:00:00Z`, `…:00.123Z`, Azure's `…:00.1234567Z`),
 * checked character by character and rendered without a `Date`: the same result `build` gives for it,
 * at a fraction of the cost. Anything else (other separators, zones, a leap second that rolls over, a day
 * past the month's end) is left to the general parser (undefined here).
 */
function fromCanonicalUtc(text: string): string | undefined {
  const length = text.length;
  if (length < 20 || length > 30 || text.charCodeAt(length - 1) !== 90 /* Z */) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') {
    return undefined;
  }
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (century < 0 || yearOfCentury < 0 || month < 1 || month > 12 || day < 1) return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const year = century * 100 + yearOfCentury;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  let millis = 0;
  if (length > 20) {
    // `.` and 1–9 digits before the `Z`.
    if (text[19] !== '.' || length === 21) return undefined;
    for (let i = 20; i < length - 1; i++) if (digitAt(text, i) < 0) return undefined;
    millis = fracToMillis(text.slice(20, length - 1));
  }
  return `${text.slice(0, 19)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

function fracToMillis(frac: string): number {
  return frac.length === 0 ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
}

function zoneMinutes(zone: string): number {
  if (zone === '' || zone === 'Z' || zone === 'z' || zone === 'UTC' || zone === 'GMT') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes);
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number,
): string | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // 2023-02-30
  date.setUTCHours(hour, minute, second, millis);
  date.setTime(date.getTime() - offsetMinutes * 60_000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function fromEpochNumber(value: number): string | undefined {
  if (!Number.isFinite(value) || value <= 0) return undefined;
  // Seconds until year 5138, then milliseconds, then microseconds.
  const millis = value < 1e11 ? value * 1000 : value < 1e14 ? value : value / 1000;
  const date = new Date(Math.floor(millis));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function fromProtoTimestamp(value: RawObject): string | undefined {
  const seconds = own(value, 'seconds');
  const nanos = own(value, 'nanos');
  const s = typeof seconds === 'string' ? Number(seconds) : seconds;
  if (typeof s !== 'number' || !Number.isFinite(s)) return undefined;
  const n = typeof nanos === 'number' && Number.isFinite(nanos) ? nanos : 0;
  const date = new Date(Math.floor(s * 1000 + n / 1e6));
  return s > 0 && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}
