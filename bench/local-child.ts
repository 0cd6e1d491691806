/**
 * The child process of the local benchmark: runs the local detector over one folder and prints one JSON
 * line with its timing and its own peak RSS, so the parent's memory never counts.
 */
import { performance } from 'node:perf_hooks';
import type { MemoryStore as MemoryStoreClass } from '../lambda/engine/detector/memory-store';
import type { loadRules as loadRulesFunction } from '../lambda/engine/rules';
import type { runLocal as runLocalFunction } from '../lambda/local/run';
import { REPO_ROOT, RULES_DIR } from './seed-rule';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: local-child.ts <folder> [lambda dir of another engine copy]');
const lambdaDir = process.argv[3] ?? `${REPO_ROOT}/lambda`;
const { MemoryStore } = (await import(`${lambdaDir}/engine/detector/memory-store.ts`)) as {
  MemoryStore: typeof MemoryStoreClass;
};
const { loadRules } = (await import(`${lambdaDir}/engine/rules/index.ts`)) as {
  loadRules: typeof loadRulesFunction;
};
const { runLocal } = (await import(`${lambdaDir}/local/run.ts`)) as { runLocal: typeof runLocalFunction };
const rules = await loadRules(RULES_DIR);
let alerts = 0;
const start = performance.now();
const summary = await runLocal({
  paths: [dir],
  rules,
  store: new MemoryStore(),
  mode: 'alerts',
  onAlert: () => {
    alerts += 1;
  },
});
const seconds = (performance.now() - start) / 1000;
console.log(
  JSON.stringify({
    bytes: summary.bytes,
    records: summary.records,
    seconds,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    alerts,
    matched: summary.stats.matched,
  }),
);
