import { stringAt } from './fields';

/** A containment command with the event's identifiers filled in: shown to the analyst, never run. */
export interface FilledCommand {
  readonly cloud: string;
  readonly command: string;
  /** Placeholders the event had no value for; the command shows them as `<field.path>`. */
  readonly missing: readonly string[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_@.]+)\s*\}\}/g;

/**
 * Fills `{{field.path}}` placeholders from the normalized event. Every value is quoted for a POSIX
 * shell, because user names, role names and resource names come from the log and an attacker picks
 * them: pasted into a terminal, a filled command must run exactly one command with literal arguments.
 */
export function fillCommand(template: string, doc: unknown): { command: string; missing: string[] } {
  const missing: string[] = [];
  const command = template.replace(PLACEHOLDER, (_match, path: string) => {
    const value = stringAt(doc, path);
    if (value === undefined || value === '') {
      missing.push(path);
      return `<${path}>`;
    }
    return shellQuote(value);
  });
  return { command, missing };
}

/** Values made only of characters no shell treats specially stay bare, for readability. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for POSIX shells. Control and format characters, line and paragraph separators and
 * lone surrogates are made visible, not passed through: a shell would take them literally, but the
 * terminal or mail reader showing the command would not (U+2028 starts a new line in some readers, so a
 * user name could forge one under the command).
 */
export function shellQuote(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  const visible = value.replace(
    /\p{Cc}|\p{Cf}|\p{Cs}|\u2028|\u2029/gu,
    (char) => `\\u{${char.codePointAt(0)?.toString(16)}}`,
  );
  return `'${visible.replace(/'/g, `'\\''`)}'`;
}
