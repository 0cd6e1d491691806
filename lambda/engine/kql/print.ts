/**
 * Prints an AST back to KQL that parses to the same AST (offsets aside). The rule lint and the CLI use it
 * to show a query after rewriting, and the round trip is property-tested, so the printer escapes exactly
 * what Kibana's grammar needs and otherwise prints plainly: `field:value`, value lists collapsed back to
 * `field:(a or b)`, parentheses only where precedence or structure needs them.
 */

import type { KqlNode, KqlPattern, KqlRangeOperator } from './ast';
import { isLoneWildcard } from './ast';
import { KqlAstError } from './errors';
import { isKqlSpecial } from './lexer';

const OPERATORS: Readonly<Record<KqlRangeOperator, string>> = { lt: '<', lte: '<=', gt: '>', gte: '>=' };

/** Characters that cannot sit at either end of an unquoted literal, because Kibana trims them. */
const TRIMMED = /^\s|\s$/;

/**
 * Prints a KQL AST as a query. Parser-built ASTs round-trip: `parseKql(printKql(ast))` equals `ast` up to
 * offsets. Hand-built ASTs the parser could never produce (an `or` with one child, an unquoted literal with
 * leading spaces) print as the closest query that means the same.
 *
 * @throws {KqlAstError} when given something that is not a KQL AST.
 */
export function printKql(ast: KqlNode): string {
  return printNode(ast);
}

function printNode(node: KqlNode): string {
  if (node === null || typeof node !== 'object') throw new KqlAstError('Expected a KQL AST node', node);
  const list = listField(node);
  if (list !== null && (node.type === 'or' || node.type === 'and'))
    return `${printField(list)}:(${printList(node)})`;
  switch (node.type) {
    case 'or':
      return node.children.length === 0
        ? 'not *:*'
        : // `and` binds tighter anyway; its parentheses are for the reader of a multi-branch rule.
          node.children
            .map((child) =>
              child.type === 'or' || child.type === 'and' ? printGroup(child) : printNode(child),
            )
            .join(' or ');
    case 'and':
      return node.children.length === 0
        ? '*:*'
        : node.children
            .map((child) =>
              child.type === 'or' || child.type === 'and' ? printGroup(child) : printNode(child),
            )
            .join(' and ');
    case 'not':
      return `not ${printOperand(node.child)}`;
    case 'is':
      return node.field === null
        ? printPattern(node.value)
        : `${printField(node.field)}:${printPattern(node.value)}`;
    case 'range':
      return `${printField(node.field)} ${OPERATORS[node.operator]} ${printLiteral(node.value, node.quoted)}`;
    case 'exists':
      return `${printField(node.field)}:*`;
    case 'nested':
      return `${printLiteral(node.path, !isPlainPath(node.path))}:{ ${printNode(node.query)} }`;
    case 'all':
      return '*:*';
    default:
      throw new KqlAstError(`Unknown KQL node type "${String((node as { type?: unknown }).type)}"`, node);
  }
}

/** `not` takes a single sub-query: anything but a leaf or a nested query needs parentheses. */
function printOperand(node: KqlNode): string {
  return node.type === 'or' || node.type === 'and' || node.type === 'not'
    ? printGroup(node)
    : printNode(node);
}

/** A sub-query in parentheses, unless it prints as a value list, which is already one operand. */
function printGroup(node: KqlNode): string {
  return (node.type === 'or' || node.type === 'and') && listField(node) !== null
    ? printNode(node)
    : `(${printNode(node)})`;
}

/** The field shared by every leaf of an `or`/`and`/`not` tree of `field:value`/`field:*`, if there is one. */
function listField(node: KqlNode): KqlPattern | null {
  let field: KqlPattern | null = null;
  const visit = (current: KqlNode): boolean => {
    switch (current.type) {
      case 'or':
      case 'and':
        return current.children.length >= 2 && current.children.every(visit);
      case 'not':
        return visit(current.child);
      case 'is':
      case 'exists': {
        if (current.field === null) return false;
        if (current.type === 'is' && current.field !== null && isLoneWildcard(current.value)) return false;
        if (field === null) field = current.field;
        return samePattern(field, current.field);
      }
      default:
        return false;
    }
  };
  return visit(node) ? field : null;
}

