import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { createHash } from 'node:crypto';
import { derivedEventId } from '../lambda/engine/normalizers/read';
const recs = generateEvents(3000, { seed: 2, sources: ['azure-activity-logs'] }).map((e) => JSON.parse(JSON.stringify(e.record)));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyCache = new Map<string, string>();
const SAFE = /["\\\u0000-\u001f\ud800-\udfff]/;
function canon2(value: unknown): string {
  if (typeof value === 'string') return SAFE.test(value) ? JSON.stringify(value) : `"${value}"`;
  if (Array.isArray(value)) { let out = '['; for (let i = 0; i < value.length; i++) { if (i > 0) out += ','; out += canon2(value[i]); } return `${out}]`; }
  if (isObject(value)) {
    const keys = Object.keys(value); if (keys.length > 1) keys.sort();
    let out = '{'; let first = true;
    for (const key of keys) { const item = value[key]; if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue; if (!first) out += ','; first = false;
      let k = keyCache.get(key); if (k === undefined) { k = JSON.stringify(key); if (keyCache.size < 10000) keyCache.set(key, k); }
      out += k; out += ':'; out += canon2(item); }
    return `${out}}`;
  }
  return typeof value === 'bigint' ? value.toString() : (JSON.stringify(value) ?? 'null');
}
const d2 = (r: unknown) => `derived-${createHash('sha256').update(canon2(r)).digest('hex').slice(0, 32)}`;
for (const r of recs) if (d2(r) !== derivedEventId(r)) throw new Error('diff');
const res = await compare([
  { name: 'stringify', run: () => { let n = 0; for (const r of recs) n += JSON.stringify(r).length; return n; }, ops: recs.length },
  { name: 'derived (current)', run: () => { let n = 0; for (const r of recs) n += derivedEventId(r).length; return n; }, ops: recs.length },
  { name: 'derived2', run: () => { let n = 0; for (const r of recs) n += d2(r).length; return n; }, ops: recs.length },
  { name: 'hash only', run: () => { let n = 0; const s = JSON.stringify(recs[0]); for (const r of recs) n += createHash('sha256').update(s).digest('hex').length; return n; }, ops: recs.length },
], { rounds: 9 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp));
const OP = Object.prototype;
function collect(value: unknown, keys: Set<string>): boolean {
  if (Array.isArray(value)) { for (const v of value) if (!collect(v, keys)) return false; return true; }
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value); if (proto !== OP && proto !== null) return false;
    for (const k in value) { } // noop
    for (const k of Object.keys(value)) { keys.add(k); if (!collect((value as any)[k], keys)) return false; }
    return true;
  }
  return typeof value !== 'bigint';
}
function d3(r: unknown): string {
  const keys = new Set<string>();
  if (!collect(r, keys)) return derivedEventId(r);
  const list = [...keys].sort();
  return `derived-${createHash('sha256').update(JSON.stringify(r, list)).digest('hex').slice(0, 32)}`;
}
const INDEX = /^(?:0|[1-9]\d*)$/;
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value); if (keys.length > 1) keys.sort();
    const out = Object.create(null);
    for (const k of keys) out[k] = sortedCopy((value as any)[k]);
    return out;
  }
  return value;
}
function d4(r: unknown): string {
  return `derived-${createHash('sha256').update(JSON.stringify(sortedCopy(r))).digest('hex').slice(0, 32)}`;
}
for (const r of recs) if (d3(r) !== derivedEventId(r) || d4(r) !== derivedEventId(r)) throw new Error('diff3');
const res2 = await compare([
  { name: 'derived2', run: () => { let n = 0; for (const r of recs) n += d2(r).length; return n; }, ops: recs.length },
  { name: 'd3 replacer list', run: () => { let n = 0; for (const r of recs) n += d3(r).length; return n; }, ops: recs.length },
  { name: 'd4 sorted copy', run: () => { let n = 0; for (const r of recs) n += d4(r).length; return n; }, ops: recs.length },
], { rounds: 9 });
for (const r of res2) console.log(r.name, formatNs(r.nsPerOp));
