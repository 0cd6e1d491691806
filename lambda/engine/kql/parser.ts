/**
 * The KQL parser: recursive descent over Kibana's grammar (`kbn-es-query/src/kuery/grammar/grammar.peggy`),
 * one method per grammar rule, named after it.
 *
 * It reproduces Kibana's parse, not a look-alike: the same precedence (`not` > `and` > `or`), the same
 * whitespace rules (`or`/`and` need whitespace on both sides, `not` after it; `not not x` and `not(x)` are
 * errors), the same value-list expansion, and the same syntax errors — Kibana reports the furthest offset
 * any rule failed at and everything that was expected there, and so does this parser, including the
 * effect of peggy's rule cache on the `whitespace` expectation (see `Space`).
 */

import type { KqlNode, KqlPattern, KqlRangeOperator, KqlSpan } from './ast';
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
} from './ast';
import { KqlSyntaxError } from './errors';
import type { KqlLiteralToken } from './lexer';
import { KqlLexer } from './lexer';

/**
 * How deeply `(…)`, `field:(…)` and `path:{…}` may nest. Real rules nest a handful of levels; the limit
 * keeps the parser (and the recursive compiler, printer and walker after it) far from the call-stack
 * limit, so hostile input gets a `KqlSyntaxError` instead of a `RangeError`.
 */
export const MAX_KQL_NESTING = 256;

/** Kibana's names for the named grammar rules, as its error messages show them. */
const EXPECTED_WHITESPACE = 'whitespace';
const EXPECTED_FIELD = 'field name';
const EXPECTED_VALUE = 'value';
const EXPECTED_LITERAL = 'literal';
const EXPECTED_END = 'end of input';

const RANGE_OPERATORS: readonly (readonly [string, KqlRangeOperator])[] = [
  ['<=', 'lte'],
  ['>=', 'gte'],
  ['<', 'lt'],
  ['>', 'gt'],
];

/** A parsed value list waiting for its field, as in Kibana's grammar actions. */
type ValuesPartial = (field: KqlPattern) => KqlNode;

/**
 * Parses a KQL query into an AST. The empty (or whitespace-only) query is `{ type: 'all' }`.
 *
 * @throws {KqlSyntaxError} for any query Kibana would reject (and for nesting deeper than
 * {@link MAX_KQL_NESTING}); it never throws anything else, whatever the input.
 */
export function parseKql(query: string): KqlNode {
  if (typeof query !== 'string') {
    throw new KqlSyntaxError(`Expected a query string but ${typeof query} found.`, '', 0, { found: null });
  }
  const parser = new KqlParser(query);
  try {
    return parser.start();
  } catch (error) {
    if (error instanceof KqlSyntaxError) throw error;
    // Only a call stack already near its limit gets here; report it on the query, never as a RangeError.
    throw new KqlSyntaxError(
      'Expected a simpler query but the parser ran out of stack.',
      query,
      parser.offset,
      {
        cause: error,
      },
    );
  }
}

class KqlParser {
  private readonly query: string;
  private readonly lexer: KqlLexer;
  private pos = 0;
  /** Inside a named rule (or a lookahead), failures are not reported individually, as in peggy. */
  private silent = 0;
  private maxFailPos = 0;
  private readonly expected = new Set<string>();
  private depth = 0;

  constructor(query: string) {
    this.query = query;
    this.lexer = new KqlLexer(query);
  }

  get offset(): number {
    return this.pos;
  }

  // start = Space* query:OrQuery? trailing:OptionalSpace
  start(): KqlNode {
    this.Spaces();
    const query = this.OrQuery();
    this.OptionalSpace();
    if (this.pos === this.query.length) return query ?? buildAll({ start: 0, end: this.query.length });
    this.fail(this.pos, EXPECTED_END);
    const at = this.maxFailPos;
    const found = at < this.query.length ? this.query.charAt(at) : null;
    const expected = [...this.expected].sort();
    const message = `Expected ${expected.join(', ')} but ${found === null ? EXPECTED_END : `"${printable(found)}"`} found.`;
    throw new KqlSyntaxError(message, this.query, at, { expected, found });
  }

