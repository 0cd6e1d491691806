/**
 * `prepare` splits normalizing into validation plus the head, and the rest on demand. The detector skips
 * the rest for records no rule can match, which is only exact if (1) `prepare` rejects exactly what
 * `normalize` rejects, with the same error, (2) the head holds the full event's value of every head
 * field, and (3) the prepared event normalizes to what `normalize` gives. Checked on every record the
 * project has (samples, the rule's test events, the shared corpus) and on random mutations of them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HEAD_FIELDS,
  type NormalizedEvent,
  type PreparedEvent,
  type SourceName,
} from '../../lambda/engine/ecs';
import { normalize, prepare } from '../../lambda/engine/normalizers';
import { allRawRecords } from '../support/records';

const records = allRawRecords();

type Outcome<T> = { ok: T } | { error: string };

function attempt<T>(run: () => T): Outcome<T> {
  try {
    return { ok: run() };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

function valueAt(doc: unknown, dotted: string): unknown {
  if (dotted === '@timestamp') return (doc as Record<string, unknown>)['@timestamp'];
  let current = doc;
  for (const key of dotted.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** What must hold for one record; returns the first difference, or undefined. */
function difference(source: SourceName, record: unknown): string | undefined {
  const full = attempt<NormalizedEvent>(() => normalize(source, record));
  const prepared = attempt<PreparedEvent>(() => prepare(source, record));
  if ('error' in full || 'error' in prepared) {
    const fullError = 'error' in full ? full.error : 'none';
    const preparedError = 'error' in prepared ? prepared.error : 'none';
    return fullError === preparedError ? undefined : `normalize: ${fullError}; prepare: ${preparedError}`;
  }
  for (const field of HEAD_FIELDS) {
    const inHead = valueAt(prepared.ok.head, field);
    const inFull = valueAt(full.ok.doc, field);
    if (inHead !== inFull || inHead === undefined)
      return `${field}: head ${String(inHead)}, full ${String(inFull)}`;
  }
  const rest = attempt(() => prepared.ok.normalize());
  if ('error' in rest) return `normalize() of the prepared event failed: ${rest.error}`;
  try {
    expect(rest.ok).toStrictEqual(full.ok);
    expect(JSON.stringify(rest.ok)).toBe(JSON.stringify(full.ok));
  } catch {
    return 'the prepared event normalizes to a different event';
  }
  return undefined;
}

describe('prepare', () => {
  it('has records of every source to check', () => {
    const sources = new Set(records.map((record) => record.source));
    expect([...sources].sort()).toEqual(['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs']);
    expect(records.length).toBeGreaterThan(100);
  });

  it('agrees with normalize on every sample, test event and corpus record', () => {
    const differences = records
      .map((item) => ({ where: item.where, difference: difference(item.source, item.record) }))
      .filter((item) => item.difference !== undefined);
    expect(differences).toEqual([]);
  });

  it('rejects what normalize rejects, under every source, with the same error', () => {
    const sources: SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
    let rejected = 0;
    for (const item of records) {
      for (const source of sources) {
        if ('error' in attempt(() => normalize(source, item.record))) rejected += 1;
        expect(difference(source, item.record), `${item.where} as ${source}`).toBeUndefined();
      }
    }
    // Records read as another source's are mostly rejected: the error paths were exercised.
    expect(rejected).toBeGreaterThan(records.length);
  });

  /** Raw fields the head and validation are computed from, per source, plus whatever the record has. */
  const HEAD_INPUTS = [
    'eventSource',
    'eventName',
    'eventTime',
    'eventType',
    'insightDetails',
    'insightDetails.insightType',
    'operationName',
    'operationName.value',
    'time',
    'eventTimestamp',
    'protoPayload',
    'protoPayload.methodName',
    'protoPayload.serviceName',
    'timestamp',
    'receiveTimestamp',
  ];

  function pathsOf(value: unknown, prefix = '', depth = 0): string[] {
    if (depth > 3 || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    return Object.keys(value).flatMap((key) => {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      return [path, ...pathsOf((value as Record<string, unknown>)[key], path, depth + 1)];
    });
  }

  function mutate(record: unknown, path: string, value: unknown): unknown {
    const copy = structuredClone(record) as Record<string, unknown>;
    const keys = path.split('.');
    let parent: Record<string, unknown> = copy;
    for (const key of keys.slice(0, -1)) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) parent[key] = {};
      parent = parent[key] as Record<string, unknown>;
    }
    const leaf = keys[keys.length - 1] as string;
    if (value === undefined) delete parent[leaf];
    else parent[leaf] = value;
    return copy;
  }

  const valueArbitrary = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'iam.amazonaws.com',
      'not a service',
      'DeleteAccessKey',
      ' DeleteAccessKey\t',
      'Microsoft.Authorization/roleAssignments/write ',
      'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
      'Microsoft.Authorization/elevateAccess/action',
      'no-slash',
      'google.iam.admin.v1.DeleteServiceAccountKey',
      'storage.setIamPolicy',
      'iam.googleapis.com',
      '2026-11-28T09:16:12Z',
      '0000-00-00T00:00:00Z',
      'AwsCloudTrailInsight',
      '',
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );

  it('agrees with normalize on mutated records', () => {
    const mutation = fc.constantFrom(...records).chain((item) =>
      fc.record({
        item: fc.constant(item),
        edits: fc.array(fc.tuple(fc.constantFrom(...HEAD_INPUTS, ...pathsOf(item.record)), valueArbitrary), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
    );
    fc.assert(
      fc.property(mutation, ({ item, edits }) => {
        let record = item.record;
        for (const [path, value] of edits) record = mutate(record, path, value);
        expect(difference(item.source, record)).toBeUndefined();
      }),
      { numRuns: 1500 },
    );
  });
});
