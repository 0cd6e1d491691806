import { describe, expect, it } from 'vitest';
import type { KqlFieldLiteral, KqlNode, KqlWalkContext } from '../../lambda/engine/kql/index';
import { fieldLiterals, parseKql, readsOnly, walkKql } from '../../lambda/engine/kql/index';
import { SEED_QUERY, SEED_QUERY_MULTILINE } from './seed';

function label(node: KqlNode): string {
  switch (node.type) {
    case 'is':
      return `${node.field?.value ?? '_'}=${node.value.value}`;
    case 'exists':
      return `${node.field.value}:*`;
    case 'range':
      return `${node.field.value}${node.operator}${node.value}`;
    case 'nested':
      return `${node.path}{}`;
    default:
      return node.type;
  }
}

describe('walkKql', () => {
  it('visits nodes depth first in source order, entering before and leaving after the children', () => {
    const events: string[] = [];

    walkKql(parseKql('a:1 or not (b:2 and c > 3)'), {
      enter: (node) => {
        events.push(`enter ${label(node)}`);
        return undefined;
      },
      leave: (node) => {
        events.push(`leave ${label(node)}`);
      },
    });

    expect(events).toEqual([
      'enter or',
      'enter a=1',
      'leave a=1',
      'enter not',
      'enter and',
      'enter b=2',
      'leave b=2',
      'enter cgt3',
      'leave cgt3',
      'leave and',
      'leave not',
      'leave or',
    ]);
  });

  it('skips the children of a node whose enter returns false', () => {
    const seen: string[] = [];

    walkKql(parseKql('a:1 and p:{ b:2 } and not c:3'), (node) => {
      seen.push(label(node));
      return node.type === 'nested' || node.type === 'not' ? false : undefined;
    });

    expect(seen).toEqual(['and', 'a=1', 'p{}', 'not']);
  });

  it('tells each node its parent, depth, negation and nested path', () => {
    const seen: Array<[string, Omit<KqlWalkContext, 'parent'> & { parent: string | null }]> = [];

    walkKql(parseKql('not (a:1 and p:{ q:{ not b:2 } })'), (node, context) => {
      seen.push([
        label(node),
        { ...context, parent: context.parent === null ? null : label(context.parent) },
      ]);
      return undefined;
    });

    expect(seen).toEqual([
      ['not', { parent: null, depth: 0, negated: false, nestedPath: null }],
      ['and', { parent: 'not', depth: 1, negated: true, nestedPath: null }],
      ['a=1', { parent: 'and', depth: 2, negated: true, nestedPath: null }],
      ['p{}', { parent: 'and', depth: 2, negated: true, nestedPath: null }],
      ['q{}', { parent: 'p{}', depth: 3, negated: true, nestedPath: 'p' }],
      ['not', { parent: 'q{}', depth: 4, negated: true, nestedPath: 'p.q' }],
      ['b=2', { parent: 'not', depth: 5, negated: false, nestedPath: 'p.q' }],
    ]);
  });
});

describe('fieldLiterals', () => {
  it.each([
    ['folded', SEED_QUERY],
    ['multi-line', SEED_QUERY_MULTILINE],
  ])('returns every literal of the %s seed query with spans that point at it', (_form, query) => {
    const literals = fieldLiterals(parseKql(query));

    expect(literals.map(({ field, value }) => `${field}=${value}`)).toEqual([
      'event.provider=AWS IAM',
      'event.action=DeleteAccessKey',
      'event.action=UpdateAssumeRolePolicy',
      'event.action=CreatePolicyVersion',
      'event.provider=Microsoft.Authorization',
      'event.action=roleAssignments/write',
      'event.action=elevateAccess',
      'event.provider=gcp.iam',
      'event.action=google.iam.admin.v1.DeleteServiceAccountKey',
      'event.action=SetIamPolicy',
    ]);
    expect(literals.every(({ value, start, end }) => query.slice(start, end) === `"${value}"`)).toBe(true);
    expect(literals.some(({ negated, wildcard }) => negated || wildcard)).toBe(false);
  });

  it('marks negation, wildcards and nested paths', () => {
    const query = 'a:x and not (b:y* or not c:\\*) and p:{ q:1 } and free and r:* and s > 1';

    const literals = fieldLiterals(parseKql(query));

    expect(literals).toEqual<KqlFieldLiteral[]>([
      { field: 'a', value: 'x', wildcard: false, negated: false, start: 2, end: 3 },
      { field: 'b', value: 'y*', wildcard: true, negated: true, start: 15, end: 17 },
      { field: 'c', value: '*', wildcard: false, negated: false, start: 27, end: 29 },
      { field: 'p.q', value: '1', wildcard: false, negated: false, start: 41, end: 42 },
    ]);
  });

  it('lists each value of a value list with its own span', () => {
    const query = 'event.action:(Delete* or "Set IamPolicy" and not x)';

    const literals = fieldLiterals(parseKql(query));

    expect(
      literals.map(({ value, negated, start, end }) => [value, negated, query.slice(start, end)]),
    ).toEqual([
      ['Delete*', false, 'Delete*'],
      ['Set IamPolicy', false, '"Set IamPolicy"'],
      ['x', true, 'x'],
    ]);
  });

  it('returns nothing for the empty query', () => {
    expect(fieldLiterals(parseKql(''))).toEqual([]);
  });
});

describe('readsOnly', () => {
  const HEAD = new Set(['event.provider', 'event.action', '@timestamp']);

  it.each([
    [SEED_QUERY, true],
    ['event.provider:"AWS IAM" and not event.action:(DeleteUser or Create*)', true],
    ['@timestamp >= "2026-01-01" and event.action:*', true],
    ['', true],
    ['*:*', true],
    ['event.provider:"AWS IAM" and user.name:alice', false],
    ['event.provider:"AWS IAM" or DeleteAccessKey', false],
    ['event.*:DeleteAccessKey', false],
    ['event:{ provider:"AWS IAM" }', false],
    ['not source.ip:*', false],
    ['user.name > "m"', false],
    ['event.provider.keyword:"AWS IAM"', false],
  ])('%s → %s', (query, expected) => {
    expect(readsOnly(parseKql(query), HEAD)).toBe(expected);
  });

  it('reads the seed query as reading event.provider and event.action only', () => {
    expect(readsOnly(parseKql(SEED_QUERY_MULTILINE), new Set(['event.provider', 'event.action']))).toBe(true);
    expect(readsOnly(parseKql(SEED_QUERY_MULTILINE), new Set(['event.provider']))).toBe(false);
  });
});