  /**
   * `head (separator operand)*`, the shape of every `Or…`/`And…` rule of the grammar: a separator with
   * no operand after it is given back (`foo:bar and` leaves `and` to the value), as Kibana's PEG does.
   */
  private separated<T>(operand: () => T | null, separator: () => boolean): T[] | null {
    const head = operand();
    if (head === null) return null;
    const items = [head];
    for (;;) {
      const save = this.pos;
      if (!separator()) break;
      const next = operand();
      if (next === null) {
        this.pos = save;
        break;
      }
      items.push(next);
    }
    return items;
  }

  /** `'(' Space* inner OptionalSpace ')'`, or nothing consumed: the grammar's two parenthesized rules. */
  private parenthesized<T>(inner: () => T | null): T | null {
    const save = this.pos;
    if (!this.Punctuation('(')) return null;
    this.enter(save);
    this.Spaces();
    const result = inner();
    if (result !== null) {
      this.OptionalSpace();
      if (this.Punctuation(')')) {
        this.depth -= 1;
        return result;
      }
    }
    this.depth -= 1;
    this.pos = save;
    return null;
  }

  // OrQuery = head:AndQuery tail:(Or query:AndQuery)+ / AndQuery
  private OrQuery(): KqlNode | null {
    const nodes = this.separated(
      () => this.AndQuery(),
      () => this.Or(),
    );
    if (nodes === null) return null;
    return nodes.length === 1 ? (nodes[0] as KqlNode) : buildOr(nodes, spanOf(nodes));
  }

  // AndQuery = head:NotQuery tail:(And query:NotQuery)+ / NotQuery
  private AndQuery(): KqlNode | null {
    const nodes = this.separated(
      () => this.NotQuery(),
      () => this.And(),
    );
    if (nodes === null) return null;
    return nodes.length === 1 ? (nodes[0] as KqlNode) : buildAnd(nodes, spanOf(nodes));
  }

  // NotQuery = Not query:SubQuery / SubQuery
  private NotQuery(): KqlNode | null {
    const save = this.pos;
    if (this.Not()) {
      const query = this.SubQuery();
      if (query !== null) return buildNot(query, { start: save, end: query.end });
      this.pos = save;
    }
    return this.SubQuery();
  }

  // SubQuery = '(' Space* query:OrQuery trailing:OptionalSpace ')' / NestedQuery
  private SubQuery(): KqlNode | null {
    const query = this.parenthesized(() => this.OrQuery());
    if (query !== null) return query;
    return this.NestedQuery();
  }

  // NestedQuery = field:Field Space* ':' Space* '{' Space* query:OrQuery trailing:OptionalSpace '}' / Expression
  private NestedQuery(): KqlNode | null {
    const save = this.pos;
    const field = this.Field();
    if (field !== null) {
      this.Spaces();
      if (this.Punctuation(':')) {
        this.Spaces();
        const brace = this.pos;
        if (this.Punctuation('{')) {
          this.enter(brace);
          this.Spaces();
          const query = this.OrQuery();
          if (query !== null) {
            this.OptionalSpace();
            if (this.Punctuation('}')) {
              this.depth -= 1;
              return buildNested(field.value, query, { start: field.valueStart, end: this.pos });
            }
          }
          this.depth -= 1;
        }
      }
      this.pos = save;
    }
    return this.Expression();
  }

  // Expression = FieldRangeExpression / FieldValueExpression / ValueExpression
  private Expression(): KqlNode | null {
    return this.FieldRangeExpression() ?? this.FieldValueExpression() ?? this.ValueExpression();
  }

