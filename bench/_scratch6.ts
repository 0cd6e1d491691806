import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { handWrittenSeed } from './rule-eval';
import { compileKql } from '../lambda/engine/kql';
import { seedQuery, shippedRules } from './seed-rule';
await shippedRules();
const compiled = compileKql(seedQuery());
const docs = generateEvents(30000, { seed: 1 }).map((e) => normalize(e.source, e.record).doc);
const hasOwn = Object.prototype.hasOwnProperty;
const isArray = Array.isArray;
const COMPLEX = Symbol('complex');
function gen(k0: string, k1: string) {
  const K0 = JSON.stringify(k0), K1 = JSON.stringify(k1), D = JSON.stringify(`${k0}.${k1}`);
  const src = `return function accessor(root) {
    if (typeof root !== 'object' || root === null) return undefined;
    if (isArray(root) || root[${D}] !== undefined) return COMPLEX;
    const a = root[${K0}];
    if (typeof a !== 'object' || a === null) return undefined;
    if (isArray(a)) return COMPLEX;
    const b = a[${K1}];
    return typeof b === 'object' && b !== null ? COMPLEX : b;
  }`;
  const verify = `return function verify(root) { return hasOwn.call(root, ${K0}) && hasOwn.call(root[${K0}], ${K1}); }`;
  return [new Function('isArray', 'COMPLEX', src)(isArray, COMPLEX), new Function('hasOwn', verify)(hasOwn)] as [(r: unknown) => unknown, (r: unknown) => boolean];
}
const AWS = ['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion'];
const AZ = ['roleAssignments/write', 'elevateAccess'];
const GCP = ['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy'];
const slow = () => false;
function makeDispatch([get, verify]: [(r: unknown) => unknown, (r: unknown) => boolean], map: Map<string, (r: unknown) => boolean>) {
  return (root: unknown) => { const v = get(root); if (v === COMPLEX) return slow(); if (typeof v !== 'string') return false; const c = map.get(v); return c !== undefined && verify(root) && c(root); };
}
function makeDispatchLinear([get, verify]: [(r: unknown) => unknown, (r: unknown) => boolean], keys: string[], preds: ((r: unknown) => boolean)[]) {
  const n = keys.length;
  return (root: unknown) => { const v = get(root); if (v === COMPLEX) return slow(); if (typeof v !== 'string') return false; for (let i = 0; i < n; i++) if (v === keys[i]) return verify(root) && (preds[i] as any)(root); return false; };
}
function makeSet([get, verify]: [(r: unknown) => unknown, (r: unknown) => boolean], vals: string[]) {
  const set = new Set(vals);
  return (root: unknown) => { const v = get(root); if (v === COMPLEX) return slow(); return typeof v === 'string' && set.has(v) && verify(root); };
}
function makeLinear([get, verify]: [(r: unknown) => unknown, (r: unknown) => boolean], vals: string[]) {
  const n = vals.length;
  return (root: unknown) => { const v = get(root); if (v === COMPLEX) return slow(); if (typeof v !== 'string') return false; for (let i = 0; i < n; i++) if (v === vals[i]) return verify(root); return false; };
}
const gp = gen('event', 'provider'); const ga = gen('event', 'action');
const hashed = makeDispatch(gp, new Map([['AWS IAM', makeSet(ga, AWS)], ['Microsoft.Authorization', makeSet(ga, AZ)], ['gcp.iam', makeSet(ga, GCP)]]));
const linear = makeDispatchLinear(gp, ['AWS IAM', 'Microsoft.Authorization', 'gcp.iam'], [makeLinear(ga, AWS), makeLinear(ga, AZ), makeLinear(ga, GCP)]);
for (const d of docs) if (hashed(d) !== handWrittenSeed(d) || linear(d) !== handWrittenSeed(d)) throw new Error('x');
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
for (let k = 0; k < 2; k++) {
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'hashed', run: run(hashed), ops: docs.length },
  { name: 'linear', run: run(linear), ops: docs.length },
  { name: 'compiled', run: run(compiled), ops: docs.length },
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
}
const wsrc = `return function seed(root) {
  if (typeof root !== 'object' || root === null) return false;
  if (isArray(root)) return slow(root);
  const e = root["event"];
  let p, a;
  if (typeof e === 'object' && e !== null) {
    if (isArray(e)) return slow(root);
    p = e["provider"];
  }
  if (root["event.provider"] !== undefined) return slow(root);
  if (typeof p !== 'string') { if (p === undefined || p === null) return false; if (typeof p === 'object') return slow(root); p = String(p); }
  switch (p) {
    case "AWS IAM":
    case "Microsoft.Authorization":
    case "gcp.iam":
      break;
    default: return false;
  }
  if (!(hasOwn.call(root, "event") && hasOwn.call(e, "provider"))) return slow(root);
  a = e["action"];
  if (root["event.action"] !== undefined) return slow(root);
  if (typeof a !== 'string') { if (a === undefined || a === null) return false; if (typeof a === 'object') return slow(root); a = String(a); }
  let r;
  if (p === "AWS IAM") r = a === "DeleteAccessKey" || a === "UpdateAssumeRolePolicy" || a === "CreatePolicyVersion";
  else if (p === "Microsoft.Authorization") r = a === "roleAssignments/write" || a === "elevateAccess";
  else r = a === "google.iam.admin.v1.DeleteServiceAccountKey" || a === "SetIamPolicy";
  return r && hasOwn.call(e, "action");
}`;
const whole = new Function('hasOwn', 'isArray', 'slow', wsrc)(hasOwn, isArray, () => false) as (r: unknown) => boolean;
for (const d of docs) if (whole(d) !== handWrittenSeed(d)) throw new Error('y');
for (let k = 0; k < 2; k++) {
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'whole', run: run(whole), ops: docs.length },
  { name: 'linear', run: run(linear), ops: docs.length },
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
}
console.log('--- with new harness');
const res9 = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'whole', run: run(whole), ops: docs.length },
  { name: 'compiledNew', run: run(compileKql(seedQuery())), ops: docs.length },
], { rounds: 21, minPassMs: 30 });
for (const r of res9) console.log(r.name, formatNs(r.nsPerOp), r.vsFirst.toFixed(2));
