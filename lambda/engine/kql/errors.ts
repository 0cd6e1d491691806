/**
 * Errors of the KQL engine. Rule loading, the rule lint and the CLI catch these by class, so each one
 * carries what a caller needs to point at the problem without re-parsing anything.
 */

/** Extra detail a {@link KqlSyntaxError} can carry besides its message. */
export interface KqlSyntaxErrorOptions {
  /** What the parser would have accepted at `position`, in Kibana's wording (`"("`, `value`, `whitespace`). */
  readonly expected?: readonly string[];
  /** The character found at `position`, or `null` at the end of the query. */
  readonly found?: string | null;
  /** The error this one wraps, if any. */
  readonly cause?: unknown;
}

/**
 * Thrown by `parseKql` (and `compileKql` given a string) for any query it cannot parse, and for nothing
 * else. The message reads like Kibana's so analysts recognise it, and shows the offending line with a caret
 * under the offending character; `position` lets editors and the rule lint underline it without parsing
 * the message.
 */
export class KqlSyntaxError extends Error {
  override readonly name = 'KqlSyntaxError';
  /** 0-based offset (UTF-16 code units) into `query` of the character the parser could not accept. */
  readonly position: number;
  /** The query as given, so the error can be reported far from where it was parsed. */
  readonly query: string;
  /** 1-based line of `position`, for rules stored as multi-line YAML. */
  readonly line: number;
  /** 1-based column of `position` within `line`. */
  readonly column: number;
  /** The first line of the message alone, without the query and caret lines. */
  readonly shortMessage: string;
  /** What the parser would have accepted at `position` (sorted, Kibana's wording); empty when not applicable. */
  readonly expected: readonly string[];
  /** The character found at `position`, or `null` at the end of the query. */
  readonly found: string | null;

  constructor(shortMessage: string, query: string, position: number, options: KqlSyntaxErrorOptions = {}) {
    const at = Math.max(0, Math.min(position, query.length));
    const { line, column, text } = locate(query, at);
    const caret = `${'-'.repeat(column - 1)}^`;
    super(
      [shortMessage, text, caret].join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.position = at;
    this.query = query;
    this.line = line;
    this.column = column;
    this.shortMessage = shortMessage;
    this.expected = options.expected ?? [];
    this.found = options.found === undefined ? (at < query.length ? query.charAt(at) : null) : options.found;
  }
}

/**
 * Thrown by `compileKql` and `printKql` when handed something that is not a KQL AST (for example an AST
 * read from a stale cache or built by hand in JavaScript). Parsed ASTs never cause it.
 */
export class KqlAstError extends Error {
  override readonly name = 'KqlAstError';
  /** The offending value, for logging. */
  readonly node: unknown;

  constructor(message: string, node: unknown, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.node = node;
  }
}

/** The line holding `position` (without its line break), and the 1-based line and column of `position`. */
function locate(query: string, position: number): { line: number; column: number; text: string } {
  // lastIndexOf clamps a negative start to 0, which would find a newline *at* position 0.
  const lineStart = position === 0 ? 0 : query.lastIndexOf('\n', position - 1) + 1;
  const newline = query.indexOf('\n', position);
  const raw = query.slice(lineStart, newline === -1 ? query.length : newline);
  // A CRLF file shows the line without its CR; the caret column is unaffected.
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  let line = 1;
  for (let i = query.indexOf('\n'); i !== -1 && i < lineStart; i = query.indexOf('\n', i + 1)) line += 1;
  return { line, column: position - lineStart + 1, text };
}
