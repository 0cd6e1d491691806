import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceName } from '../../lambda/engine/ecs';
import { NormalizationError, normalize, normalizeAzureActivity } from '../../lambda/engine/normalizers';
import {
  azElevateAccessRest,
  azRoleAssignmentStart,
  ctDeleteAccessKey,
  ctInsight,
  gcpDeleteServiceAccountKey,
  gcpStorageSetIamPolicy,
} from './fixtures';

const samples: readonly [SourceName, () => Record<string, unknown>][] = [
  ['aws-cloudtrail', ctDeleteAccessKey],
  ['aws-cloudtrail', ctInsight],
  ['azure-activity-logs', azRoleAssignmentStart],
  ['azure-activity-logs', azElevateAccessRest],
  ['gcp-audit-logs', gcpDeleteServiceAccountKey],
  ['gcp-audit-logs', gcpStorageSetIamPolicy],
];

/** Either a well-formed event or a NormalizationError; anything else fails the property. */
function normalizesOrRejects(source: SourceName, record: unknown): void {
  try {
    const { doc, provenance } = normalize(source, record);
    expect(typeof doc['@timestamp']).toBe('string');
    expect(Number.isNaN(Date.parse(doc['@timestamp']))).toBe(false);
    expect(typeof doc.event.id).toBe('string');
    expect(doc.event.id.length).toBeGreaterThan(0);
    expect(typeof doc.event.provider).toBe('string');
    expect(typeof doc.event.action).toBe('string');
    expect(doc.event.dataset).toBe(source);
    expect(provenance.source).toBe(source);
  } catch (error) {
    if (!(error instanceof NormalizationError)) throw error;
  }
}

/** Replaces the value at a random path of the record with arbitrary data (wrong shapes, nulls, objects). */
const mutation = fc.record({
  depth: fc.nat({ max: 3 }),
  pick: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.anything({
      maxDepth: 2,
      withNullPrototype: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
    }),
  ),
});

function mutate(
  record: Record<string, unknown>,
  m: { depth: number; pick: number[]; value: unknown },
): Record<string, unknown> {
  const copy = structuredClone(record);
  let current: Record<string, unknown> = copy;
  for (let level = 0; level <= m.depth; level++) {
    const keys = Object.keys(current);
    if (keys.length === 0) break;
    const key = keys[(m.pick[level] ?? 0) % keys.length] as string;
    const next = current[key];
    if (level === m.depth || typeof next !== 'object' || next === null || Array.isArray(next)) {
      current[key] = m.value;
      break;
    }
    current = next as Record<string, unknown>;
  }
  return copy;
}

const HOSTILE_MEMBERS = [
  '"__proto__":{"polluted":"yes","eventSource":"iam.amazonaws.com","methodName":"SetIamPolicy"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
];

/** Serializes a value with `__proto__` and `constructor` members added to every object. */
function withHostileKeys(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(withHostileKeys).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}:${withHostileKeys(item)}`,
    );
    return `{${[...HOSTILE_MEMBERS, ...members].join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

describe('normalizers on hostile input', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(samples)(
    '%s: never throws anything but NormalizationError on mutated records',
    (source, sample) => {
      fc.assert(
        fc.property(mutation, (m) => {
          normalizesOrRejects(source, mutate(sample(), m));
        }),
        { numRuns: 300 },
      );
    },
  );

  it.each(['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'] as const)(
    '%s: never throws anything but NormalizationError on arbitrary values',
    (source) => {
      fc.assert(
        fc.property(fc.anything({ maxDepth: 3, withNullPrototype: true }), (value) => {
          normalizesOrRejects(source, value);
        }),
        { numRuns: 300 },
      );
    },
  );

  it.each(samples)(
    '%s: __proto__ and constructor keys neither pollute nor leak into lookups',
    (source, sample) => {
      // Arrange: JSON.parse makes "__proto__" an own key, as it is when a record arrives from a file or queue.
      const record = JSON.parse(withHostileKeys(sample())) as unknown;

      // Act
      const { doc } = normalize(source, record);

      // Assert
      expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(doc.event)).toBe(Object.prototype);
      expect((doc as Record<string, unknown>).polluted).toBeUndefined();
      expect(doc.event.provider).toBe(normalize(source, sample()).doc.event.provider);
    },
  );

  it.each([
    ['aws-cloudtrail', ctDeleteAccessKey({ eventName: '__proto__' })],
    ['aws-cloudtrail', ctDeleteAccessKey({ eventName: 'constructor' })],
    ['aws-cloudtrail', ctDeleteAccessKey({ eventSource: 'constructor.amazonaws.com' })],
    ['azure-activity-logs', azRoleAssignmentStart({ operationName: 'Microsoft.Authorization/__proto__' })],
    ['azure-activity-logs', azRoleAssignmentStart({ operationName: 'Object.prototype/constructor/action' })],
    [
      'gcp-audit-logs',
      gcpStorageSetIamPolicy({}, { methodName: 'constructor', serviceName: '__proto__.googleapis.com' }),
    ],
  ] as const)('%s: treats names like __proto__ as plain values', (source, record) => {
    // Act
    const { doc } = normalize(source, record);

    // Assert
    expect(typeof doc.event.provider).toBe('string');
    expect(typeof doc.event.action).toBe('string');
  });

  it('does not read required fields from a prototype', () => {
    // Arrange
    const record = Object.create(ctDeleteAccessKey()) as unknown;

    // Act
    const act = () => normalize('aws-cloudtrail', record);

    // Assert
    expect(act).toThrow(NormalizationError);
  });

  it('turns a throwing getter into a NormalizationError', () => {
    // Arrange
    const record = {
      ...ctDeleteAccessKey(),
      get eventName(): string {
        throw new Error('boom');
      },
    };

    // Act
    const act = () => normalize('aws-cloudtrail', record);

    // Assert
    expect(act).toThrow(NormalizationError);
  });
});

describe('derived event ids', () => {
  it('derives an id for a record without one whose fields nest 100,000 levels deep', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const text = JSON.stringify({
      time: '2026-11-28T09:30:00Z',
      operationName: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
      resourceId: '/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/PROVIDERS/MICROSOFT.AUTHORIZATION',
      category: 'Administrative',
      resultType: 'Success',
      properties: '@@',
    }).replace('"@@"', deep);

    const { doc } = normalizeAzureActivity(JSON.parse(text));

    expect(doc.event.action).toBe('roleAssignments/write');
    expect(doc.event.id).toMatch(/^derived-[0-9a-f]{32}$/);
  });
});
