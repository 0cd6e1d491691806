import { compileKql } from '../lambda/engine/kql';
import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
import { handWrittenSeed } from './rule-eval';
import { seedQuery, shippedRules } from './seed-rule';
await shippedRules();
const docs = generateEvents(30000, { seed: 1 }).map((e) => normalize(e.source, e.record).doc);
let captured: { params: string[]; body: string; argv: unknown[] } | undefined;
const orig = Function;
(globalThis as any).Function = new Proxy(orig, { construct(t, args) { const f = Reflect.construct(t, args) as any; return (...argv: unknown[]) => { captured = { params: args.slice(0, -1), body: args[args.length - 1], argv }; return f(...argv); }; } });
const compiled = compileKql(seedQuery());
(globalThis as any).Function = orig;
const c = captured!;
const mk = (body: string) => new Function(...c.params, body)(...c.argv) as (d: unknown) => boolean;
const noTry = mk(c.body.replace(/let result;\n  try \{\n    result = /, 'let result = ').replace(/\n  \} catch \{\n    return general\(root\);\n  \}/, ''));
const run = (p: (d: unknown) => boolean) => () => { let m = 0; for (let i = 0; i < docs.length; i++) if (p(docs[i])) m++; return m; };
for (const d of docs) if (noTry(d) !== handWrittenSeed(d)) throw new Error('x');
const res = await compare([
  { name: 'hand', run: run(handWrittenSeed), ops: docs.length },
  { name: 'compiled', run: run(compiled), ops: docs.length },
  { name: 'noTry', run: run(noTry), ops: docs.length },
], { rounds: 21, minPassMs: 30 });
for (const r of res) console.log(r.name, formatNs(r.nsPerOp), r.vsFirst.toFixed(2));
