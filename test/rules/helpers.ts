import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RULES_DIR = path.join(ROOT, 'rules');
export const SHIPPED_RULE = path.join(RULES_DIR, 'abnormal-cloud-api-calls.yaml');
export const SHIPPED_TESTS = path.join(RULES_DIR, 'abnormal-cloud-api-calls.tests.yaml');
export const SEED_FILE = path.resolve(ROOT, '../shared/seed/abnormal-cloud-api-calls.md');

/** A small rule that validates; each rejection test breaks one thing in it. */
export const VALID_RULE = `id: sample-rule
name: Sample rule
description: A rule for tests.
severity: high
risk_score: 75
type: query
index:
  - aws-cloudtrail-*
language: kuery
query: event.provider:"AWS IAM" and event.action:"DeleteAccessKey"
schedule:
  interval: 5m
  enabled: true
`;

/** Writes files into a fresh temporary folder and returns its path. */
export async function tempDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rules-test-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** The seed document's YAML section: from the `---` line to the Remediation heading. */
export function seedYaml(seedMarkdown: string): string {
  const start = seedMarkdown.indexOf('\n---\n');
  const end = seedMarkdown.indexOf('\n## Remediation');
  if (start < 0 || end < 0) throw new Error('seed document has no YAML section');
  return seedMarkdown.slice(start + 1, end);
}

/**
 * The seed's query, folded by hand as YAML folds a `>` block whose lines share one indentation:
 * line breaks become spaces and the block keeps one final newline.
 */
export function seedQuery(seedMarkdown: string): string {
  const lines = seedYaml(seedMarkdown).split('\n');
  const header = lines.findIndex((line) => /^- query: >\s*$/.test(line));
  if (header < 0) throw new Error('seed has no `query: >` block');
  const body: string[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!/^\s{2,}\S/.test(line)) break;
    body.push(line.trim());
  }
  return `${body.join(' ')}\n`;
}
