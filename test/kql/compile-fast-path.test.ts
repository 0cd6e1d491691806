import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KqlNode } from '../../lambda/engine/kql/index';
import { buildExists, buildIs, buildLiteral, compileKql } from '../../lambda/engine/kql/index';
import { kqlQueries } from '../support/kql';

/**
 * The compiled predicate reads plain, nested objects through generated code and falls back to the general
 * evaluator for anything else. These documents are what the fast path must notice it cannot take alone:
 * inherited values, null prototypes, own `__proto__` keys, dotted keys next to nested ones, arrays.
 */

function reference(node: KqlNode, doc: unknown): boolean {
  const valuesAt = (value: unknown, segments: readonly string[]): unknown[] => {
    if (Array.isArray(value)) return value.flatMap((element) => valuesAt(element, segments));
    if (segments.length === 0) return [value];
    if (value === null || typeof value !== 'object') return [];
    const found: unknown[] = [];
    for (let k = 1; k <= segments.length; k += 1) {
      const key = segments.slice(0, k).join('.');
      if (Object.hasOwn(value, key))
        found.push(...valuesAt((value as Record<string, unknown>)[key], segments.slice(k)));
    }
    return found;
  };
  const keyword = (value: unknown): string | undefined =>
    ['string', 'number', 'boolean', 'bigint'].includes(typeof value) ? String(value) : undefined;
  const field = (pattern: { value: string } | null): unknown[] =>
    pattern === null ? [] : valuesAt(doc, pattern.value.split('.'));
  switch (node.type) {
    case 'or':
      return node.children.some((child) => reference(child, doc));
    case 'and':
      return node.children.every((child) => reference(child, doc));
    case 'not':
      return !reference(node.child, doc);
    case 'is':
      return field(node.field as { value: string }).some(
        (value) => node.value.kind === 'literal' && keyword(value) === node.value.value,
      );
    case 'exists':
      return field(node.field as { value: string }).some(function holds(value: unknown): boolean {
        if (Array.isArray(value)) return value.some(holds);
        if (value !== null && typeof value === 'object') return Object.values(value).some(holds);
        return keyword(value) !== undefined;
      });
    default:
      throw new Error(`not covered: ${node.type}`);
  }
}

const FIELDS = ['a', 'b', 'a.b', 'a.b.c', '__proto__', 'toString', 'a.__proto__.b', 'constructor.name'];
const VALUES = ['x', 'y', '1', 'Object'];
const leaf: fc.Arbitrary<KqlNode> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...VALUES))
    .map(([field, value]) => buildIs(buildLiteral(field), buildLiteral(value))),
  fc.constantFrom(...FIELDS).map((field) => buildExists(buildLiteral(field))),
);
const query: fc.Arbitrary<KqlNode> = kqlQueries(leaf, { maxChildren: 4 });
const plain: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; object: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<unknown>('x', 'y', '1', 1, true, null),
    fc.array(tie('value'), { maxLength: 2 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c', 'toString'), tie('value'), {
    maxKeys: 3,
  }),
})).object;
/** The same documents with prototypes that hold values, null prototypes, or an own `__proto__` key. */
const document: fc.Arbitrary<unknown> = fc
  .tuple(plain, plain, fc.constantFrom('plain', 'inherits', 'null-prototype', 'own __proto__'))
  .map(([value, other, shape]) => {
    switch (shape) {
      case 'inherits':
        return Object.assign(Object.create(other as object), value);
      case 'null-prototype':
        return Object.assign(Object.create(null), value);
      case 'own __proto__':
        return JSON.parse(`{"__proto__": ${JSON.stringify(other)}, "a": ${JSON.stringify(value)}}`);
      default:
        return value;
    }
  });

describe('compileKql fast path', () => {
  it('agrees with a reference evaluator on documents with inherited and prototype-named properties', () => {
    fc.assert(
      fc.property(query, document, (ast, doc) => {
        expect(compileKql(ast)(doc)).toBe(reference(ast, doc));
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores values a polluted Object.prototype would lend every document', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    const predicate = compileKql('a.b:x or b:x or a:*');
    try {
      prototype.a = { b: 'x' };
      prototype.b = 'x';
      prototype['a.b'] = 'x';

      expect(predicate({})).toBe(false);
      expect(predicate({ c: 1 })).toBe(false);
      expect(predicate({ a: { b: 'x' } })).toBe(true);
    } finally {
      delete prototype.a;
      delete prototype.b;
      delete prototype['a.b'];
    }
  });

  it('decides documents whose getters throw like the general evaluator (not matching)', () => {
    const predicate = compileKql('event.provider:"AWS IAM"');
    const hostile = {
      get event(): unknown {
        throw new Error('boom');
      },
    };

    expect(predicate(hostile)).toBe(false);
  });

  it.each<[string, unknown, boolean]>([
    ['a dotted key beside the nested path', { event: { provider: 'x' }, 'event.provider': 'AWS IAM' }, true],
    ['an array on the way', { event: [{ provider: 'x' }, { provider: 'AWS IAM' }] }, true],
    ['an array at the end', { event: { provider: ['x', 'AWS IAM'] } }, true],
    ['a number where the query has a string', { event: { provider: 'AWS IAM', action: 42 } }, true],
    ['the excluded action', { event: { provider: 'AWS IAM', action: 'ListRoles' } }, false],
    ['an object where a value should be', { event: { provider: { name: 'AWS IAM' } } }, false],
  ])('reads %s', (_name, doc, expected) => {
    const predicate = compileKql('event.provider:"AWS IAM" and not event.action:"ListRoles"');

    expect(predicate(doc)).toBe(expected);
  });
});
