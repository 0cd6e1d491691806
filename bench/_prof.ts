import { normalize } from '../lambda/engine/normalizers';
import { generateEvents } from './generate';
const source = (process.argv[2] ?? 'aws-cloudtrail') as 'aws-cloudtrail';
const records = generateEvents(3000, { seed: 2, sources: [source] }).map((e) => JSON.parse(JSON.stringify(e.record)));
let n = 0;
const end = Date.now() + 4000;
while (Date.now() < end) for (const r of records) n += normalize(source, r).doc.event.id.length;
console.log(n);
