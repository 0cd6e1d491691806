/**
 * The KQL abstract syntax tree. It is the one representation every compile target reads (predicate,
 * EventBridge pattern, Athena SQL, raw pre-filter), so it stays small, plain data (JSON-serialisable),
 * and close to Kibana's function nodes: `or`, `and`, `not`, `is`, `range`, `exists`, `nested`, plus `all`
 * for the empty query. Value lists (`field:(a or b)`) are expanded at parse time into `or`/`and`/`not` over
 * `is` nodes, exactly as Kibana does, so compilers never see a list.
 */

/**
 * Offsets into the parsed query (UTF-16 code units, end exclusive). Leaves (`is`, `range`, `exists`) span
 * their *value* token (quotes included, trimmed whitespace excluded), because in a value list one field
 * token is shared by many values and the value is what the rule lint points at. Nodes built by hand
 * default to `0`/`0`.
 */
export interface KqlSpan {
  readonly start: number;
  readonly end: number;
}

/** A field name or value that is compared literally. */
export interface KqlLiteralPattern {
  readonly kind: 'literal';
  /** The unescaped text. */
  readonly value: string;
  /** Whether it was written in double quotes (a quoted `*` is a literal star). */
  readonly quoted: boolean;
}

/** A field name or value with unescaped `*` wildcards; always unquoted in the source. */
export interface KqlWildcardPattern {
  readonly kind: 'wildcard';
  /**
   * The unescaped text with `*` where the wildcards are. For display only: an escaped star (`\*`) also
   * shows as `*` here, so `parts` is the authority.
   */
  readonly value: string;
  /** The literal segments between wildcards (`Del*Key` → `['Del', 'Key']`); at least two. */
  readonly parts: readonly string[];
}

/** A field name or value as written: literal, or with wildcards. */
export type KqlPattern = KqlLiteralPattern | KqlWildcardPattern;

/** `a or b or c`: matches when any child matches. */
export interface KqlOrNode extends KqlSpan {
  readonly type: 'or';
  readonly children: readonly KqlNode[];
}

/** `a and b and c`: matches when every child matches. */
export interface KqlAndNode extends KqlSpan {
  readonly type: 'and';
  readonly children: readonly KqlNode[];
}

/** `not a`: matches when the child does not (so `not field:x` matches documents without `field`). */
export interface KqlNotNode extends KqlSpan {
  readonly type: 'not';
  readonly child: KqlNode;
}

/** `field:value`, or free text `value` when `field` is `null` (matches a value of any field). */
export interface KqlIsNode extends KqlSpan {
  readonly type: 'is';
  readonly field: KqlPattern | null;
  readonly value: KqlPattern;
}

/** Range operators in Kibana's (and Elasticsearch's) names. */
export type KqlRangeOperator = 'lt' | 'lte' | 'gt' | 'gte';

/** `field < value`, `<=`, `>`, `>=`. The value never holds wildcards (a `*` in it is a literal star). */
export interface KqlRangeNode extends KqlSpan {
  readonly type: 'range';
  readonly field: KqlPattern;
  readonly operator: KqlRangeOperator;
  readonly value: string;
  readonly quoted: boolean;
}

/** `field:*`: the field has at least one non-null value. */
export interface KqlExistsNode extends KqlSpan {
  readonly type: 'exists';
  readonly field: KqlPattern;
}

/** `path:{ query }`: one object under `path` satisfies the whole `query`; fields inside are relative. */
export interface KqlNestedNode extends KqlSpan {
  readonly type: 'nested';
  readonly path: string;
  readonly query: KqlNode;
}

/** The empty query (and `*:*`): matches every document. */
export interface KqlAllNode extends KqlSpan {
  readonly type: 'all';
}

/** Any KQL AST node, discriminated on `type`. */
export type KqlNode =
  | KqlOrNode
  | KqlAndNode
  | KqlNotNode
  | KqlIsNode
  | KqlRangeNode
  | KqlExistsNode
  | KqlNestedNode
  | KqlAllNode;

const NO_SPAN: KqlSpan = { start: 0, end: 0 };

