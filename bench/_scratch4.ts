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
function gen(k0: string, k1: string) {
  const K0 = JSON.stringify(k0), K1 = JSON.stringify(k1), D = JSON.stringify(`${k0}.${k1}`);
  const own = (o: string, k: string, v: string) => `(getProto(${o}) === OP ? ${v} !== OP[${k}] || hasOwn.call(${o}, ${k}) : hasOwn.call(${o}, ${k}))`;
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
    const f = root[${D}];
    if (f !== undefined && ${own('root', D, 'f')}) {
      if (found !== undefined || (typeof f === 'object' && f !== null)) return COMPLEX;
      found = f;
    }
    return found;
  }`;
  return new Function('hasOwn', 'OP', 'getProto', 'isArray', 'COMPLEX', src)(hasOwn, OP, getProto, isArray, COMPLEX) as (r: unknown) => unknown;
}
const AWS = new Set(['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion']);
const AZ = new Set(['roleAssignments/write', 'elevateAccess']);
const GCP = new Set(['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy']);
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
const gp = gen('event', 'provider');
const ga = gen('event', 'action');
const closure = makeDispatch(gp, new Map([['AWS IAM', makeSet(ga, AWS)], ['Microsoft.Authorization', makeSet(ga, AZ)], ['gcp.iam', makeSet(ga, GCP)]]));
const wrapped = (d: unknown) => { try { return closure(d); } catch { return false; } };
for (const d of docs) if (closure(d) !== handWrittenSeed(d)) throw new Error('x');
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'gen', run: run(closure), ops: docs.length },
  { name: 'genWrapped', run: run(wrapped), ops: docs.length },
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
