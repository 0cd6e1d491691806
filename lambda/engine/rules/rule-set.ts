/**
 * What every way of loading rules shares once each file is read: compile them one by one, report every
 * bad file rather than stopping at the first, and reject a repeated id. Knows nothing of YAML, so the
 * detect Lambda's precompiled rules go through it without the YAML parser.
 */
import { RuleLoadError, RuleValidationError } from './errors';
import type { Rule } from './schema';

/** Everything a set of rule files yields: the rules that load, and an error for each file that does not. */
export interface RuleDirectory {
  readonly rules: Rule[];
  readonly errors: Array<RuleValidationError | RuleLoadError>;
}

/** One rule file to compile. */
export interface RuleSource {
  /** Names the file in errors about it (a duplicate id). */
  readonly file: string;
  /** Validates and compiles it; throws `RuleValidationError` or `RuleLoadError` for a bad file. */
  readonly compile: () => Rule;
}

/**
 * Compiles every source in order, collecting one error per bad file; a repeated id is an error on the
 * later file. Any other exception is a bug and propagates.
 */
export function collectRules(sources: Iterable<RuleSource>): RuleDirectory {
  const rules: Rule[] = [];
  const errors: Array<RuleValidationError | RuleLoadError> = [];
  const byId = new Map<string, Rule>();
  for (const source of sources) {
    try {
      const rule = source.compile();
      const earlier = byId.get(rule.id);
      if (earlier) {
        const line = rule.locate('id');
        throw new RuleValidationError(source.file, [
          {
            field: 'id',
            message: `duplicate rule id "${rule.id}": ${earlier.file} has it too`,
            ...(line === undefined ? {} : { line }),
          },
        ]);
      }
      byId.set(rule.id, rule);
      rules.push(rule);
    } catch (error) {
      if (error instanceof RuleValidationError || error instanceof RuleLoadError) errors.push(error);
      else throw error;
    }
  }
  return { rules, errors };
}

/**
 * The rules, or the first error (in file order) when any file is bad: a detector running with a rule
 * silently missing is worse than none.
 */
export function everyRule(directory: RuleDirectory): Rule[] {
  const [first] = directory.errors;
  if (first) throw first;
  return directory.rules;
}
