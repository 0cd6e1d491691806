#!/usr/bin/env node
/**
 * `tsx bin/rules.ts lint [dir]` and `tsx bin/rules.ts test [dir]`: the rule checks CI runs, printed as
 * `file:line: level field: message` so editors and CI annotations link straight to the spot.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Rule } from '../lambda/engine/rules';
import {
  formatProblem,
  lintRules,
  loadRuleDirectory,
  RuleLoadError,
  RuleValidationError,
  runRuleTests,
  testsFileFor,
} from '../lambda/engine/rules';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: tsx bin/rules.ts <lint|test> [dir]

  lint [dir]  validate every rule in dir (default: rules/) and lint it: literals the normalizers cannot
              produce, ATT&CK ids and names, exception expiry, test coverage. Exits 1 on any error.
  test [dir]  run every rule's test events (<id>.tests.yaml) through decode, normalize and the rule.
              Exits 1 on any failure.`;

/** Where the CLI writes; injected so tests can capture it. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => Date;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, dir = path.relative(process.cwd(), path.join(ROOT, 'rules')) || '.', ...rest] = argv;
  if ((command !== 'lint' && command !== 'test') || rest.length > 0) {
    io.err(`${USAGE}\n`);
    return 2;
  }
  const now = io.now?.() ?? new Date();
  const { rules, errors } = await loadRuleDirectory(dir);
  for (const error of errors) {
    if (error instanceof RuleValidationError) {
      for (const problem of error.problems) io.out(`${formatProblem(error.file, problem, 'error')}\n`);
    } else {
      io.out(`${error.file}: error: ${error.message}\n`);
    }
  }
  return command === 'lint' ? lint(rules, errors.length, now, io) : test(rules, errors.length, now, io);
}

function lint(rules: readonly Rule[], loadErrors: number, now: Date, io: CliIo): number {
  const findings = lintRules(rules, { now });
  for (const finding of findings) io.out(`${formatProblem(finding.file, finding, finding.level)}\n`);
  const lintErrors = findings.filter((finding) => finding.level === 'error').length;
  const errors = loadErrors + lintErrors;
  io.out(`${rules.length} rule(s) checked: ${errors} error(s), ${findings.length - lintErrors} warning(s)\n`);
  return errors > 0 ? 1 : 0;
}

async function test(rules: readonly Rule[], loadErrors: number, now: Date, io: CliIo): Promise<number> {
  let passed = 0;
  let failed = loadErrors;
  for (const rule of rules) {
    const file = testsFileFor(rule);
    io.out(`${rule.id} (${path.relative(process.cwd(), file)})\n`);
    let results: Awaited<ReturnType<typeof runRuleTests>>;
    try {
      results = await runRuleTests(rule, file, { now });
    } catch (error) {
      if (error instanceof RuleLoadError || error instanceof RuleValidationError) {
        io.out(`  ✗ ${error.message}\n`);
        failed += 1;
        continue;
      }
      throw error;
    }
    for (const result of results) {
      if (result.passed) {
        passed += 1;
        io.out(`  ✓ ${result.name}\n`);
      } else {
        failed += 1;
        const where =
          result.line === undefined ? '' : ` (${path.relative(process.cwd(), file)}:${result.line})`;
        io.out(
          `  ✗ ${result.name}: ${result.message ?? `expected ${result.expect}, got ${result.actual}`}${where}\n`,
        );
      }
    }
  }
  io.out(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
