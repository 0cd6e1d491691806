/**
 * Runs a rule against the raw vendor events in its tests file, through the same decode → normalize →
 * predicate path as production, so a passing test says the rule fires on the bytes a cloud sends and
 * not merely on a hand-made normalized document.
 */
import { readFile } from 'node:fs/promises';
import type { SourceName } from '../ecs';
import { normalize, recordsFromDocument } from '../normalizers';
import type { RuleProblem } from './errors';
import { RuleLoadError, RuleValidationError } from './errors';
import { parseLocatedYaml } from './loader';
import type { Rule } from './schema';
import { activeExceptions } from './schema';

/** What a test expects; `suppressed` means the rule matches but an active exception silences it. */
export const TEST_EXPECTATIONS = ['match', 'no_match', 'suppressed'] as const;
export type TestExpectation = (typeof TEST_EXPECTATIONS)[number];

export interface RuleTestCase {
  readonly name: string;
  readonly expect: TestExpectation;
  /** The raw vendor event (or a document holding several records), exactly as the cloud sends it. */
  readonly event: unknown;
  readonly line?: number;
}

export interface RuleTestsFile {
  readonly file: string;
  readonly rule: string;
  readonly tests: readonly RuleTestCase[];
}

/** `error` when the event could not be decoded or normalized. */
export type RuleTestOutcome = TestExpectation | 'error';

export interface RuleTestResult {
  readonly name: string;
  readonly expect: TestExpectation;
  readonly actual: RuleTestOutcome;
  readonly passed: boolean;
  /** Sources the event's records decoded as. */
  readonly sources: readonly SourceName[];
  /** Exceptions that suppressed a match. */
  readonly exceptions: readonly string[];
  readonly message?: string;
  readonly line?: number;
}

export interface RunRuleTestsOptions {
  /** Exceptions expire against this clock. @default new Date() */
  readonly now?: Date;
}

/** The tests file that belongs to a rule file: `x.yaml` → `x.tests.yaml`, beside it. */
export function testsFileFor(rule: Pick<Rule, 'file'>): string {
  return rule.file.replace(/\.ya?ml$/i, '.tests.yaml');
}

/** Parses and validates a tests file; throws `RuleValidationError` listing every problem. */
export function parseRuleTests(text: string, file: string): RuleTestsFile {
  const { value, locate } = parseLocatedYaml(text, file, new Set());
  const problems: RuleProblem[] = [];
  const add = (field: string, message: string): void => {
    const line = locate(field);
    problems.push({ field, message, ...(line === undefined ? {} : { line }) });
  };
  const tests: RuleTestCase[] = [];
  let rule: string | undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    add('', 'a tests file must be a mapping with rule and tests');
  } else {
    const root = value as Record<string, unknown>;
    for (const key of Object.keys(root)) {
      if (key !== 'rule' && key !== 'tests') {
        add(key, `unknown field "${key}"; a tests file has rule and tests`);
      }
    }
    if (typeof root.rule === 'string' && root.rule !== '') rule = root.rule;
    else add('rule', 'must be the id of the rule under test');
    if (!Array.isArray(root.tests) || root.tests.length === 0) {
      add('tests', 'must be a non-empty list of tests');
    }
    const names = new Set<string>();
    (Array.isArray(root.tests) ? root.tests : []).forEach((entry: unknown, index) => {
      const path = `tests[${index}]`;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        add(path, 'must be a mapping with name, expect and event');
        return;
      }
      const test = entry as Record<string, unknown>;
      for (const key of Object.keys(test)) {
        if (!['name', 'expect', 'event'].includes(key)) add(`${path}.${key}`, `unknown field "${key}"`);
      }
      const name = typeof test.name === 'string' && test.name !== '' ? test.name : undefined;
      if (name === undefined) add(`${path}.name`, 'is required');
      else if (names.has(name)) add(`${path}.name`, `duplicate test name "${name}"`);
      else names.add(name);
      const expect = TEST_EXPECTATIONS.find((candidate) => candidate === test.expect);
      if (expect === undefined) add(`${path}.expect`, `must be one of ${TEST_EXPECTATIONS.join(', ')}`);
      if (test.event === null || typeof test.event !== 'object') {
        add(`${path}.event`, 'must be the raw event');
      }
      if (
        name !== undefined &&
        expect !== undefined &&
        test.event !== null &&
        typeof test.event === 'object'
      ) {
        const line = locate(path);
        tests.push({ name, expect, event: test.event, ...(line === undefined ? {} : { line }) });
      }
    });
  }
  if (problems.length > 0 || rule === undefined) {
    throw new RuleValidationError(
      file,
      problems.length > 0 ? problems : [{ field: 'rule', message: 'is required' }],
    );
  }
  return { file, rule, tests };
}

/** Reads a tests file; a missing or unreadable file is a `RuleLoadError`. */
export async function loadRuleTests(file: string): Promise<RuleTestsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RuleLoadError(file, error instanceof Error ? error.message : String(error), { cause: error });
  }
  return parseRuleTests(text, file);
}

/**
 * Decides one test: every record the event decodes to is normalized and, if its source is one the
 * rule reads, evaluated. An unsuppressed match anywhere makes the outcome `match`; a match that only
 * active exceptions silence makes it `suppressed`.
 */
export function runRuleTest(rule: Rule, test: RuleTestCase, now: Date): RuleTestResult {
  const exceptions = activeExceptions(rule, now);
  const sources = new Set<SourceName>();
  const suppressedBy = new Set<string>();
  let matched = false;
  let suppressed = false;
  let records = 0;
  const result = (actual: RuleTestOutcome, message?: string): RuleTestResult => ({
    name: test.name,
    expect: test.expect,
    actual,
    passed: actual === test.expect,
    sources: [...sources],
    exceptions: [...suppressedBy],
    ...(message === undefined ? {} : { message }),
    ...(test.line === undefined ? {} : { line: test.line }),
  });
  try {
    for (const decoded of recordsFromDocument(test.event)) {
      if ('error' in decoded) {
        return result('error', `record ${decoded.index}: ${describeError(decoded.error)}`);
      }
      records += 1;
      sources.add(decoded.source);
      if (!rule.sources.includes(decoded.source)) continue;
      const { doc } = normalize(decoded.source, decoded.record);
      if (!rule.predicate(doc)) continue;
      const silencing = exceptions.filter((exception) => exception.predicate(doc));
      if (silencing.length === 0) matched = true;
      else {
        suppressed = true;
        for (const exception of silencing) suppressedBy.add(exception.id);
      }
    }
  } catch (error) {
    return result('error', describeError(error));
  }
  if (records === 0) return result('error', 'the event decodes to no records');
  const actual: TestExpectation = matched ? 'match' : suppressed ? 'suppressed' : 'no_match';
  return result(actual, actual === test.expect ? undefined : `expected ${test.expect}, got ${actual}`);
}

/** Runs every test of a rule's tests file. Throws if the file is missing, invalid or for another rule. */
export async function runRuleTests(
  rule: Rule,
  testsFilePath: string = testsFileFor(rule),
  options: RunRuleTestsOptions = {},
): Promise<RuleTestResult[]> {
  const testsFile = await loadRuleTests(testsFilePath);
  if (testsFile.rule !== rule.id) {
    throw new RuleValidationError(testsFilePath, [
      { field: 'rule', message: `names rule "${testsFile.rule}", but it is run against "${rule.id}"` },
    ]);
  }
  const now = options.now ?? new Date();
  return testsFile.tests.map((test) => runRuleTest(rule, test, now));
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
