import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { handWrittenSeed } from './rule-eval';
const docs = generateEvents(30000, { seed: 1 }).map((e) => normalize(e.source, e.record).doc);
const hasOwn = Object.prototype.hasOwnProperty;
const OP = Object.prototype;
const getProto = Object.getPrototypeOf;
const isArray = Array.isArray;
const COMPLEX = Symbol('complex');
type Opts = { dotted: boolean; own: 'proto' | 'hasOwn' | 'none' };
function gen(k0: string, k1: string, o: Opts) {
  const K0 = JSON.stringify(k0), K1 = JSON.stringify(k1), D = JSON.stringify(`${k0}.${k1}`);
  const own = (ob: string, k: string, v: string) => o.own === 'none' ? 'true' : o.own === 'hasOwn' ? `hasOwn.call(${ob}, ${k})` : `(getProto(${ob}) === OP ? ${v} !== OP[${k}] || hasOwn.call(${ob}, ${k}) : hasOwn.call(${ob}, ${k}))`;
  const src = `return function accessor(root) {
    if (typeof root !== 'object' || root === null) return undefined;
    if (isArray(root)) return COMPLEX;
    let found;
    const a = root[${K0}];
    if (a !== undefined && typeof a === 'object' && a !== null && ${own('root', K0, 'a')}) {
      if (isArray(a)) return COMPLEX;
      const b = a[${K1}];
      if (b !== undefined && ${own('a', K1, 'b')}) {
        if (typeof b === 'object' && b !== null) return COMPLEX;
        found = b;
      }
    }
    ${o.dotted ? `const f = root[${D}];
    if (f !== undefined && ${own('root', D, 'f')}) {
      if (found !== undefined || (typeof f === 'object' && f !== null)) return COMPLEX;
      found = f;
    }` : ''}
    return found;
  }`;
  return new Function('hasOwn', 'OP', 'getProto', 'isArray', 'COMPLEX', src)(hasOwn, OP, getProto, isArray, COMPLEX) as (r: unknown) => unknown;
}
const AWS = new Set(['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion']);
const AZ = new Set(['roleAssignments/write', 'elevateAccess']);
const GCP = new Set(['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy']);
function makeDispatch(get: (r: unknown) => unknown, map: Map<string, (r: unknown) => boolean>) {
  return (root: unknown) => { const v = get(root); if (typeof v !== 'string') return false; const c = map.get(v); return c !== undefined && c(root); };
}
function makeSet(get: (r: unknown) => unknown, set: Set<string>) {
  return (root: unknown) => { const v = get(root); return typeof v === 'string' && set.has(v); };
}
const build = (o: Opts) => { const gp = gen('event', 'provider', o); const ga = gen('event', 'action', o);
  return makeDispatch(gp, new Map([['AWS IAM', makeSet(ga, AWS)], ['Microsoft.Authorization', makeSet(ga, AZ)], ['gcp.iam', makeSet(ga, GCP)]])); };
const variants: [string, Opts][] = [['full', { dotted: true, own: 'proto' }], ['noDotted', { dotted: false, own: 'proto' }], ['hasOwnOnly', { dotted: true, own: 'hasOwn' }], ['noOwn', { dotted: true, own: 'none' }], ['bare', { dotted: false, own: 'none' }]];
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  ...variants.map(([n, o]) => ({ name: n, run: run(build(o)), ops: docs.length })),
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
function makeDispatchLinear(get: (r: unknown) => unknown, keys: string[], preds: ((r: unknown) => boolean)[]) {
  const n = keys.length;
  return (root: unknown) => { const v = get(root); if (typeof v !== 'string') return false; for (let i = 0; i < n; i++) if (v === keys[i]) return (preds[i] as any)(root); return false; };
}
function makeLinear(get: (r: unknown) => unknown, vals: string[]) {
  const n = vals.length;
  return (root: unknown) => { const v = get(root); if (typeof v !== 'string') return false; for (let i = 0; i < n; i++) if (v === vals[i]) return true; return false; };
}
const buildL = (o: Opts) => { const gp = gen('event', 'provider', o); const ga = gen('event', 'action', o);
  return makeDispatchLinear(gp, ['AWS IAM', 'Microsoft.Authorization', 'gcp.iam'], [makeLinear(ga, [...AWS]), makeLinear(ga, [...AZ]), makeLinear(ga, [...GCP])]); };
