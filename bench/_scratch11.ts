import { benchKinesis } from './kinesis';
import { seedQuery, shippedRules } from './seed-rule';
await shippedRules();
const dir = process.argv[2];
const r = await benchKinesis({ quick: false, query: seedQuery(), ...(dir ? { lambdaDir: dir } : {}) });
console.log(r.markdown);
