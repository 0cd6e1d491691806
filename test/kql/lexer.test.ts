import { describe, expect, it } from 'vitest';
import { isKqlSpace, isKqlSpecial, KqlLexer } from '../../lambda/engine/kql/lexer';

describe('KqlLexer', () => {
  it.each<[string, number, { type: string; value: string; parts: string[]; end: number } | null]>([
    ['foo:bar', 0, { type: 'unquoted', value: 'foo', parts: ['foo'], end: 3 }],
    ['foo bar baz', 0, { type: 'unquoted', value: 'foo bar baz', parts: ['foo bar baz'], end: 11 }],
    ['foo  or bar', 0, { type: 'unquoted', value: 'foo', parts: ['foo'], end: 4 }],
    ['foo and', 0, { type: 'unquoted', value: 'foo and', parts: ['foo and'], end: 7 }],
    ['cannot x', 0, { type: 'unquoted', value: 'can', parts: ['can'], end: 3 }],
    ['Del*Key*', 0, { type: 'unquoted', value: 'Del*Key*', parts: ['Del', 'Key', ''], end: 8 }],
    ['a\\*b', 0, { type: 'unquoted', value: 'a*b', parts: ['a*b'], end: 4 }],
    ['\\t x \\n', 0, { type: 'unquoted', value: 'x', parts: ['x'], end: 7 }],
    ['\\not x', 0, { type: 'unquoted', value: 'not x', parts: ['not x'], end: 6 }],
    ['\\nothing', 0, { type: 'unquoted', value: 'othing', parts: ['othing'], end: 8 }],
    ['\\ORDER', 0, { type: 'unquoted', value: 'ORDER', parts: ['ORDER'], end: 6 }],
    ['x\\q', 0, { type: 'unquoted', value: 'x', parts: ['x'], end: 1 }],
    ['"a\\"b" rest', 0, { type: 'quoted', value: 'a"b', parts: ['a"b'], end: 6 }],
    ['"a*b"', 0, { type: 'quoted', value: 'a*b', parts: ['a*b'], end: 5 }],
    ['"unterminated', 0, null],
    ['(x)', 0, null],
    ['not x', 0, null],
    ['\\', 0, null],
  ])('reads the literal at the start of %j', (source, pos, expected) => {
    const token = new KqlLexer(source).literal(pos);

    expect(
      token === null ? null : { type: token.type, value: token.value, parts: token.parts, end: token.end },
    ).toEqual(expected);
  });

  it('reports the value span without the whitespace Kibana trims', () => {
    const token = new KqlLexer('a:\\t value  ').literal(2);

    expect(
      token && { start: token.start, valueStart: token.valueStart, valueEnd: token.valueEnd, end: token.end },
    ).toEqual({
      start: 2,
      valueStart: 5,
      valueEnd: 10,
      end: 12,
    });
  });

  it('remembers every whitespace probe, including those of its keyword lookahead', () => {
    const lexer = new KqlLexer('ab or c');

    lexer.literal(0);

    expect([...lexer.spaceProbes].sort((a, b) => a - b)).toEqual([0, 1, 2, 5]);
  });

  it.each<[string, boolean, boolean]>([
    [' ', true, false],
    ['\u00a0', true, false],
    ['\u2003', false, false],
    ['*', false, true],
    ['\\', false, true],
    ['a', false, false],
  ])('classifies %j as whitespace=%s, special=%s', (char, space, special) => {
    expect([isKqlSpace(char), isKqlSpecial(char)]).toEqual([space, special]);
  });
});
