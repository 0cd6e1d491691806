/**
 * The KQL lexer: reads one token at a given offset, on the parser's demand.
 *
 * Kibana's grammar (`kbn-es-query/src/kuery/grammar/grammar.peggy`) is scannerless, and its tokens depend
 * on context, so they cannot be cut up front:
 * - whitespace *inside* an unquoted literal belongs to it: `foo bar` is the one free-text value `foo bar`,
 *   and `a b:c` is field `a b` (Kibana trims the ends of an unquoted literal, nothing else);
 * - `or`/`and` are keywords only with whitespace on both sides (`a or b`), and `not` whenever whitespace
 *   follows it, even mid-word: in Kibana `cannot x` is a syntax error (the literal stops before `not `);
 * - `null`, `true` and `false` are not special for us: Elasticsearch keyword fields compare them as the
 *   strings they are. (Kibana turns an unquoted `null` *field* into "no field"; we keep a field named
 *   `null`.)
 * So the parser asks for the token it expects at an offset, and the lexer answers with a token or `null`.
 */

/** What a token is. */
export type KqlTokenType = 'space' | 'punctuation' | 'operator' | 'keyword' | 'quoted' | 'unquoted';

/** One token of the query; `value` is decoded (escapes resolved, keywords lower-cased). */
export interface KqlToken {
  readonly type: KqlTokenType;
  readonly value: string;
  /** Offset of the first character (UTF-16 code units). */
  readonly start: number;
  /** Offset after the last character consumed, including whitespace an unquoted literal swallowed. */
  readonly end: number;
}

/** A quoted or unquoted literal: a field name, a value, a nested path or a range bound. */
export interface KqlLiteralToken extends KqlToken {
  readonly type: 'quoted' | 'unquoted';
  /**
   * The decoded text between unescaped `*` wildcards, after trimming. One part means no wildcard (always
   * the case when quoted); `value` is `parts.join('*')`.
   */
  readonly parts: readonly string[];
  /** Span of the value proper: quotes included, the whitespace Kibana trims excluded. */
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** Kibana's `SpecialCharacter`: these end an unquoted literal unless escaped with `\`. */
const SPECIAL_CHARACTERS = '\\():<>"*{}';

/** Kibana's `Space`: the only characters that separate tokens. */
export function isKqlSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\r' || char === '\n' || char === '\u00a0';
}

/** Whether `char` must be escaped inside an unquoted literal. */
export function isKqlSpecial(char: string | undefined): boolean {
  return char !== undefined && char.length === 1 && SPECIAL_CHARACTERS.includes(char);
}

const HEX = /^[0-9a-f]{4}$/i;
/** JavaScript's `trim` set (WhiteSpace and LineTerminator), which is what Kibana trims literals with. */
const TRIMMED = /^\s$/;
const ESCAPED_WHITESPACE: Readonly<Record<string, string>> = { t: '\t', r: '\r', n: '\n' };
const KEYWORDS = ['or', 'and', 'not'] as const;

/** A decoded character of an unquoted literal with its raw offsets; `null` char marks an unescaped `*`. */
interface Unit {
  readonly char: string | null;
  readonly start: number;
  readonly end: number;
}

/**
 * Reads tokens of one query at offsets the parser asks for. Literal tokens are memoised per offset, as
 * Kibana's peggy parser memoises its rules (`cache: true`), so backtracking never rescans a literal.
 */
export class KqlLexer {
  readonly source: string;
  /**
   * Every offset at which anyone asked "is there whitespace here?". Kibana's memoising parser records a
   * failed expectation only the first time a rule runs at an offset, so the parser consults this set to
   * report the same `expected` list as Kibana (e.g. no `whitespace` after `foo:ba` in `foo:ba:r`).
   */
  readonly spaceProbes = new Set<number>();
  private readonly literals = new Map<number, KqlLiteralToken | null>();

  constructor(source: string) {
    this.source = source;
  }

  /** A single whitespace character at `pos`. */
  space(pos: number): KqlToken | null {
    this.spaceProbes.add(pos);
    const char = this.source[pos];
    return isKqlSpace(char) ? { type: 'space', value: char as string, start: pos, end: pos + 1 } : null;
  }

  /** The exact punctuation (or operator) `text` at `pos`. */
  punctuation(pos: number, text: string): KqlToken | null {
    if (!this.source.startsWith(text, pos)) return null;
    return {
      type: text.length === 1 && '(){}:'.includes(text) ? 'punctuation' : 'operator',
      value: text,
      start: pos,
      end: pos + text.length,
    };
  }

  /** The keyword `word` (case-insensitive) at `pos`, without the whitespace around it. */
  keyword(pos: number, word: (typeof KEYWORDS)[number]): KqlToken | null {
    if (this.source.slice(pos, pos + word.length).toLowerCase() !== word) return null;
    return { type: 'keyword', value: word, start: pos, end: pos + word.length };
  }

  /** Kibana's `Literal`: a quoted string, else an unquoted literal. */
  literal(pos: number): KqlLiteralToken | null {
    const cached = this.literals.get(pos);
    if (cached !== undefined) return cached;
    const token = this.quoted(pos) ?? this.unquoted(pos);
    this.literals.set(pos, token);
    return token;
  }

