import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
import { compare, formatNs } from './harness';
for (const source of ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'] as const) {
  const events = generateEvents(6000, { seed: 2, sources: [source] });
  const texts = events.map((e) => JSON.stringify(e.record));
  const res = await compare([
    { name: 'parse', run: () => { let n = 0; for (const t of texts) n += JSON.parse(t) ? 1 : 0; return n; }, ops: texts.length },
    { name: 'parse+normalize', run: () => { let n = 0; for (const t of texts) n += normalize(source, JSON.parse(t)).doc.event.id.length; return n; }, ops: texts.length },
  ], { rounds: 9, minPassMs: 50 });
  console.log(source, res.map((r) => `${r.name} ${formatNs(r.nsPerOp)}`).join(' | '));
}
