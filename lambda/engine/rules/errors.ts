/**
 * Errors of the rules module. A rule that does not validate must fail loudly at load, at synth and in
 * CI, naming the file and the field, so the classes carry what an editor needs to jump to the spot.
 */

/** One thing wrong with a rule file. `field` is a dotted path such as `schedule.interval`. */
export interface RuleProblem {
  readonly field: string;
  readonly message: string;
  /** 0-based offset inside the field's query text, for KQL errors and literals. */
  readonly position?: number;
  /** 1-based line in the YAML file. */
  readonly line?: number;
}

/**
 * Formats a problem the way compilers do (`file:line: [level ]field: message`), so terminals, editors
 * and CI annotations turn it into a link.
 */
export function formatProblem(file: string, problem: RuleProblem, level?: string): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}`;
  const at = problem.position === undefined ? '' : ` (position ${problem.position})`;
  return `${where}: ${level === undefined ? '' : `${level} `}${problem.field || '(document)'}${at}: ${problem.message}`;
}

/**
 * A rule (or rule tests) file that cannot be run. Every problem found is listed, not only the first,
 * so one CI run shows the author everything to fix; `field`, `position` and `line` are the first's.
 */
export class RuleValidationError extends Error {
  readonly file: string;
  readonly field: string;
  readonly position?: number;
  readonly line?: number;
  readonly problems: readonly RuleProblem[];

  constructor(file: string, problems: readonly RuleProblem[], options?: ErrorOptions) {
    const [first, ...rest] = problems;
    if (first === undefined) throw new TypeError('RuleValidationError needs at least one problem');
    const header =
      rest.length === 0
        ? `Invalid rule file ${file}`
        : `Invalid rule file ${file} (${problems.length} problems)`;
    super(
      `${header}:\n${problems.map((problem) => `  ${formatProblem(file, problem)}`).join('\n')}`,
      options,
    );
    this.name = 'RuleValidationError';
    this.file = file;
    this.field = first.field;
    if (first.position !== undefined) this.position = first.position;
    if (first.line !== undefined) this.line = first.line;
    this.problems = problems;
  }
}

/** A rule file or folder that cannot be read: an I/O failure, not a mistake in the rule. */
export class RuleLoadError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`Cannot load ${file}: ${message}`, options);
    this.name = 'RuleLoadError';
    this.file = file;
  }
}