  /**
   * Kibana's `QuotedString`: `"…"` with escapes `\"`, `\\`, `\t`, `\r`, `\n` and `\uXXXX`; any other
   * backslash is a literal backslash, and raw line breaks are allowed. No wildcards inside quotes.
   */
  private quoted(pos: number): KqlLiteralToken | null {
    const src = this.source;
    if (src[pos] !== '"') return null;
    let value = '';
    let i = pos + 1;
    for (;;) {
      const char = src[i];
      if (char === undefined) return null;
      if (char === '"') break;
      if (char === '\\') {
        const next = src[i + 1];
        const whitespace = next === undefined ? undefined : ESCAPED_WHITESPACE[next];
        if (whitespace !== undefined) {
          value += whitespace;
          i += 2;
          continue;
        }
        const unicode = this.unicodeEscape(i);
        if (unicode !== null) {
          value += unicode;
          i += 6;
          continue;
        }
        if (next === '\\' || next === '"') {
          value += next;
          i += 2;
          continue;
        }
      }
      value += char;
      i += 1;
    }
    const end = i + 1;
    return { type: 'quoted', value, parts: [value], start: pos, end, valueStart: pos, valueEnd: end };
  }

  /**
   * Kibana's `UnquotedLiteral`: one or more unquoted characters — escapes (`\t \r \n`, `\` + a special
   * character, `\uXXXX`, `\or \and \not`), unescaped `*` (a wildcard), or any character that is neither
   * special nor the start of a keyword — trimmed at both ends.
   */
  private unquoted(pos: number): KqlLiteralToken | null {
    const src = this.source;
    const units: Unit[] = [];
    let i = pos;
    for (;;) {
      const char = src[i];
      if (char === '\\') {
        const escaped = this.escape(i);
        if (escaped === null) break;
        units.push({ char: escaped.char, start: i, end: escaped.end });
        i = escaped.end;
        continue;
      }
      if (char === '*') {
        units.push({ char: null, start: i, end: i + 1 });
        i += 1;
        continue;
      }
      if (isKqlSpecial(char) || this.keywordAhead(i) || char === undefined) break;
      units.push({ char, start: i, end: i + 1 });
      i += 1;
    }
    if (units.length === 0) return null;

    let first = 0;
    let last = units.length - 1;
    while (first <= last && isTrimmed(units[first] as Unit)) first += 1;
    while (last >= first && isTrimmed(units[last] as Unit)) last -= 1;
    const parts: string[] = [''];
    for (let k = first; k <= last; k += 1) {
      const unit = units[k] as Unit;
      if (unit.char === null) parts.push('');
      else parts[parts.length - 1] += unit.char;
    }
    const valueStart = first <= last ? (units[first] as Unit).start : pos;
    const valueEnd = first <= last ? (units[last] as Unit).end : pos;
    return { type: 'unquoted', value: parts.join('*'), parts, start: pos, end: i, valueStart, valueEnd };
  }

  /**
   * Kibana's `Keyword` lookahead at `i` (` or `, ` and `, `not `): an unquoted literal stops before it. The
   * whitespace checks go through `space` so they count as probes, as they do in Kibana's parser.
   */
  private keywordAhead(i: number): boolean {
    if (this.space(i) !== null) {
      if (this.keyword(i + 1, 'or') !== null && this.space(i + 3) !== null) return true;
      if (this.keyword(i + 1, 'and') !== null && this.space(i + 4) !== null) return true;
    }
    return this.keyword(i, 'not') !== null && this.space(i + 3) !== null;
  }

  /**
   * A backslash escape in an unquoted literal at `i` (which holds the backslash), or `null` when the
   * backslash escapes nothing (a syntax error, reported by the parser).
   *
   * Deviation from Kibana, on purpose: Kibana tries `\n` (newline) before the escaped keyword `\not`, so
   * its own `escapeKuery('not x')` output, `\not x`, reads back as newline + `ot x`. We read `\not` as the
   * keyword when it is followed by whitespace, a special character or the end — exactly the places where
   * `not` needs escaping — and keep Kibana's newline elsewhere (`\nothing` is newline + `othing`).
   */
  private escape(i: number): { char: string; end: number } | null {
    const src = this.source;
    const next = src[i + 1];
    if (next === 'n' && this.keyword(i + 1, 'not') !== null) {
      const after = src[i + 4];
      if (after === undefined || isKqlSpace(after) || isKqlSpecial(after)) {
        return { char: src.slice(i + 1, i + 4), end: i + 4 };
      }
    }
    const whitespace = next === undefined ? undefined : ESCAPED_WHITESPACE[next];
    if (whitespace !== undefined) return { char: whitespace, end: i + 2 };
    if (isKqlSpecial(next)) return { char: next as string, end: i + 2 };
    const unicode = this.unicodeEscape(i);
    if (unicode !== null) return { char: unicode, end: i + 6 };
    for (const word of KEYWORDS) {
      const keyword = this.keyword(i + 1, word);
      if (keyword !== null) return { char: src.slice(i + 1, keyword.end), end: keyword.end };
    }
    return null;
  }

  /** `\uXXXX` at `i` (the backslash), decoded. */
  private unicodeEscape(i: number): string | null {
    if (this.source[i + 1] !== 'u') return null;
    const digits = this.source.slice(i + 2, i + 6);
    return HEX.test(digits) ? String.fromCharCode(Number.parseInt(digits, 16)) : null;
  }
}

function isTrimmed(unit: Unit): boolean {
  return unit.char !== null && TRIMMED.test(unit.char);
}
