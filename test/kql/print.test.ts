import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KqlNode, KqlPattern, KqlRangeOperator } from '../../lambda/engine/kql/index';
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
  isLoneWildcard,
  KqlAstError,
  KqlSyntaxError,
  parseKql,
  printKql,
  stripPositions,
} from '../../lambda/engine/kql/index';
import { SEED_QUERY } from './seed';

function roundTrips(ast: KqlNode): void {
  const printed = printKql(ast);
  let reparsed: KqlNode;
  try {
    reparsed = parseKql(printed);
  } catch (error) {
    throw new Error(`printed ${JSON.stringify(printed)} does not parse: ${(error as Error).message}`);
  }
  expect(stripPositions(reparsed), `printed as ${JSON.stringify(printed)}`).toEqual(stripPositions(ast));
}

describe('printKql', () => {
  it.each<[string, string]>([
    ['foo:bar', 'foo:bar'],
    ['foo : "bar baz"', 'foo:"bar baz"'],
    ['foo bar', 'foo bar'],
    ['a:1 OR b:2 AND c:3', 'a:1 or (b:2 and c:3)'],
    ['(a:1 or b:2) and c:3', '(a:1 or b:2) and c:3'],
    ['a:1 or (b:2 or c:3)', 'a:1 or (b:2 or c:3)'],
    ['not a:1', 'not a:1'],
    ['not (a:1 or b:1)', 'not (a:1 or b:1)'],
    ['not (not a:1)', 'not (not a:1)'],
    ['foo:(bar or baz)', 'foo:(bar or baz)'],
    ['foo:((bar or baz) and not qux)', 'foo:((bar or baz) and not qux)'],
    ['foo:(a or b) and c:d', 'foo:(a or b) and c:d'],
    ['foo:*', 'foo:*'],
    ['foo:(a or *)', 'foo:(a or *)'],
    ['*:*', '*:*'],
    ['', '*:*'],
    ['bytes>=1000', 'bytes >= 1000'],
    ['ts < "2024-01-01T00:00:00Z"', 'ts < "2024-01-01T00:00:00Z"'],
    ['a < b*', 'a < b\\*'],
    ['event.*:Del*Key', 'event.*:Del*Key'],
    ['user.roles:{ name:admin and scope:* }', 'user.roles:{ name:admin and scope:* }'],
    ['"a b":{ c:1 }', '"a b":{ c:1 }'],
    ['foo:a\\:b\\(c\\)', 'foo:a\\:b\\(c\\)'],
    ['foo:"a\\"b\\\\c"', 'foo:"a\\"b\\\\c"'],
    ['foo:a \\or b', 'foo:a \\or b'],
    ['foo:\\not b', 'foo:\\not b'],
    ['foo:can\\not', 'foo:can\\not'],
    ['foo:tab\\there', 'foo:tab\\there'],
    ['foo:"line\\nbreak"', 'foo:"line\\nbreak"'],
  ])('prints %j as %j', (query, expected) => {
    const ast = parseKql(query);

    const printed = printKql(ast);

    expect(printed).toBe(expected);
  });

  it('prints the seed query one branch per provider', () => {
    const printed = printKql(parseKql(SEED_QUERY));

    expect(printed).toBe(
      '(event.provider:"AWS IAM" and event.action:("DeleteAccessKey" or "UpdateAssumeRolePolicy" or "CreatePolicyVersion"))' +
        ' or (event.provider:"Microsoft.Authorization" and event.action:("roleAssignments/write" or "elevateAccess"))' +
        ' or (event.provider:"gcp.iam" and event.action:("google.iam.admin.v1.DeleteServiceAccountKey" or "SetIamPolicy"))',
    );
  });

  it.each<[string, KqlNode]>([
    ['an empty unquoted value', buildIs(buildLiteral('f'), buildLiteral(''))],
    ['a newline before "ot"', buildIs(buildLiteral('f'), buildLiteral('a\not b'))],
    [
      'a value ending in " or"',
      buildOr([buildIs(buildLiteral('f'), buildLiteral('a or')), buildIs(null, buildLiteral('x'))]),
    ],
    [
      'a value ending in "not"',
      buildOr([buildIs(buildLiteral('f'), buildLiteral('cannot')), buildIs(null, buildLiteral('x'))]),
    ],
    ['a non-breaking space before "and"', buildIs(buildLiteral('f'), buildLiteral('a\u00a0and b'))],
    ['keywords around a wildcard', buildIs(buildLiteral('f'), buildWildcard(['x or ', ' and y']))],
    ['a lone wildcard as free text', buildIs(null, buildWildcard(['', '']))],
    ['a quoted path', buildNested('a b', buildIs(buildLiteral('c'), buildLiteral('1')))],
    ['an empty path', buildNested('', buildExists(buildLiteral('c')))],
    [
      'a wildcard field in a value list',
      buildOr([buildIs(buildWildcard(['a', '']), buildLiteral('1')), buildExists(buildWildcard(['a', '']))]),
    ],
  ])('round-trips %s', (_name, ast) => {
    roundTrips(ast);
  });

  it('prints hand-built degenerate nodes as queries with the same meaning', () => {
    const printed = [buildOr([]), buildAnd([]), buildAnd([buildAll(), buildAll()])].map(printKql);

    expect(printed).toEqual(['not *:*', '*:*', '*:* and *:*']);
  });

  it('throws a KqlAstError for something that is not an AST', () => {
    expect(() => printKql({ type: 'bogus' } as unknown as KqlNode)).toThrow(KqlAstError);
  });

  it('prints any parser-shaped AST as a query that parses back to it', () => {
    fc.assert(
      fc.property(arbitraryAst, (ast) => {
        roundTrips(ast);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips whatever random KQL-like text parses to', () => {
    fc.assert(
      fc.property(arbitraryKqlText, (query) => {
        let ast: KqlNode;
        try {
          ast = parseKql(query);
        } catch (error) {
          expect(error).toBeInstanceOf(KqlSyntaxError);
          return;
        }
        roundTrips(ast);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseKql on random input', () => {
  it('throws only KqlSyntaxError, with a position inside the query', () => {
    fc.assert(
      fc.property(fc.oneof(arbitraryKqlText, fc.string({ unit: 'binary', maxLength: 60 })), (query) => {
        try {
          parseKql(query);
        } catch (error) {
          expect(error).toBeInstanceOf(KqlSyntaxError);
          const { position, query: reported, message } = error as KqlSyntaxError;
          expect(reported).toBe(query);
          expect(position).toBeGreaterThanOrEqual(0);
          expect(position).toBeLessThanOrEqual(query.length);
          expect(message.split('\n').at(-1)).toMatch(/^-*\^$/);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Generators

/** Characters that exercise every escape and keyword rule of the grammar. */
const CHARS = [
  'a',
  'b',
  'x',
  'n',
  'o',
  't',
  'r',
  'd',
  'N',
  'O',
  'R',
  'A',
  'D',
  'T',
  'u',
  '0',
  '1',
  '.',
  '-',
  '/',
  '@',
  'é',
  ' ',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '\u2003',
  '\\',
  '(',
  ')',
  ':',
  '<',
  '>',
  '=',
  '"',
  '*',
  '{',
  '}',
];
const WORDS = ['or', 'and', 'not', ' or ', ' and ', 'not ', 'OR', '\\u0041', '\\n'];
const arbitraryText = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...CHARS) },
      { weight: 1, arbitrary: fc.constantFrom(...WORDS) },
    ),
    {
      maxLength: 8,
    },
  )
  .map((pieces) => pieces.join(''));
/** Unquoted literals lose surrounding whitespace (Kibana trims them), so the parser never builds one with it. */
const arbitraryUnquotedText = arbitraryText.map((text) => text.trim());

const arbitraryLiteral: fc.Arbitrary<KqlPattern> = fc.oneof(
  arbitraryUnquotedText.map((text) => buildLiteral(text, false)),
  arbitraryText.map((text) => buildLiteral(text, true)),
);
const arbitraryWildcard: fc.Arbitrary<KqlPattern> = fc
  .array(arbitraryText, { minLength: 2, maxLength: 4 })
  .map((parts) => {
    const trimmed = [...parts];
    trimmed[0] = (trimmed[0] as string).trimStart();
    trimmed[trimmed.length - 1] = (trimmed[trimmed.length - 1] as string).trimEnd();
    return buildWildcard(trimmed);
  });
const arbitraryPattern = fc.oneof(
  { weight: 3, arbitrary: arbitraryLiteral },
  { weight: 1, arbitrary: arbitraryWildcard },
);
/** `field:*` is exists, and `*:*` is all, so those combinations never come out of the parser as `is`. */
const arbitraryField = arbitraryPattern.filter((field) => !isLoneWildcard(field));
const arbitraryValue = arbitraryPattern.filter((value) => !isLoneWildcard(value));
const OPERATORS: KqlRangeOperator[] = ['lt', 'lte', 'gt', 'gte'];

const arbitraryLeaf: fc.Arbitrary<KqlNode> = fc.oneof(
  fc.tuple(arbitraryField, arbitraryValue).map(([field, value]) => buildIs(field, value)),
  arbitraryPattern.map((value) => buildIs(null, value)),
  fc
    .tuple(arbitraryField, fc.constantFrom(...OPERATORS), fc.boolean(), arbitraryText)
    .map(([field, operator, quoted, text]) =>
      buildRange(field, operator, quoted ? text : text.trim(), quoted),
    ),
  arbitraryField.map((field) => buildExists(field)),
);

const arbitraryNode: fc.Arbitrary<KqlNode> = fc.letrec<{ node: KqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbitraryLeaf,
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((children) => buildOr(children)),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((children) => buildAnd(children)),
    tie('node').map((child) => buildNot(child)),
    fc.tuple(arbitraryText, tie('node')).map(([path, query]) => buildNested(path, query)),
  ),
})).node;
const arbitraryAst = fc.oneof(
  { weight: 20, arbitrary: arbitraryNode },
  { weight: 1, arbitrary: fc.constant(buildAll()) },
);

/** Text from KQL's own vocabulary, so that a good share of it parses. */
const arbitraryKqlText = fc
  .array(
    fc.constantFrom(
      'a',
      'b',
      'x.y',
      'foo',
      'Del*',
      '*',
      '"q"',
      '"a b"',
      ':',
      ' : ',
      '(',
      ')',
      '{',
      '}',
      ' ',
      '\n',
      ' or ',
      ' and ',
      'not ',
      ' OR ',
      'NOT ',
      '<',
      '>=',
      '\\',
      '\\:',
      '\\*',
      '\\or',
      '\\not',
      '\\u0041',
      '\t',
      '"',
      '1',
      '-2.5',
    ),
    { maxLength: 14 },
  )
  .map((pieces) => pieces.join(''));