/** Prints the inside of `field:( … )`: the same tree with values only. */
function printList(node: KqlNode): string {
  switch (node.type) {
    case 'or':
      return node.children
        .map((child) => (child.type === 'or' ? `(${printList(child)})` : printList(child)))
        .join(' or ');
    case 'and':
      return node.children
        .map((child) =>
          child.type === 'or' || child.type === 'and' ? `(${printList(child)})` : printList(child),
        )
        .join(' and ');
    case 'not':
      return node.child.type === 'is' || node.child.type === 'exists'
        ? `not ${printList(node.child)}`
        : `not (${printList(node.child)})`;
    case 'is':
      return printPattern(node.value);
    default:
      return '*';
  }
}

function samePattern(a: KqlPattern, b: KqlPattern): boolean {
  if (a.kind === 'literal' && b.kind === 'literal') return a.value === b.value && a.quoted === b.quoted;
  if (a.kind === 'wildcard' && b.kind === 'wildcard') {
    return a.parts.length === b.parts.length && a.parts.every((part, i) => part === b.parts[i]);
  }
  return false;
}

function printField(field: KqlPattern): string {
  return printPattern(field);
}

function printPattern(pattern: KqlPattern): string {
  if (pattern.kind === 'wildcard') return printUnquoted(pattern.parts);
  return printLiteral(pattern.value, pattern.quoted);
}

function printLiteral(value: string, quoted: boolean): string {
  if (quoted || TRIMMED.test(value)) return printQuoted(value);
  return printUnquoted([value]);
}

/** Paths made of plain characters print unquoted (`user.roles:{…}`); anything else is quoted. */
function isPlainPath(path: string): boolean {
  return /^[\w.@-]+$/.test(path);
}

/** Kibana's `QuotedString`: only `"` and `\` need escaping; line breaks and tabs are escaped for legibility. */
function printQuoted(value: string): string {
  let out = '"';
  for (const char of value) {
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else out += char;
  }
  return `${out}"`;
}

/**
 * Kibana's `UnquotedLiteral`, from the literal text between wildcards. Escapes special characters, line
 * breaks and tabs, and any `or`/`and` the grammar would read as a keyword (whitespace on both sides — or
 * at the end, where the printer may put `" or …"` next) and any `not` followed by whitespace or the end.
 * The only whitespace left raw is the plain space, so "is this whitespace?" is a one-character test.
 */
function printUnquoted(parts: readonly string[]): string {
  // Wildcards are `null` so that the keyword checks see the text around them as the parser will.
  const units: (string | null)[] = [];
  parts.forEach((part, i) => {
    if (i > 0) units.push(null);
    for (let k = 0; k < part.length; k += 1) units.push(part.charAt(k));
  });
  if (units.length === 0) return '\\t'; // An empty unquoted literal: whitespace that Kibana trims away.
  const at = (i: number): string | null | undefined => units[i];
  const word = (i: number, text: string): boolean => {
    for (let k = 0; k < text.length; k += 1) {
      const unit = at(i + k);
      if (typeof unit !== 'string' || unit.toLowerCase() !== text.charAt(k)) return false;
    }
    return true;
  };
  const spaceOrEnd = (i: number): boolean => i >= units.length || at(i) === ' ';
  let out = '';
  for (let i = 0; i < units.length; i += 1) {
    const unit = at(i);
    if (unit === null || unit === undefined) {
      out += '*';
      continue;
    }
    if (isKqlSpecial(unit)) out += `\\${unit}`;
    else if (unit === '\t') out += '\\t';
    else if (unit === '\r') out += '\\r';
    else if (unit === '\n') out += word(i + 1, 'ot') ? '\\u000a' : '\\n';
    else if (unit === '\u00a0') out += '\\u00a0';
    else if (
      (at(i - 1) === ' ' &&
        ((word(i, 'or') && spaceOrEnd(i + 2)) || (word(i, 'and') && spaceOrEnd(i + 3)))) ||
      (word(i, 'not') && spaceOrEnd(i + 3))
    ) {
      out += `\\${unit}`;
    } else out += unit;
  }
  return out;
}