/** Builds an `or` node; the parser only builds it with two or more children. */
export function buildOr(children: readonly KqlNode[], span: KqlSpan = NO_SPAN): KqlOrNode {
  return { type: 'or', children, start: span.start, end: span.end };
}

/** Builds an `and` node; the parser only builds it with two or more children. */
export function buildAnd(children: readonly KqlNode[], span: KqlSpan = NO_SPAN): KqlAndNode {
  return { type: 'and', children, start: span.start, end: span.end };
}

/** Builds a `not` node. */
export function buildNot(child: KqlNode, span: KqlSpan = NO_SPAN): KqlNotNode {
  return { type: 'not', child, start: span.start, end: span.end };
}

/** Builds an `is` node; `field: null` is free text. */
export function buildIs(field: KqlPattern | null, value: KqlPattern, span: KqlSpan = NO_SPAN): KqlIsNode {
  return { type: 'is', field, value, start: span.start, end: span.end };
}

/** Builds a `range` node. */
export function buildRange(
  field: KqlPattern,
  operator: KqlRangeOperator,
  value: string,
  quoted: boolean,
  span: KqlSpan = NO_SPAN,
): KqlRangeNode {
  return { type: 'range', field, operator, value, quoted, start: span.start, end: span.end };
}

/** Builds an `exists` node. */
export function buildExists(field: KqlPattern, span: KqlSpan = NO_SPAN): KqlExistsNode {
  return { type: 'exists', field, start: span.start, end: span.end };
}

/** Builds a `nested` node. */
export function buildNested(path: string, query: KqlNode, span: KqlSpan = NO_SPAN): KqlNestedNode {
  return { type: 'nested', path, query, start: span.start, end: span.end };
}

/** Builds the match-everything node. */
export function buildAll(span: KqlSpan = NO_SPAN): KqlAllNode {
  return { type: 'all', start: span.start, end: span.end };
}

/** Builds a literal pattern. */
export function buildLiteral(value: string, quoted = false): KqlLiteralPattern {
  return { kind: 'literal', value, quoted };
}

/**
 * Builds a wildcard pattern from the literal segments between its stars, so that escaped stars inside a
 * segment stay literal. Fewer than two parts means there is no wildcard: that is a literal.
 */
export function buildWildcard(parts: readonly string[]): KqlWildcardPattern {
  return { kind: 'wildcard', value: parts.join('*'), parts };
}

/** Whether a pattern is a single bare `*` (Kibana's "lone wildcard": exists, or match-all as a field). */
export function isLoneWildcard(pattern: KqlPattern | null): boolean {
  return (
    pattern !== null &&
    pattern.kind === 'wildcard' &&
    pattern.parts.length === 2 &&
    pattern.parts[0] === '' &&
    pattern.parts[1] === ''
  );
}

/** A KQL AST (or any part of one) without the `start`/`end` offsets. */
export type Unpositioned<T> = T extends readonly (infer U)[]
  ? readonly Unpositioned<U>[]
  : T extends object
    ? { [K in keyof T as Exclude<K, 'start' | 'end'>]: Unpositioned<T[K]> }
    : T;

/**
 * Copies an AST without offsets, so that ASTs parsed from differently spelled queries (or built by hand)
 * compare equal when they mean the same thing — the print/parse round trip relies on it.
 */
export function stripPositions(node: KqlNode): Unpositioned<KqlNode> {
  switch (node.type) {
    case 'or':
    case 'and':
      return { type: node.type, children: node.children.map(stripPositions) };
    case 'not':
      return { type: 'not', child: stripPositions(node.child) };
    case 'is':
      return { type: 'is', field: node.field, value: node.value };
    case 'range':
      return {
        type: 'range',
        field: node.field,
        operator: node.operator,
        value: node.value,
        quoted: node.quoted,
      };
    case 'exists':
      return { type: 'exists', field: node.field };
    case 'nested':
      return { type: 'nested', path: node.path, query: stripPositions(node.query) };
    case 'all':
      return { type: 'all' };
  }
}
