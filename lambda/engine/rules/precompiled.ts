/**
 * Rules precompiled at bundle time: the plain documents the rule files' YAML parses to, written as JSON
 * (`rules.json`) beside the detect function by the stack. Loading them validates and compiles each
 * document with the same `compileRule` as the YAML loader, so a rule means the same either way, but
 * without the YAML parser, which was 40% of the function's bundle and a share of its cold start.
 *
 * Import this file directly, not the module's index: the index also exports the YAML loader.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RuleProblem } from './errors';
import { RuleLoadError, RuleValidationError } from './errors';
import type { RuleDirectory, RuleSource } from './rule-set';
import { collectRules, everyRule } from './rule-set';
import type { Rule } from './schema';
import { compileRule, describe, fieldPath } from './schema';

/** The precompiled rules' file name inside the rules folder (`RULES_DIR`). */
export const PRECOMPILED_RULES_FILE = 'rules.json';

/** One rule file, precompiled. */
export interface RuleDocument {
  /** The rule file's name inside the rules folder (`x.yaml`): the rule's file, and its id when it has none. */
  readonly file: string;
  /** What the file's YAML parses to (seed shape flattened), before validation. */
  readonly document: unknown;
}

/** The text of `rules.json`: a list of `{file, document}`, in file-name order. */
export function serializeRuleDocuments(documents: readonly RuleDocument[]): string {
  return `${JSON.stringify(documents, null, 2)}\n`;
}

/** A rule file's name inside the folder: no folders, no way out of it. */
const FILE_NAME = /^[^/\\]+\.ya?ml$/;

/**
 * Validates and compiles precompiled documents as `loadRuleDirectory` does the files they came from:
 * every bad document is reported, and a repeated id is an error on the later one. `source` is the JSON
 * file: a list that is not `[{file, document}]` fails as a whole, naming it and the field path
 * (`[0].file`); a document that does not validate is reported as `<file> in <source>` with its field
 * paths (there are no YAML lines). A rule's `file` is its YAML file beside `source`, as loading that
 * folder's YAML would give.
 */
export function compileRuleDocuments(value: unknown, source: string): RuleDirectory {
  const problems: RuleProblem[] = [];
  const entries: RuleDocument[] = [];
  if (!Array.isArray(value)) {
    problems.push({ field: '', message: `must be a list of {file, document}, not ${describe(value)}` });
  } else {
    value.forEach((entry: unknown, index) => {
      const at = fieldPath('', index);
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        problems.push({
          field: at,
          message: `must be a mapping with file and document, not ${describe(entry)}`,
        });
        return;
      }
      for (const key of Object.keys(entry)) {
        if (key !== 'file' && key !== 'document') {
          problems.push({
            field: fieldPath(at, key),
            message: `unknown field "${key}"; an entry has file and document`,
          });
        }
      }
      const { file, document } = entry as { file?: unknown; document?: unknown };
      if (typeof file !== 'string' || !FILE_NAME.test(file)) {
        problems.push({
          field: fieldPath(at, 'file'),
          message: `must be a rule file's name (x.yaml), not ${describe(file)}`,
        });
      } else if (document === undefined) {
        problems.push({ field: fieldPath(at, 'document'), message: 'is required' });
      } else {
        entries.push({ file, document });
      }
    });
  }
  if (problems.length > 0) return { rules: [], errors: [new RuleValidationError(source, problems)] };

  const folder = path.dirname(source);
  return collectRules(
    entries.map(({ file, document }): RuleSource => {
      const label = `${file} in ${source}`;
      return {
        file: label,
        compile: () => {
          try {
            return compileRule(document, path.join(folder, file));
          } catch (error) {
            if (!(error instanceof RuleValidationError)) throw error;
            throw new RuleValidationError(label, error.problems, { cause: error });
          }
        },
      };
    }),
  );
}

/**
 * Reads `rules.json` and compiles every rule in it; any bad document fails the whole load, like
 * `loadRules`. A missing or unreadable file is a `RuleLoadError`, bad JSON a `RuleValidationError`.
 */
export async function loadPrecompiledRules(file: string): Promise<Rule[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RuleLoadError(
      file,
      `${message} (the stack writes it when it bundles the function; elsewhere, write it with precompileRuleDirectory)`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RuleValidationError(
      file,
      [{ field: '', message: `is not JSON: ${error instanceof Error ? error.message : String(error)}` }],
      { cause: error },
    );
  }
  return everyRule(compileRuleDocuments(value, file));
}
