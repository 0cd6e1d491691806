/**
 * The normalizers against real third-party events (`../shared/corpus`, read at run time, never
 * copied): every labelled line must decode and normalize, and the seed rule's verdict on the
 * normalized document must equal the label.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EcsEvent, NormalizedEvent } from '../../lambda/engine/ecs';
import {
  NormalizationError,
  normalize,
  recordsFromDocument,
  TIMESTAMP_PARSE_FAILURE_TAG,
} from '../../lambda/engine/normalizers';

const corpusDir = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

/**
 * The seed query, hand-written over the normalized document until the KQL compiler lands:
 * provider/action membership exactly as `seed/abnormal-cloud-api-calls.md` states it.
 */
const SEED: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['AWS IAM', new Set(['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion'])],
  ['Microsoft.Authorization', new Set(['roleAssignments/write', 'elevateAccess'])],
  ['gcp.iam', new Set(['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy'])],
]);

function seedMatches(doc: EcsEvent): boolean {
  return SEED.get(doc.event.provider)?.has(doc.event.action) ?? false;
}

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

interface Label {
  file: string;
  line: number;
  cloud: string;
  api: string;
  expectedMatch: boolean;
  note: string;
}

/** RFC 4180 fields of one CSV line (the notes contain quoted commas). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

function loadLabels(): Label[] {
  const [header, ...rows] = readFileSync(`${corpusDir}labels.csv`, 'utf8')
    .split(/\r?\n/)
    .filter((row) => row.length > 0);
  expect(csvFields(header as string).slice(0, 5)).toEqual(['file', 'line', 'cloud', 'api', 'expected_match']);
  return rows.map((row) => {
    const [file, line, cloud, api, expected, , , note] = csvFields(row);
    return {
      file: file as string,
      line: Number(line),
      cloud: cloud as string,
      api: api as string,
      expectedMatch: expected === 'true',
      note: note ?? '',
    };
  });
}

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
      outcome.verdict ||= seedMatches(normalized.doc);
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
