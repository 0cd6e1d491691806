/**
 * Every raw record the project has at hand — the shipped samples, the rule's test events and the shared
 * third-party corpus — decoded the way the detector decodes them, for tests that compare two ways of
 * processing the same records.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { SourceName } from '../../lambda/engine/ecs';
import { recordsFromDocument } from '../../lambda/engine/normalizers';
import { parseDocuments, payloadText } from '../../lambda/handlers/pipeline';
import { CORPUS_DIR } from './corpus';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface RawRecord {
  readonly source: SourceName;
  readonly record: unknown;
  /** File and position, for failure messages. */
  readonly where: string;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(json|jsonl|ndjson)(\.gz)?$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

function recordsOf(documents: readonly unknown[], where: string): RawRecord[] {
  const out: RawRecord[] = [];
  for (const document of documents) {
    for (const item of recordsFromDocument(document)) {
      if ('error' in item) continue;
      out.push({ source: item.source, record: item.record, where: `${where}#${item.index}` });
    }
  }
  return out;
}

/** The records of samples/, the shipped rule's test events and ../shared/corpus, in a fixed order. */
export function allRawRecords(): RawRecord[] {
  const out: RawRecord[] = [];
  for (const file of [...filesUnder(path.join(ROOT, 'samples')), ...filesUnder(CORPUS_DIR)]) {
    const documents = parseDocuments(payloadText(readFileSync(file)))
      .filter((document) => 'value' in document)
      .map((document) => (document as { value: unknown }).value);
    out.push(...recordsOf(documents, path.relative(ROOT, file)));
  }
  const testsFile = path.join(ROOT, 'rules', 'abnormal-cloud-api-calls.tests.yaml');
  const tests = parseYaml(readFileSync(testsFile, 'utf8')) as { tests: { event: unknown }[] };
  out.push(
    ...recordsOf(
      tests.tests.map((test) => test.event),
      'rules/abnormal-cloud-api-calls.tests.yaml',
    ),
  );
  return out;
}
