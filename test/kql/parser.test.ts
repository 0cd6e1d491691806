import { describe, expect, it } from 'vitest';
import type { KqlNode, KqlPattern } from '../../lambda/engine/kql/index';
import {
  buildAll,
  buildAnd,
  buildExists,
  buildIs,
  buildLiteral,
  buildNested,
  buildNot,
  buildOr,
  buildRange,
  buildWildcard,
  KqlSyntaxError,
  MAX_KQL_NESTING,
  parseKql,
  stripPositions,
} from '../../lambda/engine/kql/index';
import { SEED_QUERY, SEED_QUERY_MULTILINE } from './seed';

const lit = (value: string): KqlPattern => buildLiteral(value, false);
const quoted = (value: string): KqlPattern => buildLiteral(value, true);
const is = (field: string | null, value: string | KqlPattern): KqlNode =>
  buildIs(field === null ? null : lit(field), typeof value === 'string' ? lit(value) : value);

function syntaxError(query: string): KqlSyntaxError {
  try {
    parseKql(query);
  } catch (error) {
    if (error instanceof KqlSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(query)} not to parse`);
}

describe('parseKql', () => {
  it.each<[string, KqlNode]>([
    ['foo:bar', is('foo', 'bar')],
    ['foo: bar', is('foo', 'bar')],
    ['foo bar', is(null, 'foo bar')],
    ['  foo ', is(null, 'foo')],
    ['foo:bar baz', is('foo', 'bar baz')],
    ['a b:c', is('a b', 'c')],
    ['foo and bar', buildAnd([is(null, 'foo'), is(null, 'bar')])],
    ['foo and\u00a0bar', buildAnd([is(null, 'foo'), is(null, 'bar')])],
    ['foo or bar or baz', buildOr([is(null, 'foo'), is(null, 'bar'), is(null, 'baz')])],
    [
      'foo or bar and baz or qux',
      buildOr([is(null, 'foo'), buildAnd([is(null, 'bar'), is(null, 'baz')]), is(null, 'qux')]),
    ],
    ['(foo or bar) and baz', buildAnd([buildOr([is(null, 'foo'), is(null, 'bar')]), is(null, 'baz')])],
    ['a:1 OR b:2 AnD c:3', buildOr([is('a', '1'), buildAnd([is('b', '2'), is('c', '3')])])],
    ['not foo:bar', buildNot(is('foo', 'bar'))],
    ['NOT (foo or bar)', buildNot(buildOr([is(null, 'foo'), is(null, 'bar')]))],
    ['not a:1 and b:2', buildAnd([buildNot(is('a', '1')), is('b', '2')])],
    ['((((foo))))', is(null, 'foo')],
    ['foo:(bar or baz)', buildOr([is('foo', 'bar'), is('foo', 'baz')])],
    [
      'foo:((bar or baz) and not qux)',
      buildAnd([buildOr([is('foo', 'bar'), is('foo', 'baz')]), buildNot(is('foo', 'qux'))]),
    ],
    ['foo:(bar or *)', buildOr([is('foo', 'bar'), buildExists(lit('foo'))])],
    ['foo:"bar baz"', is('foo', quoted('bar baz'))],
    ['"foo":bar', buildIs(quoted('foo'), lit('bar'))],
    ['"just text"', is(null, quoted('just text'))],
    ['foo:"a*b"', is('foo', quoted('a*b'))],
    ['foo:a\\*b', is('foo', 'a*b')],
    ['foo:Del*', is('foo', buildWildcard(['Del', '']))],
    ['foo:*Key', is('foo', buildWildcard(['', 'Key']))],
    ['foo:a*b*c', is('foo', buildWildcard(['a', 'b', 'c']))],
    ['foo:a\\**', is('foo', buildWildcard(['a*', '']))],
    ['event.*:foo', buildIs(buildWildcard(['event.', '']), lit('foo'))],
    ['*', is(null, buildWildcard(['', '']))],
    ['foo:*', buildExists(lit('foo'))],
    ['foo: * ', buildExists(lit('foo'))],
    ['"foo":*', buildExists(quoted('foo'))],
    ['foo:"*"', is('foo', quoted('*'))],
    ['*:*', buildAll()],
    ['', buildAll()],
    [' \n\t ', buildAll()],
    ['bytes > 1000', buildRange(lit('bytes'), 'gt', '1000', false)],
    ['bytes>=1000', buildRange(lit('bytes'), 'gte', '1000', false)],
    ['bytes < 1000', buildRange(lit('bytes'), 'lt', '1000', false)],
    ['bytes <= "1000"', buildRange(lit('bytes'), 'lte', '1000', true)],
    ['ts > "2024-01-01T00:00:00Z"', buildRange(lit('ts'), 'gt', '2024-01-01T00:00:00Z', true)],
    ['a < b*', buildRange(lit('a'), 'lt', 'b*', false)],
    ['nestedField:{ childOfNested: foo }', buildNested('nestedField', is('childOfNested', 'foo'))],
    ['a:{ b:{ c:1 } }', buildNested('a', buildNested('b', is('c', '1')))],
    [
      'a:{b:1 and c:(2 or 3)}',
      buildNested('a', buildAnd([is('b', '1'), buildOr([is('c', '2'), is('c', '3')])])),
    ],
    ['foo:\\(bar\\)', is('foo', '(bar)')],
    ['foo:a\\:b', is('foo', 'a:b')],
    ['foo:\\"x\\"', is('foo', '"x"')],
    ['foo:\\{x\\}', is('foo', '{x}')],
    ['foo:\\<x\\>', is('foo', '<x>')],
    ['foo:a\\\\b', is('foo', 'a\\b')],
    ['foo:\\u0041\\u00e9', is('foo', 'Aé')],
    ['foo:a\\tb\\nc\\rd', is('foo', 'a\tb\nc\rd')],
    ['foo:a \\or b', is('foo', 'a or b')],
    ['foo:a \\AND b', is('foo', 'a AND b')],
    ['foo:\\not b', is('foo', 'not b')],
    ['foo:\\Not', is('foo', 'Not')],
    ['foo:can\\not or x', buildOr([is('foo', 'cannot'), is(null, 'x')])],
    ['foo:"a\\"b"', is('foo', quoted('a"b'))],
    ['foo:"a\\\\b"', is('foo', quoted('a\\b'))],
    ['foo:"a\\tb\\n"', is('foo', quoted('a\tb\n'))],
    ['foo:"\\u00e9"', is('foo', quoted('é'))],
    ['foo:"a\\xb"', is('foo', quoted('a\\xb'))],
    ['foo:"line\nbreak"', is('foo', quoted('line\nbreak'))],
    ['a:1\nor\nb:2', buildOr([is('a', '1'), is('b', '2')])],
    ['a:1\r\n\tAND\r\n\tb:2', buildAnd([is('a', '1'), is('b', '2')])],
    ['null:x', is('null', 'x')],
    ['cannot', is(null, 'cannot')],
    ['not', is(null, 'not')],
    ['foo:bar and', is('foo', 'bar and')],
    ['or', is(null, 'or')],
  ])('returns the Kibana AST for %j', (query, expected) => {
    const ast = parseKql(query);

    expect(stripPositions(ast)).toEqual(stripPositions(expected));
  });

  it('parses the seed query into one branch per provider', () => {
    const branch = (provider: string, actions: string[]): KqlNode =>
      buildAnd([
        buildIs(lit('event.provider'), quoted(provider)),
        buildOr(actions.map((action) => buildIs(lit('event.action'), quoted(action)))),
      ]);

    const ast = parseKql(SEED_QUERY);

    expect(stripPositions(ast)).toEqual(
      stripPositions(
        buildOr([
          branch('AWS IAM', ['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion']),
          branch('Microsoft.Authorization', ['roleAssignments/write', 'elevateAccess']),
          branch('gcp.iam', ['google.iam.admin.v1.DeleteServiceAccountKey', 'SetIamPolicy']),
        ]),
      ),
    );
  });

  it('returns the same AST for the seed query with its newlines', () => {
    const folded = parseKql(SEED_QUERY);

    const multiline = parseKql(SEED_QUERY_MULTILINE);

    expect(stripPositions(multiline)).toEqual(stripPositions(folded));
  });

  it.each<[string, number, number]>([
    ['foo:"bar"', 4, 9],
    ['foo:bar  ', 4, 7],
    ['foo:\\tbar', 6, 9],
    ['  free text ', 2, 11],
    ['bytes >= 10 ', 9, 11],
    ['foo:* ', 4, 5],
  ])('records the value span of %j', (query, start, end) => {
    const ast = parseKql(query);

    expect({ start: ast.start, end: ast.end }).toEqual({ start, end });
  });

  it('records the span of each value in a value list', () => {
    const ast = parseKql('foo:(a or "b c")');

    const spans = ast.type === 'or' ? ast.children.map((child) => [child.start, child.end]) : [];
    expect(spans).toEqual([
      [5, 6],
      [10, 15],
    ]);
  });

  it('spans a whole nested query from its path to its closing brace', () => {
    const ast = parseKql('x and  p:{ a:1 }');

    const nested = ast.type === 'and' ? ast.children[1] : undefined;
    expect({ start: nested?.start, end: nested?.end }).toEqual({ start: 7, end: 16 });
  });
});

describe('KqlSyntaxError', () => {
  // Kibana's own kuery_syntax_error tests: same offsets, same expectation lists, same caret lines.
  it.each<[string, string]>([
    ['response:', 'Expected "(", "{", value, whitespace but end of input found.\nresponse:\n---------^'],
    [
      'response:200 or ',
      'Expected "(", NOT, field name, value but end of input found.\nresponse:200 or \n----------------^',
    ],
    ['response:(200 or )', 'Expected "(", NOT, value but ")" found.\nresponse:(200 or )\n-----------------^'],
    [
      'response:200 and not ',
      'Expected "(", field name, value but end of input found.\nresponse:200 and not \n---------------------^',
    ],
    [
      'response:(200 and not )',
      'Expected "(", value but ")" found.\nresponse:(200 and not )\n----------------------^',
    ],
    ['foo:"ba ', 'Expected "(", "{", value, whitespace but """ found.\nfoo:"ba \n----^'],
    ['foo:"ba "r"', 'Expected AND, OR, end of input but "r" found.\nfoo:"ba "r"\n---------^'],
    ['foo:ba:r', 'Expected AND, OR, end of input but ":" found.\nfoo:ba:r\n------^'],
    ['foo > ', 'Expected literal, whitespace but end of input found.\nfoo > \n------^'],
    ['< 1000', 'Expected "(", NOT, end of input, field name, value, whitespace but "<" found.\n< 1000\n^'],
    ['a:{}', 'Expected "(", NOT, field name, value, whitespace but "}" found.\na:{}\n---^'],
    ['not not x', 'Expected "(", field name, value but "n" found.\nnot not x\n----^'],
  ])('reads like Kibana for %j', (query, message) => {
    const error = syntaxError(query);

    expect(error.message).toBe(message);
  });

  it.each<[string, number]>([
    ['response:', 9],
    ['foo:ba:r', 6],
    ['(a or b', 7],
    ['()', 1],
    ['foo:bar)', 7],
    ['not(x)', 3],
    ['x and not(y)', 9],
    ['cannot find', 3],
    ['a:{ b:1 ', 8],
    ['foo\\x', 3],
    ['a:1 b:2', 5],
    ['"unterminated', 0],
    ['a: (b or c', 10],
    ['ts > 2024-01-01T00:00:00Z', 18],
  ])('reports %j at offset %i', (query, position) => {
    const error = syntaxError(query);

    expect(error.position).toBe(position);
  });

  it('is an Error named KqlSyntaxError carrying the query', () => {
    const error = syntaxError('foo:ba:r');

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('KqlSyntaxError');
    expect(error.query).toBe('foo:ba:r');
    expect(error.shortMessage).toBe('Expected AND, OR, end of input but ":" found.');
    expect(error.expected).toEqual(['AND', 'OR', 'end of input']);
    expect(error.found).toBe(':');
  });

  it('shows the offending line of a multi-line query with the caret under its column', () => {
    const query = 'a:1\nand b:)\nor c:2';

    const error = syntaxError(query);

    expect(error.position).toBe(10);
    expect({ line: error.line, column: error.column }).toEqual({ line: 2, column: 7 });
    expect(error.message).toBe('Expected "(", "{", value, whitespace but ")" found.\nand b:)\n------^');
  });

  it('points past the last line break when the query ends inside a group', () => {
    const error = syntaxError('a:(b\n');

    expect(error.position).toBe(5);
    expect({ line: error.line, column: error.column }).toEqual({ line: 2, column: 1 });
    expect(error.message).toBe('Expected ")", AND, OR but end of input found.\n\n^');
  });

  it.each<[string, string]>([
    ['parentheses', `${'('.repeat(10_000)}a${')'.repeat(10_000)}`],
    ['value lists', `a:${'('.repeat(10_000)}b${')'.repeat(10_000)}`],
    ['nested queries', `${'a:{'.repeat(10_000)}b${'}'.repeat(10_000)}`],
    ['negations', `${'not ('.repeat(10_000)}a${')'.repeat(10_000)}`],
  ])('rejects %s nested 10,000 deep with a KqlSyntaxError', (_kind, query) => {
    const error = syntaxError(query);

    expect(error.shortMessage).toMatch(/^Expected at most 256 nested groups but "[({]" found\.$/);
    expect(error.position).toBeGreaterThan(0);
    expect(error.position).toBeLessThan(query.length);
  });

  it('accepts nesting up to the limit', () => {
    const query = `${'('.repeat(MAX_KQL_NESTING)}a${')'.repeat(MAX_KQL_NESTING)}`;

    const ast = parseKql(query);

    expect(stripPositions(ast)).toEqual(stripPositions(is(null, 'a')));
  });

  it('rejects a query that is not a string with a KqlSyntaxError', () => {
    const parse = () => parseKql(42 as unknown as string);

    expect(parse).toThrow(KqlSyntaxError);
  });
});
