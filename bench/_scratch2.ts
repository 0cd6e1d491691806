import { compileKql } from '../lambda/engine/kql';
import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { handWrittenSeed } from './rule-eval';
import { seedQuery, shippedRules } from './seed-rule';
await shippedRules();
const docs = generateEvents(30000, { seed: 1 }).map((e) => normalize(e.source, e.record).doc);
const compiled = compileKql(seedQuery());
const hasOwn = Object.prototype.hasOwnProperty;
const COMPLEX = Symbol('complex');
function get2(root: any, k0: string, k1: string, dotted: string): unknown {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return COMPLEX;
  const a = root[k0];
  let result: unknown;
  if (a !== undefined && typeof a === 'object' && a !== null && hasOwn.call(root, k0)) {
    if (Array.isArray(a)) return COMPLEX;
    const b = a[k1];
    if (b !== undefined && hasOwn.call(a, k1)) result = b;
  }
  const flat = root[dotted];
  if (flat !== undefined && hasOwn.call(root, dotted)) return result === undefined ? flat : COMPLEX;
  return result;
}
const AWS = new Set(['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion']);
const AZ = new Set(['roleAssignments/write', 'elevateAccess']);
const GCP = new Set(['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy']);
const branches = new Map([['AWS IAM', AWS], ['Microsoft.Authorization', AZ], ['gcp.iam', GCP]]);
function safeHand(doc: unknown): boolean {
  const p = get2(doc, 'event', 'provider', 'event.provider');
  if (typeof p !== 'string') return false;
  const set = branches.get(p);
  if (set === undefined) return false;
  const a = get2(doc, 'event', 'action', 'event.action');
  return typeof a === 'string' && set.has(a);
}
function makeGetter(k0: string, k1: string) {
  const dotted = `${k0}.${k1}`;
  return (root: any): unknown => {
    if (typeof root !== 'object' || root === null || Array.isArray(root)) return COMPLEX;
    const a = root[k0];
    let result: unknown;
    if (a !== undefined && typeof a === 'object' && a !== null && hasOwn.call(root, k0)) {
      if (Array.isArray(a)) return COMPLEX;
      const b = a[k1];
      if (b !== undefined && hasOwn.call(a, k1)) result = b;
    }
    const flat = root[dotted];
    if (flat !== undefined && hasOwn.call(root, dotted)) return result === undefined ? flat : COMPLEX;
    return result;
  };
}
function makeDispatch(get: (r: unknown) => unknown, map: Map<string, (r: unknown) => boolean>) {
  return (root: unknown) => {
    const v = get(root);
    if (typeof v !== 'string') return false;
    const c = map.get(v);
    return c !== undefined && c(root);
  };
}
function makeSet(get: (r: unknown) => unknown, set: Set<string>) {
  return (root: unknown) => {
    const v = get(root);
    return typeof v === 'string' && set.has(v);
  };
}
const gp = makeGetter('event', 'provider');
const ga = makeGetter('event', 'action');
const closure = makeDispatch(gp, new Map([['AWS IAM', makeSet(ga, AWS)], ['Microsoft.Authorization', makeSet(ga, AZ)], ['gcp.iam', makeSet(ga, GCP)]]));
for (const d of docs) if (closure(d) !== handWrittenSeed(d) || safeHand(d) !== handWrittenSeed(d)) throw new Error('x');
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'safeHand', run: run(safeHand), ops: docs.length },
  { name: 'closure', run: run(closure), ops: docs.length },
  { name: 'compiled', run: run(compiled), ops: docs.length },
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