  // FieldRangeExpression = field:Field Space* operator:RangeOperator Space* value:Literal
  private FieldRangeExpression(): KqlNode | null {
    const save = this.pos;
    const field = this.Field();
    if (field !== null) {
      this.Spaces();
      const operator = this.RangeOperator();
      if (operator !== null) {
        this.Spaces();
        const value = this.Literal();
        if (value !== null) {
          return buildRange(
            patternOf(field),
            operator,
            value.value,
            value.type === 'quoted',
            valueSpan(value),
          );
        }
      }
    }
    this.pos = save;
    return null;
  }

  // FieldValueExpression = field:Field Space* ':' Space* partial:ListOfValues
  private FieldValueExpression(): KqlNode | null {
    const save = this.pos;
    const field = this.Field();
    if (field !== null) {
      this.Spaces();
      if (this.Punctuation(':')) {
        this.Spaces();
        const partial = this.ListOfValues();
        if (partial !== null) return partial(patternOf(field));
      }
    }
    this.pos = save;
    return null;
  }

  // ValueExpression = partial:Value   (free text: no field)
  private ValueExpression(): KqlNode | null {
    const value = this.Value();
    return value === null ? null : valueNode(null, value);
  }

  // ListOfValues = '(' Space* partial:OrListOfValues trailing:OptionalSpace ')' / Value
  private ListOfValues(): ValuesPartial | null {
    const partial = this.parenthesized(() => this.OrListOfValues());
    if (partial !== null) return partial;
    const value = this.Value();
    return value === null ? null : (field) => valueNode(field, value);
  }

  // OrListOfValues = head:AndListOfValues tail:(Or partial:AndListOfValues)+ / AndListOfValues
  private OrListOfValues(): ValuesPartial | null {
    const partials = this.separated(
      () => this.AndListOfValues(),
      () => this.Or(),
    );
    if (partials === null) return null;
    if (partials.length === 1) return partials[0] as ValuesPartial;
    return (field) => {
      const nodes = partials.map((partial) => partial(field));
      return buildOr(nodes, spanOf(nodes));
    };
  }

  // AndListOfValues = head:NotListOfValues tail:(And partial:NotListOfValues)+ / NotListOfValues
  private AndListOfValues(): ValuesPartial | null {
    const partials = this.separated(
      () => this.NotListOfValues(),
      () => this.And(),
    );
    if (partials === null) return null;
    if (partials.length === 1) return partials[0] as ValuesPartial;
    return (field) => {
      const nodes = partials.map((partial) => partial(field));
      return buildAnd(nodes, spanOf(nodes));
    };
  }

  // NotListOfValues = Not partial:ListOfValues / ListOfValues
  private NotListOfValues(): ValuesPartial | null {
    const save = this.pos;
    if (this.Not()) {
      const partial = this.ListOfValues();
      if (partial !== null) {
        return (field) => {
          const child = partial(field);
          return buildNot(child, { start: save, end: child.end });
        };
      }
      this.pos = save;
    }
    return this.ListOfValues();
  }

  // Field "fieldName" = Literal
  private Field(): KqlLiteralToken | null {
    return this.LiteralToken(EXPECTED_FIELD);
  }

  // Value "value" = QuotedString / UnquotedLiteral
  private Value(): KqlLiteralToken | null {
    return this.LiteralToken(EXPECTED_VALUE);
  }

  // Literal "literal" = QuotedString / UnquotedLiteral
  private Literal(): KqlLiteralToken | null {
    return this.LiteralToken(EXPECTED_LITERAL);
  }

  private LiteralToken(expectation: string): KqlLiteralToken | null {
    this.silent += 1;
    const token = this.lexer.literal(this.pos);
    this.silent -= 1;
    if (token === null) {
      this.fail(this.pos, expectation);
      return null;
    }
    this.pos = token.end;
    return token;
  }

  // RangeOperator = '<=' / '>=' / '<' / '>'
  private RangeOperator(): KqlRangeOperator | null {
    for (const [text, operator] of RANGE_OPERATORS) {
      const token = this.lexer.punctuation(this.pos, text);
      if (token !== null) {
        this.pos = token.end;
        return operator;
      }
      this.fail(this.pos, `"${text}"`);
    }
    return null;
  }

