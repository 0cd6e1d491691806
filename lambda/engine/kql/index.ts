/**
 * The KQL engine: Kibana's query language, parsed to an AST and compiled to a predicate over normalized
 * events with Elasticsearch keyword semantics. The rest of the engine imports from here only.
 */

export type {
  KqlAllNode,
  KqlAndNode,
  KqlExistsNode,
  KqlIsNode,
  KqlLiteralPattern,
  KqlNestedNode,
  KqlNode,
  KqlNotNode,
  KqlOrNode,
  KqlPattern,
  KqlRangeNode,
  KqlRangeOperator,
  KqlSpan,
  KqlWildcardPattern,
  Unpositioned,
} from './ast';
export {
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
  stripPositions,
} from './ast';
export type { KqlPredicate } from './compile';
export { compileKql } from './compile';
export type { KqlSyntaxErrorOptions } from './errors';
export { KqlAstError, KqlSyntaxError } from './errors';
export { MAX_KQL_NESTING, parseKql } from './parser';
export { printKql } from './print';
export type { KqlFieldLiteral, KqlVisitor, KqlWalkContext } from './walk';
export { fieldLiterals, readsOnly, walkKql } from './walk';
