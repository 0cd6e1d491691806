/**
 * The normalizers against real third-party events (`../shared/corpus`, read at run time, never
 * copied): every labelled line must decode and normalize, and the seed rule's verdict on the
 * normalized document (the shipped rule's compiled query) must equal the label.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../lambda/engine/ecs';
import {
  NormalizationError,
  normalize,
  recordsFromDocument,
  TIMESTAMP_PARSE_FAILURE_TAG,
} from '../../lambda/engine/normalizers';
import { loadRule } from '../../lambda/engine/rules';
import { CORPUS_DIR as corpusDir, type Label, loadLabels } from '../support/corpus';

/** The shipped rule, whose query is the seed's, unchanged: the verdict comes from the real compiled KQL. */
const rule = await loadRule(
  fileURLToPath(new URL('../../rules/abnormal-cloud-api-calls.yaml', import.meta.url)),
);

/**
 * Lines that are not records we can turn into an API-call event, and why. Everything else must
 * normalize. Each is labelled `false`, so rejecting it agrees with the label.
 */
const NOT_NORMALIZABLE: ReadonlyMap<string, { stage: 'decode' | 'normalize'; reason: RegExp }> = new Map([
  [
    'azure/panther-labs_panther-analysis__azure_elevate_user_access_admin.jsonl:1',
    { stage: 'decode', reason: /Entra ID AuditLogs record/ }, // Entra ID audit log, a different log
  ],
  [
    'azure/panther-labs_panther-analysis__azure_elevate_user_access_admin.jsonl:2',
    { stage: 'decode', reason: /Entra ID AuditLogs record/ },
  ],
  [
    'gcp/panther-labs_panther-analysis__gcp_cloud_run_set_iam_policy.jsonl:3',
    { stage: 'normalize', reason: /protoPayload\.methodName/ }, // fixture with the method removed
  ],
]);

function lineOf(label: Label): string {
  const text = readFileSync(`${corpusDir}${label.file}`, 'utf8').split(/\r?\n/)[label.line - 1];
  if (text === undefined || text.length === 0) throw new Error(`${label.file}:${label.line} is empty`);
  return text;
}

interface Outcome {
  verdict: boolean;
  normalized: NormalizedEvent[];
  decodeErrors: string[];
  normalizeErrors: NormalizationError[];
}

function evaluate(label: Label): Outcome {
  const outcome: Outcome = { verdict: false, normalized: [], decodeErrors: [], normalizeErrors: [] };
  for (const item of recordsFromDocument(JSON.parse(lineOf(label)))) {
    if ('error' in item) {
      outcome.decodeErrors.push(item.error);
      continue;
    }
    try {
      const normalized = normalize(item.source, item.record);
      outcome.normalized.push(normalized);
      outcome.verdict ||= rule.predicate(normalized.doc);
    } catch (error) {
      if (!(error instanceof NormalizationError)) throw error;
      outcome.normalizeErrors.push(error);
    }
  }
  return outcome;
}

const labels = loadLabels();

describe('the labelled corpus', () => {
  it('has labels to check', () => {
    expect(labels.length).toBeGreaterThanOrEqual(100);
  });

  it.each(
    labels.map((label) => [`${label.file}:${label.line}`, label.api, label.expectedMatch, label] as const),
  )('%s (%s) matches the seed: %s', (key, _api, expectedMatch, label) => {
    // Act
    const outcome = evaluate(label);

    // Assert
    expect(outcome.verdict).toBe(expectedMatch);
    const rejected = NOT_NORMALIZABLE.get(key);
    if (rejected !== undefined) {
      expect(outcome.normalized).toEqual([]);
      const errors =
        rejected.stage === 'decode' ? outcome.decodeErrors : outcome.normalizeErrors.map((e) => e.message);
      expect(errors).toEqual([expect.stringMatching(rejected.reason)]);
      return;
    }
    expect(outcome.decodeErrors).toEqual([]);
    expect(outcome.normalizeErrors).toEqual([]);
    expect(outcome.normalized).toHaveLength(1);
    const { doc } = outcome.normalized[0] as NormalizedEvent;
    expect(doc.event.id.length).toBeGreaterThan(0);
    expect(doc['@timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(doc.event.dataset).toBe(
      { aws: 'aws-cloudtrail', azure: 'azure-activity-logs', gcp: 'gcp-audit-logs' }[label.cloud],
    );
    // Placeholder times (`0000-00-00…`) are the only ones allowed to fall back to the epoch.
    const placeholder = /"(?:timestamp|eventTime|time)":"0000-00-00/.test(lineOf(label));
    expect(Array.isArray(doc.tags) && doc.tags.includes(TIMESTAMP_PARSE_FAILURE_TAG)).toBe(placeholder);
  });

  it('agrees with every label', () => {
    // Act
    const disagreements = labels.filter((label) => evaluate(label).verdict !== label.expectedMatch);

    // Assert
    expect(disagreements.map((label) => `${label.file}:${label.line}`)).toEqual([]);
  });

  it('rejects only the lines listed as not normalizable', () => {
    // Act
    const rejected = labels.filter((label) => evaluate(label).normalized.length === 0);

    // Assert
    expect(rejected.map((label) => `${label.file}:${label.line}`).sort()).toEqual(
      [...NOT_NORMALIZABLE.keys()].sort(),
    );
  });
});