  // Or "OR" = Space+ 'or'i Space+
  private Or(): boolean {
    return this.Keyword('or', 'OR', true);
  }

  // And "AND" = Space+ 'and'i Space+
  private And(): boolean {
    return this.Keyword('and', 'AND', true);
  }

  // Not "NOT" = 'not'i Space+
  private Not(): boolean {
    return this.Keyword('not', 'NOT', false);
  }

  private Keyword(word: 'or' | 'and' | 'not', name: string, spaceBefore: boolean): boolean {
    const save = this.pos;
    this.silent += 1;
    let ok = !spaceBefore || this.SpacesPlus();
    if (ok) {
      const token = this.lexer.keyword(this.pos, word);
      if (token === null) ok = false;
      else {
        this.pos = token.end;
        ok = this.SpacesPlus();
      }
    }
    this.silent -= 1;
    if (!ok) {
      this.pos = save;
      this.fail(save, name);
    }
    return ok;
  }

  /**
   * Space "whitespace". Kibana's parser caches every rule per offset, so a `whitespace` expectation is
   * reported only if the first look at that offset was outside a named rule; the lexer remembers every
   * look (`spaceProbes`), including those its keyword lookahead makes.
   */
  private Space(): boolean {
    const at = this.pos;
    const first = !this.lexer.spaceProbes.has(at);
    if (this.lexer.space(at) !== null) {
      this.pos = at + 1;
      return true;
    }
    if (first) this.fail(at, EXPECTED_WHITESPACE);
    return false;
  }

  // Space*
  private Spaces(): void {
    let more = true;
    while (more) more = this.Space();
  }

  // Space+
  private SpacesPlus(): boolean {
    if (!this.Space()) return false;
    this.Spaces();
    return true;
  }

  // OptionalSpace = Space*   (the cursor alternative is for Kibana's autocomplete only)
  private OptionalSpace(): void {
    this.Spaces();
  }

  // '(' ')' '{' '}' ':'
  private Punctuation(text: string): boolean {
    const token = this.lexer.punctuation(this.pos, text);
    if (token === null) {
      this.fail(this.pos, `"${text}"`);
      return false;
    }
    this.pos = token.end;
    return true;
  }

  private enter(at: number): void {
    this.depth += 1;
    if (this.depth > MAX_KQL_NESTING) {
      const found = this.query.charAt(at);
      throw new KqlSyntaxError(
        `Expected at most ${MAX_KQL_NESTING} nested groups but "${found}" found.`,
        this.query,
        at,
        { found },
      );
    }
  }

  /** peggy's `peg$fail`: keep only the expectations at the furthest offset reached. */
  private fail(at: number, expectation: string): void {
    if (this.silent > 0 || at < this.maxFailPos) return;
    if (at > this.maxFailPos) {
      this.maxFailPos = at;
      this.expected.clear();
    }
    this.expected.add(expectation);
  }
}

/** The node a value stands for once its field is known (Kibana's `is` with its lone-wildcard cases). */
function valueNode(field: KqlPattern | null, token: KqlLiteralToken): KqlNode {
  const value = patternOf(token);
  const span = valueSpan(token);
  if (field !== null && isLoneWildcard(value)) {
    // `*:*` is Kibana's match_all; `field:*` is its exists query.
    return isLoneWildcard(field) ? buildAll(span) : buildExists(field, span);
  }
  return buildIs(field, value, span);
}

function patternOf(token: KqlLiteralToken): KqlPattern {
  if (token.parts.length > 1) return buildWildcard(token.parts);
  return buildLiteral(token.value, token.type === 'quoted');
}

function valueSpan(token: KqlLiteralToken): KqlSpan {
  return { start: token.valueStart, end: token.valueEnd };
}

function spanOf(nodes: readonly KqlNode[]): KqlSpan {
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  return { start: first === undefined ? 0 : first.start, end: last === undefined ? 0 : last.end };
}

/** The found character as Kibana shows it, but with line breaks and tabs escaped to keep the layout. */
function printable(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  return char;
}
