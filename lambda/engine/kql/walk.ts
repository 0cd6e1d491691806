/**
 * A general walker over the KQL AST, and `fieldLiterals`, the list of `field:value` comparisons that the
 * rule lint ("this literal can never occur") and the pre-filter compilers (SQL, EventBridge, raw bytes)
 * start from. Both know about negation and nested paths, which every one of those consumers needs.
 */

import type { KqlNode } from './ast';

/** Where the walker is. */
export interface KqlWalkContext {
  /** The node containing this one, or `null` at the root. */
  readonly parent: KqlNode | null;
  /** 0 at the root. */
  readonly depth: number;
  /** Whether an odd number of `not`s encloses this node (a match here makes the query *less* likely). */
  readonly negated: boolean;
  /** The dotted path of the enclosing `nested` queries (fields inside are relative to it), or `null`. */
  readonly nestedPath: string | null;
}

/**
 * Called for each node before its children (`enter`, pre-order) and after them (`leave`). Returning
 * `false` from `enter` skips the node's children (and its `leave`). A plain function is an `enter`.
 */
export type KqlVisitor =
  | ((node: KqlNode, context: KqlWalkContext) => boolean | undefined)
  | {
      readonly enter?: (node: KqlNode, context: KqlWalkContext) => boolean | undefined;
      readonly leave?: (node: KqlNode, context: KqlWalkContext) => void;
    };

/** Walks every node of an AST in source order, depth first. */
export function walkKql(ast: KqlNode, visitor: KqlVisitor): void {
  const enter = typeof visitor === 'function' ? visitor : visitor.enter;
  const leave = typeof visitor === 'function' ? undefined : visitor.leave;
  const visit = (node: KqlNode, context: KqlWalkContext): void => {
    if (enter?.(node, context) === false) return;
    const inner = (negated: boolean, nestedPath: string | null): KqlWalkContext => ({
      parent: node,
      depth: context.depth + 1,
      negated,
      nestedPath,
    });
    switch (node.type) {
      case 'or':
      case 'and': {
        const childContext = inner(context.negated, context.nestedPath);
        for (const child of node.children) visit(child, childContext);
        break;
      }
      case 'not':
        visit(node.child, inner(!context.negated, context.nestedPath));
        break;
      case 'nested':
        visit(node.query, inner(context.negated, joinPath(context.nestedPath, node.path)));
        break;
      default:
        break;
    }
    leave?.(node, context);
  };
  visit(ast, { parent: null, depth: 0, negated: false, nestedPath: null });
}

/** One `field:value` comparison of a query. */
export interface KqlFieldLiteral {
  /** The full dotted field (nested paths prepended); a wildcard field keeps its `*`. */
  readonly field: string;
  /** The unescaped value; for a wildcard, the text with `*` where the wildcards are. */
  readonly value: string;
  /** Whether the value has wildcards. */
  readonly wildcard: boolean;
  /** Whether an odd number of `not`s encloses it. */
  readonly negated: boolean;
  /** Offsets of the value in the query (quotes included), for pointing at it. */
  readonly start: number;
  readonly end: number;
}

/**
 * Every `field:value` comparison in source order — including each value of a value list — with its value's
 * span in the query. Free text (no field), ranges and exists are not comparisons with a literal value and
 * are left out; walk the AST for those.
 */
export function fieldLiterals(ast: KqlNode): KqlFieldLiteral[] {
  const found: KqlFieldLiteral[] = [];
  walkKql(ast, (node, context) => {
    if (node.type === 'is' && node.field !== null) {
      found.push({
        field: joinPath(context.nestedPath, node.field.value),
        value: node.value.value,
        wildcard: node.value.kind === 'wildcard',
        negated: context.negated,
        start: node.start,
        end: node.end,
      });
    }
    return undefined;
  });
  return found;
}

function joinPath(prefix: string | null, path: string): string {
  return prefix === null ? path : `${prefix}.${path}`;
}

/**
 * Whether the query reads no field outside `fields` (dotted names): every comparison, range and
 * `exists` names one of them literally. Free text (any field), wildcard field names and `nested`
 * queries could read anything, so they make this `false`. A document that holds the same values as
 * another at every one of `fields` then gets the same verdict from the query.
 */
export function readsOnly(ast: KqlNode, fields: ReadonlySet<string>): boolean {
  let only = true;
  walkKql(ast, (node) => {
    if (!only) return false;
    switch (node.type) {
      case 'nested':
        only = false;
        return false;
      case 'is':
      case 'range':
      case 'exists':
        if (node.field === null || node.field.kind !== 'literal' || !fields.has(node.field.value))
          only = false;
        return undefined;
      default:
        return undefined;
    }
  });
  return only;
}
