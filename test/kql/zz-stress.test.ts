import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KqlNode, KqlPattern } from '../../lambda/engine/kql/index';
import {
  buildAnd,
  buildExists,
  buildIs,
  buildLiteral,
  buildNested,
  buildNot,
  buildOr,
  buildWildcard,
  compileKql,
  KqlAstError,
  KqlSyntaxError,
  parseKql,
} from '../../lambda/engine/kql/index';

type Case = [query: string, doc: unknown, expected: boolean];
// A reference evaluator written for clarity, not speed: collect every value, then test.

function valuesAt(node: unknown, segments: readonly string[]): unknown[] {
  if (Array.isArray(node)) return node.flatMap((element) => valuesAt(element, segments));
  if (segments.length === 0) return [node];
  if (node === null || typeof node !== 'object') return [];
  const found: unknown[] = [];
  for (let k = 1; k <= segments.length; k += 1) {
    const key = segments.slice(0, k).join('.');
    if (Object.hasOwn(node, key))
      found.push(...valuesAt((node as Record<string, unknown>)[key], segments.slice(k)));
  }
  return found;
}

function leaves(node: unknown, path: string | null): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((element) => leaves(element, path));
  if (node !== null && typeof node === 'object') {
    return Object.entries(node).flatMap(([key, value]) =>
      leaves(value, path === null ? key : `${path}.${key}`),
    );
  }
  return path === null ? [] : [[path, node]];
}

function keyword(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : undefined;
}

function patternMatches(pattern: KqlPattern, text: string): boolean {
  if (pattern.kind === 'literal') return text === pattern.value;
  const source = pattern.parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*');
  return new RegExp(`^${source}$`).test(text);
}

function fieldValues(field: KqlPattern | null, doc: unknown): unknown[] {
  if (field === null) return leaves(doc, null).map(([, value]) => value);
  if (field.kind === 'literal') return valuesAt(doc, field.value.split('.'));
  return leaves(doc, null)
    .filter(([path]) => patternMatches(field, path))
    .map(([, value]) => value);
}

function reference(node: KqlNode, doc: unknown): boolean {
  switch (node.type) {
    case 'or':
      return node.children.some((child) => reference(child, doc));
    case 'and':
      return node.children.every((child) => reference(child, doc));
    case 'not':
      return !reference(node.child, doc);
    case 'is':
      return fieldValues(node.field, doc).some((value) => {
        const text = keyword(value);
        return text !== undefined && patternMatches(node.value, text);
      });
    case 'exists':
      return fieldValues(node.field, doc).some((value) =>
        value !== null && typeof value === 'object'
          ? leaves(value, '').some(([, leaf]) => keyword(leaf) !== undefined)
          : keyword(value) !== undefined,
      );
    case 'nested':
      return valuesAt(doc, node.path.split('.')).some(
        (value) => value !== null && typeof value === 'object' && reference(node.query, value),
      );
    default:
      throw new Error(`reference evaluator does not cover ${node.type}`);
  }
}

const FIELDS = ["a", "b", "a.b", "b.c", "a.b.c", "__proto__", "constructor", "toString", "a.__proto__", "a.toString.x", "a.b.c.a"];
const VALUES = ['x', 'y', 'xy', '1', 'true'];
const arbitraryField: fc.Arbitrary<KqlPattern> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELDS).map((field) => buildLiteral(field)) },
  { weight: 1, arbitrary: fc.constantFrom(['a', ''], ['', 'b'], ['a.', '.c']).map(buildWildcard) },
);
const arbitraryValue: fc.Arbitrary<KqlPattern> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VALUES).map((value) => buildLiteral(value)) },
  { weight: 1, arbitrary: fc.constantFrom(['x', ''], ['', 'y'], ['', 'y', '']).map(buildWildcard) },
);
const arbitraryQuery: fc.Arbitrary<KqlNode> = fc.letrec<{ node: KqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(fc.option(arbitraryField, { freq: 6 }), arbitraryValue)
      .map(([field, value]) => buildIs(field, value)),
    arbitraryField.map((field) => buildExists(field)),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((children) => buildOr(children)),
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((children) => buildAnd(children)),
    tie('node').map((child) => buildNot(child)),
    fc.tuple(fc.constantFrom('a', 'b', 'a.b'), tie('node')).map(([path, query]) => buildNested(path, query)),
  ),
})).node;
const arbitraryDocument: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown; object: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<unknown>('x', 'y', 'xy', '1', 1, true, null, 1n, undefined, Symbol('s'), () => 1),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c', '__proto__', 'toString', 'constructor'), tie('value'), { maxKeys: 3 }),
})).object;
const withProtos: fc.Arbitrary<unknown> = fc.tuple(arbitraryDocument, arbitraryDocument, fc.integer({ min: 0, max: 3 })).map(([a, b, mode]) => {
  if (mode === 0) return a;
  if (mode === 1) return Object.assign(Object.create(b as object), a);
  if (mode === 2) return Object.assign(Object.create(null), a);
  return JSON.parse(JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? 1 : v)).replace(/"a"/g, '"__proto__"'));
});
describe('stress', () => {
  it('agrees', () => {
    fc.assert(fc.property(arbitraryQuery, withProtos, (ast, doc) => {
      expect(compileKql(ast)(doc)).toBe(reference(ast, doc));
    }), { numRuns: 100000 });
  }, 600_000);
  it('noop', () => {
  });
  it('agrees with polluted prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.a = { b: 'x', c: 'y' }; proto['a.b'] = 'x'; proto.b = 'x';
      fc.assert(fc.property(arbitraryQuery, withProtos, (ast, doc) => {
        expect(compileKql(ast)(doc)).toBe(reference(ast, doc));
      }), { numRuns: 30000 });
    } finally { delete proto.a; delete proto['a.b']; delete proto.b; }
  }, 600_000);
});
