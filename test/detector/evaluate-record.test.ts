/**
 * `Detector.evaluateRecord` builds the full normalized event only when some rule could match its head.
 * It must decide exactly as `evaluate(normalize(record))` does — same matches, same events, same errors —
 * for any rule set, including rules that read fields outside the head (which must see the full event).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DetectorRule, Match } from '../../lambda/engine/detector/detector';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import { type NormalizedEvent, SOURCE_NAMES, type SourceName } from '../../lambda/engine/ecs';
import type { KqlNode } from '../../lambda/engine/kql';
import {
  buildExists,
  buildIs,
  buildLiteral,
  buildWildcard,
  compileKql,
  parseKql,
} from '../../lambda/engine/kql';
import { NormalizationError, normalize } from '../../lambda/engine/normalizers';
import { keyDeletionRule } from '../support/events';
import { kqlQueries } from '../support/kql';
import { allRawRecords } from '../support/records';

const records = allRawRecords();

function rule(
  id: string,
  query: KqlNode | string,
  sources: readonly SourceName[] = SOURCE_NAMES,
): DetectorRule {
  const ast = typeof query === 'string' ? parseKql(query) : query;
  return keyDeletionRule({ id, ast, predicate: compileKql(ast), sources });
}

function detectorFor(rules: readonly DetectorRule[]): Detector {
  return new Detector(rules, new MemoryStore());
}

type Verdict =
  | { matches: { rule: string; event: NormalizedEvent; exception?: string }[] }
  | { error: string };

function verdict(run: () => Match[]): Verdict {
  try {
    return {
      matches: run().map((match) => ({
        rule: match.rule.id,
        event: match.normalized,
        ...(match.exceptionId === undefined ? {} : { exception: match.exceptionId }),
      })),
    };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/** Values the records really have, so generated queries match some of them. */
const FIELDS = [
  'event.provider',
  'event.action',
  'event.dataset',
  'event.outcome',
  'cloud.provider',
  'cloud.account.id',
  'user.name',
  'source.ip',
] as const;
const valuesByField = new Map<string, string[]>(FIELDS.map((field) => [field, []]));
for (const item of records) {
  let doc: unknown;
  try {
    doc = normalize(item.source, item.record).doc;
  } catch {
    continue;
  }
  for (const field of FIELDS) {
    let value: unknown = doc;
    for (const key of field.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
    const values = valuesByField.get(field) as string[];
    if (typeof value === 'string' && !values.includes(value)) values.push(value);
  }
}

const leaf: fc.Arbitrary<KqlNode> = fc.oneof(
  fc
    .constantFrom(...FIELDS)
    .chain((field) =>
      fc
        .constantFrom(...(valuesByField.get(field) as string[]), 'nothing-has-this')
        .map((value) => buildIs(buildLiteral(field), buildLiteral(value, true))),
    ),
  fc.constantFrom(...FIELDS).map((field) => buildExists(buildLiteral(field))),
  // Free text and a wildcard field: they read every field.
  fc
    .constantFrom(...(valuesByField.get('user.name') as string[]), 'DeleteAccessKey')
    .map((value) => buildIs(null, buildLiteral(value, true))),
  fc
    .constantFrom(...(valuesByField.get('event.action') as string[]))
    .map((value) => buildIs(buildWildcard(['event.', '']), buildLiteral(value, true))),
);
const query: fc.Arbitrary<KqlNode> = kqlQueries(leaf);
const rules = fc
  .array(fc.tuple(query, fc.subarray([...SOURCE_NAMES], { minLength: 1 })), { minLength: 1, maxLength: 3 })
  .map((specs) => specs.map(([ast, sources], i) => rule(`rule-${i}`, ast, sources)));

describe('Detector.evaluateRecord', () => {
  it('decides as evaluate(normalize(record)) does, for generated rule sets over every record', () => {
    let matched = 0;
    fc.assert(
      fc.property(rules, (ruleSet) => {
        const detector = detectorFor(ruleSet);
        for (const item of records) {
          const expected = verdict(() => detector.evaluate(normalize(item.source, item.record)));
          const actual = verdict(() => detector.evaluateRecord(item.source, item.record));
          expect(actual, item.where).toStrictEqual(expected);
          if ('matches' in actual) matched += actual.matches.length;
        }
      }),
      { numRuns: 150 },
    );
    expect(matched).toBeGreaterThan(1000);
  });

  /** A CloudTrail record whose `userIdentity` throws when read: only the full event reads it. */
  function trap(eventName: string): unknown {
    const record: Record<string, unknown> = {
      eventVersion: '1.09',
      eventTime: '2026-11-28T09:16:12Z',
      eventSource: 'iam.amazonaws.com',
      eventName,
      eventID: 'trap-1',
    };
    Object.defineProperty(record, 'userIdentity', {
      enumerable: true,
      get: () => {
        throw new Error('read userIdentity');
      },
    });
    return record;
  }

  it('does not build the full event when the head rules every rule out', () => {
    const detector = detectorFor([
      rule('head-only', 'event.provider:"AWS IAM" and event.action:DeleteAccessKey'),
    ]);
    expect(detector.evaluateRecord('aws-cloudtrail', trap('ListRoles'))).toEqual([]);
    // The same record, matching: now the full event is built (and reads the trap).
    expect(() => detector.evaluateRecord('aws-cloudtrail', trap('DeleteAccessKey'))).toThrow(
      NormalizationError,
    );
  });

  it('builds the full event when a rule reads a field outside the head', () => {
    for (const query of [
      'user.name:alice',
      'DeleteAccessKey',
      'event.*:ListRoles',
      'event:{ action:ListRoles }',
    ]) {
      const detector = detectorFor([rule('head-only', 'event.action:DeleteAccessKey'), rule('other', query)]);
      expect(() => detector.evaluateRecord('aws-cloudtrail', trap('ListRoles')), query).toThrow(
        /unexpected failure while normalizing/,
      );
    }
  });

  it('builds the full event for rules without a parsed query', () => {
    const { ast: _ast, ...withoutAst } = rule('no-ast', 'event.action:DeleteAccessKey');
    const detector = detectorFor([withoutAst]);
    expect(() => detector.evaluateRecord('aws-cloudtrail', trap('ListRoles'))).toThrow(NormalizationError);
  });

  it('still rejects invalid records of a source no rule selects', () => {
    const detector = detectorFor([rule('aws-only', 'event.action:DeleteAccessKey', ['aws-cloudtrail'])]);
    const entry = { timestamp: '2026-11-28T09:16:12Z', protoPayload: { serviceName: 'iam.googleapis.com' } };
    expect(() => detector.evaluateRecord('gcp-audit-logs', entry)).toThrow(/protoPayload.methodName/);
    const valid = { ...entry, protoPayload: { ...entry.protoPayload, methodName: 'SetIamPolicy' } };
    expect(detector.evaluateRecord('gcp-audit-logs', valid)).toEqual([]);
  });
});
