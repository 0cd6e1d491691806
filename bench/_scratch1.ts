import { shippedRules } from './seed-rule';
import { benchRuleEvaluation } from './rule-eval';
await shippedRules();
const r = await benchRuleEvaluation({ quick: process.argv.includes('--quick') });
console.log(r.markdown);