const res2 = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'full', run: run(build(variants[0]![1])), ops: docs.length },
  { name: 'fullLinear', run: run(buildL(variants[0]![1])), ops: docs.length },
  { name: 'bareLinear', run: run(buildL(variants[4]![1])), ops: docs.length },
], { rounds: 21 });
for (const r of res2) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
const src = `return function seed(root) {
  if (typeof root !== 'object' || root === null || isArray(root)) return slow(root);
  let p, a, complex = false;
  const e = root["event"];
  if (e !== undefined && typeof e === 'object' && e !== null && (getProto(root) === OP ? e !== OP["event"] || hasOwn.call(root, "event") : hasOwn.call(root, "event"))) {
    if (isArray(e)) return slow(root);
    const pe = getProto(e) === OP;
    p = e["provider"];
    if (p !== undefined && !(pe ? p !== OP["provider"] || hasOwn.call(e, "provider") : hasOwn.call(e, "provider"))) p = undefined;
    a = e["action"];
    if (a !== undefined && !(pe ? a !== OP["action"] || hasOwn.call(e, "action") : hasOwn.call(e, "action"))) a = undefined;
  }
  if (root["event.provider"] !== undefined || root["event.action"] !== undefined) return slow(root);
  if (typeof p !== 'string') { if (typeof p === 'object' && p !== null) return slow(root); if (p === undefined) return false; p = String(p); }
  if (typeof a !== 'string') { if (typeof a === 'object' && a !== null) return slow(root); if (a === undefined) return false; a = String(a); }
  if (p === "AWS IAM") return a === "DeleteAccessKey" || a === "UpdateAssumeRolePolicy" || a === "CreatePolicyVersion";
  if (p === "Microsoft.Authorization") return a === "roleAssignments/write" || a === "elevateAccess";
  if (p === "gcp.iam") return a === "google.iam.admin.v1.DeleteServiceAccountKey" || a === "SetIamPolicy";
  return false;
}`;
const whole = new Function('hasOwn', 'OP', 'getProto', 'isArray', 'slow', src)(hasOwn, OP, getProto, isArray, () => false) as (r: unknown) => boolean;
const res3 = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'whole', run: run(whole), ops: docs.length },
  { name: 'bareLinear', run: run(buildL(variants[4]![1])), ops: docs.length },
], { rounds: 21 });
for (const r of res3) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
const mk = (s: string) => new Function('hasOwn', 'OP', 'getProto', 'isArray', 'slow', s)(hasOwn, OP, getProto, isArray, () => false) as (r: unknown) => boolean;
const noDot = mk(src.replace(`if (root["event.provider"] !== undefined || root["event.action"] !== undefined) return slow(root);`, ''));
const noOwnSrc = src.replace(/\(getProto\(root\) === OP \? e !== OP\["event"\] \|\| hasOwn.call\(root, "event"\) : hasOwn.call\(root, "event"\)\)/, 'true')
  .replace(/if \(p !== undefined && !\(pe.*\n/, '\n').replace(/if \(a !== undefined && !\(pe.*\n/, '\n');
const noOwn = mk(noOwnSrc);
const neither = mk(noOwnSrc.replace(`if (root["event.provider"] !== undefined || root["event.action"] !== undefined) return slow(root);`, ''));
const res4 = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'whole', run: run(whole), ops: docs.length },
  { name: 'noDot', run: run(noDot), ops: docs.length },
  { name: 'noOwn', run: run(noOwn), ops: docs.length },
  { name: 'neither', run: run(neither), ops: docs.length },
], { rounds: 21 });
for (const r of res4) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
