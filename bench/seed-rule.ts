/**
 * The shipped rule, loaded the way the detector loads it, so every benchmark measures the real query
 * (and a change to the rule file shows up in the figures).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rule } from '../lambda/engine/rules';
import { loadRules } from '../lambda/engine/rules';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RULES_DIR = path.join(REPO_ROOT, 'rules');

let rules: Rule[] | undefined;

export async function shippedRules(): Promise<Rule[]> {
  rules ??= await loadRules(RULES_DIR);
  return rules;
}

let query: string | undefined;

/** The seed rule's query; call `shippedRules()` once before. */
export function seedQuery(): string {
  if (query === undefined) {
    const seed = rules?.find((rule) => rule.id === 'abnormal-cloud-api-calls');
    if (seed === undefined) throw new Error('load the shipped rules first (shippedRules())');
    query = seed.query;
  }
  return query;
}
