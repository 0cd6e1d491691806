import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { handWrittenSeed } from './rule-eval';
const docs = generateEvents(30000, { seed: 1 }).map((e) => normalize(e.source, e.record).doc);
const hasOwn = Object.prototype.hasOwnProperty;
const AWS = new Set(['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion']);
const AZ = new Set(['roleAssignments/write', 'elevateAccess']);
const GCP = new Set(['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy']);
const branches = new Map([['AWS IAM', AWS], ['Microsoft.Authorization', AZ], ['gcp.iam', GCP]]);
const V = (name: string, get: (d: any, k: string, dotted: string) => unknown) => {
  const p = (doc: unknown) => {
    const pv = get(doc, 'provider', 'event.provider');
    if (typeof pv !== 'string') return false;
    const set = branches.get(pv);
    if (set === undefined) return false;
    const a = get(doc, 'action', 'event.action');
    return typeof a === 'string' && set.has(a);
  };
  return p;
};
const plain = V('plain', (d, k) => d.event?.[k]);
const ownOnly = V('own', (d, k) => { const e = d.event; if (e === undefined || !hasOwn.call(d, 'event')) return undefined; const v = e[k]; return v !== undefined && hasOwn.call(e, k) ? v : undefined; });
const hasOwnFn = V('hasOwn2', (d, k) => { const e = d.event; if (e === undefined || !Object.hasOwn(d, 'event')) return undefined; const v = e[k]; return v !== undefined && Object.hasOwn(e, k) ? v : undefined; });
const dotted = V('dotted', (d, k, dk) => { const e = d.event; const v = e?.[k]; const f = d[dk]; return f !== undefined ? f : v; });
const inCheck = V('dottedIn', (d, k, dk) => { const e = d.event; const v = e?.[k]; return dk in d ? d[dk] : v; });
const protoCheck = V('proto', (d, k) => { if (Object.getPrototypeOf(d) !== Object.prototype) return undefined; const e = d.event; if (e === undefined) return undefined; if (Object.getPrototypeOf(e) !== Object.prototype) return undefined; return e[k]; });
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'plain', run: run(plain), ops: docs.length },
  { name: 'ownOnly', run: run(ownOnly), ops: docs.length },
  { name: 'Object.hasOwn', run: run(hasOwnFn), ops: docs.length },
  { name: 'dotted', run: run(dotted), ops: docs.length },
  { name: 'dottedIn', run: run(inCheck), ops: docs.length },
  { name: 'proto', run: run(protoCheck), ops: docs.length },
], { rounds: 21 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), formatNs(r.bestNsPerOp));
