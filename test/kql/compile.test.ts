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
import { ecsEvent, SEED_QUERY, SEED_QUERY_MULTILINE } from './seed';

type Case = [query: string, doc: unknown, expected: boolean];

function check(query: string, doc: unknown): boolean {
  return compileKql(query)(doc);
}

describe('compileKql', () => {
  describe.each([
    ['folded', SEED_QUERY],
    ['multi-line', SEED_QUERY_MULTILINE],
  ])('with the seed query (%s)', (_form, seed) => {
    it.each<[string, unknown, boolean]>([
      ['AWS DeleteAccessKey', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
      ['AWS UpdateAssumeRolePolicy', ecsEvent('AWS IAM', 'UpdateAssumeRolePolicy'), true],
      ['AWS CreatePolicyVersion', ecsEvent('AWS IAM', 'CreatePolicyVersion'), true],
      ['Azure roleAssignments/write', ecsEvent('Microsoft.Authorization', 'roleAssignments/write'), true],
      ['Azure elevateAccess', ecsEvent('Microsoft.Authorization', 'elevateAccess'), true],
      [
        'GCP DeleteServiceAccountKey',
        ecsEvent('gcp.iam', 'google.iam.admin.v1.DeleteServiceAccountKey'),
        true,
      ],
      ['GCP SetIamPolicy', ecsEvent('gcp.iam', 'SetIamPolicy'), true],
      ['an action of the array of actions', ecsEvent('gcp.iam', ['getIamPolicy', 'SetIamPolicy']), true],
      ['one provider of the array of providers', ecsEvent(['AWS STS', 'AWS IAM'], 'DeleteAccessKey'), true],
      ['dotted keys', { 'event.provider': 'AWS IAM', 'event.action': 'DeleteAccessKey' }, true],
      [
        'a dotted provider and a nested action',
        { 'event.provider': 'gcp.iam', event: { action: 'SetIamPolicy' } },
        true,
      ],
      ['AWS ListUsers', ecsEvent('AWS IAM', 'ListUsers'), false],
      ['an action of another provider', ecsEvent('gcp.iam', 'DeleteAccessKey'), false],
      ['another provider', ecsEvent('Amazon S3', 'DeleteAccessKey'), false],
      ['the raw CloudTrail provider', ecsEvent('iam.amazonaws.com', 'DeleteAccessKey'), false],
      ['a provider in other case', ecsEvent('aws iam', 'DeleteAccessKey'), false],
      ['an action in other case', ecsEvent('Microsoft.Authorization', 'ROLEASSIGNMENTS/WRITE'), false],
      ['an action with a suffix', ecsEvent('Microsoft.Authorization', 'roleAssignments/write/action'), false],
      ['no action', ecsEvent('AWS IAM', undefined), false],
      ['no event', { cloud: { provider: 'aws' } }, false],
      ['an empty object', {}, false],
      ['null', null, false],
    ])('returns %#: %s', (_name, doc, expected) => {
      const predicate = compileKql(seed);

      const matched = predicate(doc);

      expect(matched).toBe(expected);
    });
  });

  it.each<Case>([
    ['a:1 or b:1 and c:1', { a: 1 }, true],
    ['a:1 or b:1 and c:1', { b: 1 }, false],
    ['a:1 or b:1 and c:1', { b: 1, c: 1 }, true],
    ['(a:1 or b:1) and c:1', { a: 1 }, false],
    ['(a:1 or b:1) and c:1', { a: 1, c: 1 }, true],
    ['not a:1 and b:1', { a: 1, b: 1 }, false],
    ['not a:1 and b:1', { b: 1 }, true],
    ['not (a:1 and b:1)', { a: 1 }, true],
    ['a:(1 or 2) and not a:3', { a: [2, 3] }, false],
    ['a:(1 or 2) and not a:3', { a: [2, 4] }, true],
  ])('applies precedence: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:1 OR b:1', { b: 1 }, true],
    ['a:1 Or b:1', { b: 1 }, true],
    ['a:1 AND b:1', { a: 1 }, false],
    ['a:1 aNd b:1', { a: 1, b: 1 }, true],
    ['NOT a:1', { a: 2 }, true],
    ['nOt a:1', { a: 1 }, false],
    ['a:(1 OR 2)', { a: 2 }, true],
  ])('reads keywords in any case: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:Foo', { a: 'Foo' }, true],
    ['a:Foo', { a: 'foo' }, false],
    ['a:foo', { a: 'foo ' }, false],
    ['a:42', { a: 42 }, true],
    ['a:42', { a: '42' }, true],
    ['a:42', { a: 42.5 }, false],
    ['a:"42"', { a: 42 }, true],
    ['a:true', { a: true }, true],
    ['a:false', { a: true }, false],
    ['a:null', { a: null }, false],
    ['a:null', { a: 'null' }, true],
    ['a:x', { a: { x: 'x' } }, false],
  ])('compares keywords exactly: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:x', { a: ['y', 'x'] }, true],
    ['a:x', { a: ['y', 'z'] }, false],
    ['a:x', { a: [['y'], ['x']] }, true],
    ['a:x', { a: [] }, false],
    ['a.b:x', { a: [{ b: 'y' }, { b: 'x' }] }, true],
    ['a.b:x', { a: [{ b: 'y' }, { c: 'x' }] }, false],
    ['a.b.c:x', { a: [{ b: [{ c: 'y' }, { c: ['z', 'x'] }] }] }, true],
    ['a:x and a:y', { a: ['x', 'y'] }, true],
    ['not a:x', { a: ['y', 'x'] }, false],
    ['a:(x or y)', { a: ['z', 'y'] }, true],
  ])('matches an array when any element does: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:x', {}, false],
    ['a.b:x', { a: null }, false],
    ['a.b:x', { a: 'x' }, false],
    ['a.b:x', { a: { c: 'x' } }, false],
    ['a.b.c:x', { a: 5 }, false],
    ['not a:x', {}, true],
    ['not a.b:x', { a: null }, true],
    ['not a:x', { a: null }, true],
    ['a > 1', {}, false],
    ['not a > 1', {}, true],
    ['p:{ a:x }', {}, false],
  ])('treats a missing field as no match: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:Del*', { a: 'DeleteAccessKey' }, true],
    ['a:Del*', { a: 'Del' }, true],
    ['a:Del*', { a: 'xDel' }, false],
    ['a:Del*', { a: 'del' }, false],
    ['a:*Key', { a: 'DeleteAccessKey' }, true],
    ['a:*Key', { a: 'KeyRing' }, false],
    ['a:*cess*', { a: 'DeleteAccessKey' }, true],
    ['a:*cess*', { a: 'Denied' }, false],
    ['a:D*e*y', { a: 'DeleteAccessKey' }, true],
    ['a:D*e*y', { a: 'Dey' }, true],
    ['a:D*e*y', { a: 'Dy' }, false],
    ['a:D*e*y', { a: 'DeleteAccessKeys' }, false],
    ['a:ab*ba', { a: 'aba' }, false],
    ['a:ab*ba', { a: 'abba' }, true],
    ['a:*a*a*a*a*b', { a: `${'a'.repeat(5000)}c` }, false],
    ['a:**', { a: '' }, true],
    ['a:a*', { a: 42 }, false],
    ['a:4*', { a: 42 }, true],
    ['a:x*', { a: ['y', 'xz'] }, true],
    ['a:*.*', { a: 'noDot' }, false],
    ['a:*/write', { a: 'roleAssignments/write' }, true],
  ])('anchors wildcards at both ends: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:a\\*b', { a: 'a*b' }, true],
    ['a:a\\*b', { a: 'axb' }, false],
    ['a:"a*b"', { a: 'a*b' }, true],
    ['a:"a*b"', { a: 'axxb' }, false],
    ['a:\\(x\\)', { a: '(x)' }, true],
    ['a:x\\:y', { a: 'x:y' }, true],
    ['a:\\\\', { a: '\\' }, true],
    ['a:"\\"q\\""', { a: '"q"' }, true],
    ['a:tab\\there', { a: 'tab\there' }, true],
    ['a:\\u00e9t\\u00e9', { a: 'été' }, true],
    ['a:x \\or y', { a: 'x or y' }, true],
    ['a:\\not', { a: 'not' }, true],
  ])('decodes escapes: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:"foo bar"', { a: 'foo bar' }, true],
    ['a:foo bar', { a: 'foo bar' }, true],
    ['a:foo bar', { a: 'foo' }, false],
    ['a:"foo*"', { a: 'foobar' }, false],
    ['a:foo*', { a: 'foobar' }, true],
    ['"a":x', { a: 'x' }, true],
    ['a:" padded "', { a: ' padded ' }, true],
    ['a: padded ', { a: 'padded' }, true],
  ])('treats quoted and unquoted values as Kibana does: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a > 5', { a: 10 }, true],
    ['a > 5', { a: '10' }, true],
    ['a > 5', { a: 5 }, false],
    ['a >= 5', { a: 5 }, true],
    ['a < 10', { a: 9 }, true],
    ['a < 10', { a: '9' }, true],
    ['a <= 10', { a: 11 }, false],
    ['a <= 10', { a: 10.0 }, true],
    ['a > -1.5', { a: -1 }, true],
    ['a > 1e3', { a: 1001 }, true],
    ['a > 5', { a: [1, 9] }, true],
    ['a > 5', { a: [1, 2] }, false],
    ['a > 5', { a: null }, false],
    ['a > 5', { a: 'abc' }, true],
    ['a > m', { a: 'n' }, true],
    ['a > m', { a: 'M' }, false],
    ['a < "b"', { a: 'a' }, true],
    ['ts >= "2024-01-01T00:00:00Z"', { ts: '2024-01-01T00:00:00Z' }, true],
    ['ts >= "2024-01-01T00:00:00Z"', { ts: '2024-01-01T01:00:00+02:00' }, false],
    ['ts < 2024-01-02', { ts: '2024-01-01T23:59:59.999Z' }, true],
    ['ts < 2024-01-02', { ts: '2024-01-02T00:00:00.000Z' }, false],
    ['ts > 2024-01-01', { ts: 1704067200001 }, true],
    ['ts > 2024-01-01', { ts: 1704067199999 }, false],
    ['ts > 1704067200000', { ts: '2024-01-01T00:00:01Z' }, true],
    ['ts > "2024-01-01T00:00:00"', { ts: '2024-01-01T00:00:01Z' }, true],
  ])('compares ranges numerically, as dates, else as strings: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['a:*', { a: 'x' }, true],
    ['a:*', { a: '' }, true],
    ['a:*', { a: 0 }, true],
    ['a:*', { a: false }, true],
    ['a:*', { a: null }, false],
    ['a:*', {}, false],
    ['a:*', { a: [] }, false],
    ['a:*', { a: [null] }, false],
    ['a:*', { a: [null, 1] }, true],
    ['a:*', { a: { b: 1 } }, true],
    ['a:*', { a: { b: null } }, false],
    ['a:*', { a: {} }, false],
    ['a.b:*', { 'a.b': 1 }, true],
    ['not a:*', {}, true],
    ['ev*:*', { event: { x: 1 } }, true],
    ['ev*:*', { other: { x: 1 } }, false],
    ['*:*', {}, true],
    ['*:*', null, true],
  ])('checks existence: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    [
      'p:{ a:1 and b:2 }',
      {
        p: [
          { a: 1, b: 1 },
          { a: 2, b: 2 },
        ],
      },
      false,
    ],
    [
      'p.a:1 and p.b:2',
      {
        p: [
          { a: 1, b: 1 },
          { a: 2, b: 2 },
        ],
      },
      true,
    ],
    [
      'p:{ a:1 and b:2 }',
      {
        p: [
          { a: 1, b: 1 },
          { a: 1, b: 2 },
        ],
      },
      true,
    ],
    ['p:{ a:1 and b:2 }', { p: { a: 1, b: 2 } }, true],
    ['p:{ a:1 and b:2 }', { 'p.a': 1, 'p.b': 2 }, false],
    ['p:{ a:1 }', { p: 'a' }, false],
    ['p:{ a:1 }', { p: [null, 'x', { a: 1 }] }, true],
    ['p:{ q:{ a:1 } }', { p: [{ q: [{ a: 2 }, { a: 1 }] }] }, true],
    ['p:{ q:{ a:1 and b:1 } }', { p: [{ q: [{ a: 1 }, { b: 1 }] }] }, false],
    ['p.q:{ a:1 }', { p: { q: [{ a: 1 }] } }, true],
    ['p:{ foo }', { p: [{ x: 'foo' }], other: 'bar' }, true],
    ['p:{ foo }', { p: [{ x: 'bar' }], other: 'foo' }, false],
    ['p:{ not a:1 }', { p: [{ a: 1 }, { a: 2 }] }, true],
    ['not p:{ a:1 }', { p: [{ a: 2 }] }, true],
    ['p:{ *:* }', { p: [{}] }, true],
    ['p:{ *:* }', { p: [] }, false],
  ])('requires one object to satisfy a nested query: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['DeleteAccessKey', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
    ['"AWS IAM"', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
    ['AWS IAM', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
    ['Delete*', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
    ['123456789012', ecsEvent('AWS IAM', 'DeleteAccessKey'), true],
    ['AccessKey', ecsEvent('AWS IAM', 'DeleteAccessKey'), false],
    ['event', { event: { action: 'DeleteAccessKey' } }, false],
    ['x', { a: [{ b: [['x']] }] }, true],
    ['x', { 'a.b': 'x' }, true],
    ['x', 'x', false],
    ['*', { a: null }, false],
    ['*', { a: { b: 0 } }, true],
    ['not x', {}, true],
  ])('matches free text against any leaf value: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['event.*:DeleteAccessKey', { event: { action: 'DeleteAccessKey' } }, true],
    ['event.*:DeleteAccessKey', { other: { action: 'DeleteAccessKey' } }, false],
    ['event.*:DeleteAccessKey', { 'event.action': 'DeleteAccessKey' }, true],
    ['event.*:DeleteAccessKey', { event: [{ action: ['x', 'DeleteAccessKey'] }] }, true],
    ['*.action:x', { event: { action: 'x' } }, true],
    ['*.action:x', { action: 'x' }, false],
    ['*:x', { deep: { er: { still: 'x' } } }, true],
    ['ev*:x', { event: 'x' }, true],
    ['ev*.a > 3', { event: { a: 4 } }, true],
  ])('matches wildcard fields against leaf paths: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['event.provider:x', { 'event.provider': 'x' }, true],
    ['event.provider:x', { event: { provider: 'x' } }, true],
    ['event.provider:x', { 'event.provider': 'y', event: { provider: 'x' } }, true],
    ['event.provider:x', { 'event.provider': 'x', event: { provider: 'y' } }, true],
    ['event.provider:x', { 'event.provider': 'y', event: { provider: 'y' } }, false],
    ['a.b.c:x', { 'a.b': { c: 'x' } }, true],
    ['a.b.c:x', { a: { 'b.c': 'x' } }, true],
    ['a.b.c:x', { 'a.b.c': 'x' }, true],
    ['a.b.c:x', { a: [{ 'b.c': ['x'] }] }, true],
    ['a.b.c:x', { 'a.b': 'x' }, false],
    ['a.b:*', { a: { 'b.c': 1 } }, false],
    ['"a.b":x', { a: { b: 'x' } }, true],
  ])('resolves nested objects, dotted keys and mixtures: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['constructor:*', {}, false],
    ['__proto__:*', {}, false],
    ['toString:*', {}, false],
    ['hasOwnProperty:*', {}, false],
    ['constructor.name:Object', {}, false],
    ['a.constructor.name:Object', { a: {} }, false],
    ['a.__proto__.x:1', { a: Object.create({ x: 1 }) }, false],
    ['x:1', Object.create({ x: 1 }), false],
    ['length:0', { a: [] }, false],
    ['a.length:2', { a: 'xy' }, false],
    ['a.length:2', { a: [1, 2] }, false],
    ['__proto__:x', JSON.parse('{"__proto__":"x"}'), true],
    ['constructor:y', { constructor: 'y' }, true],
    ['hasOwnProperty:1', { hasOwnProperty: 1 }, true],
    ['a.toString:*', { a: Object.create(null) }, false],
    ['a:1', Object.assign(Object.create(null), { a: 1 }), true],
    ['not constructor:*', {}, true],
  ])('never reads inherited properties: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  it.each<Case>([
    ['', {}, true],
    ['   ', null, true],
    ['\n', 'anything', true],
    ['a:1\nand\nb:2', { a: 1, b: 2 }, true],
    ['a:1\nand\nb:2', { a: 1 }, false],
    ['a:(1\n  or 2)', { a: 2 }, true],
  ])('handles the empty query and multi-line queries: %j on %j is %s', (query, doc, expected) => {
    expect(check(query, doc)).toBe(expected);
  });

  const cyclic: Record<string, unknown> = { a: 'x' };
  cyclic.self = cyclic;
  const cyclicArray: unknown[] = ['x'];
  cyclicArray.push(cyclicArray);
  let deep: unknown = 'x';
  for (let i = 0; i < 10_000; i += 1) deep = { a: deep };
  const hostile = {
    get a(): never {
      throw new Error('getter');
    },
  };
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a string', 'x'],
    ['an array', [{ a: 'x' }]],
    ['a function', () => 'x'],
    ['a cyclic object', cyclic],
    ['a cyclic array', { a: cyclicArray }],
    ['an object nested 10,000 deep', deep],
    ['an object with a throwing getter', hostile],
    ['a revoked proxy', revoked.proxy],
    ['a null-prototype object', Object.create(null)],
    ['a Map', new Map([['a', 'x']])],
    ['a bigint', { a: 10n }],
  ])('never throws on %s', (_name, doc) => {
    const queries = [
      'a:x',
      'x',
      'a.*:x',
      '*.a:*',
      'a:*',
      'self.self.a:x',
      'a > 1',
      'a:{ b:x }',
      'not a:x',
      SEED_QUERY,
    ];
    const predicates = queries.map((query) => compileKql(query));

    const results = predicates.map((predicate) => predicate(doc));

    expect(results.every((result) => typeof result === 'boolean')).toBe(true);
  });

  it('treats a document whose getter throws as not matching', () => {
    const predicate = compileKql('not a:x');

    const matched = predicate(hostile);

    expect(matched).toBe(false);
  });

  it('compares bigints by their decimal form', () => {
    expect(check('a:10', { a: 10n })).toBe(true);
  });

  it('accepts a parsed AST as well as a string', () => {
    const ast = parseKql('a:(x or y)');

    const predicate = compileKql(ast);

    expect([predicate({ a: 'y' }), predicate({ a: 'z' })]).toEqual([true, false]);
  });

  it('throws a KqlSyntaxError for a query that does not parse', () => {
    expect(() => compileKql('a:(')).toThrow(KqlSyntaxError);
  });

  it('throws a KqlAstError for something that is not an AST', () => {
    expect(() => compileKql({ type: 'bogus' } as unknown as KqlNode)).toThrow(KqlAstError);
  });

  it('agrees with a naive reference evaluator on generated queries and documents', () => {
    fc.assert(
      fc.property(arbitraryQuery, arbitraryDocument, (ast, doc) => {
        expect(compileKql(ast)(doc)).toBe(reference(ast, doc));
      }),
      { numRuns: 3000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
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
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
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

const FIELDS = ['a', 'b', 'a.b', 'b.c', 'a.b.c'];
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
    fc.constantFrom<unknown>('x', 'y', 'xy', '1', 1, true, null),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'a.b', 'b.c'), tie('value'), { maxKeys: 3 }),
})).object;
