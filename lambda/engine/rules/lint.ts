/**
 * Rule lint: what a loaded rule can still get wrong. A literal no normalizer can produce makes a rule
 * that silently matches nothing (the seed's own query would, on Elastic's vocabulary), a wrong ATT&CK
 * mapping misroutes triage, and an expired exception quietly stops applying; CI should say so.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SourceName } from '../ecs';
import type { KqlIsNode, KqlNode, KqlPattern } from '../kql';
import { walkKql } from '../kql';
import type { FieldDomain } from '../normalizers';
import { producibleActions, producibleValues, recordsFromDocument } from '../normalizers';
import { ATTACK_TACTICS, attackTechnique, TECHNIQUE_ID } from './attack';
import { RuleValidationError } from './errors';
import type { Rule } from './schema';
import { globRegExp, idFromFile, isExpired, RUNBOOK_PHASES } from './schema';
import { hint } from './suggest';
import { parseRuleTests, testsFileFor } from './test-runner';

export interface LintFinding {
  readonly level: 'error' | 'warning';
  readonly ruleId: string;
  readonly file: string;
  /** Dotted path of the field at fault, e.g. `query` or `exceptions[0].expires`. */
  readonly field: string;
  readonly message: string;
  /** 0-based offset inside the field's query text. */
  readonly position?: number;
  /** 1-based line in the rule (or tests) file, when known. */
  readonly line?: number;
}

export interface LintOptions {
  /** Exceptions expire against this clock. */
  readonly now: Date;
  /** Warn about exceptions expiring within this many days. @default 14 */
  readonly expiryWarningDays?: number;
}

const DAY_MS = 86_400_000;

/** Lints rules together (so duplicate ids across files are caught); findings are in rule order. */
export function lintRules(rules: readonly Rule[], opts: LintOptions): LintFinding[] {
  const findings: LintFinding[] = [];
  const seen = new Map<string, Rule>();
  for (const rule of rules) {
    const report = (level: LintFinding['level'], field: string, message: string, position?: number): void => {
      const line = rule.locate(field, position);
      findings.push({
        level,
        ruleId: rule.id,
        file: rule.file,
        field,
        message,
        ...(position === undefined ? {} : { position }),
        ...(line === undefined ? {} : { line }),
      });
    };
    const earlier = seen.get(rule.id);
    if (earlier) report('error', 'id', `duplicate rule id "${rule.id}": ${earlier.file} has it too`);
    else seen.set(rule.id, rule);
    const expectedId = idFromFile(rule.file);
    if (rule.id !== expectedId) {
      report('error', 'id', `rule id "${rule.id}" does not match its file name (expected "${expectedId}")`);
    }
    lintThreat(rule, report);
    lintLiterals(rule, report);
    lintExceptions(rule, opts, report);
    lintTestsFile(rule, findings);
  }
  return findings;
}

type Report = (level: LintFinding['level'], field: string, message: string, position?: number) => void;

function lintThreat(rule: Rule, report: Report): void {
  rule.threat.forEach((entry, index) => {
    const path = `threat[${index}]`;
    const technique = attackTechnique(entry.id);
    if (!technique) {
      report('error', `${path}.id`, `${entry.id} is not a known ATT&CK technique`);
      return;
    }
    if (entry.name !== technique.name && entry.name !== technique.fullName) {
      report('error', `${path}.name`, `"${entry.name}" is not the name of ${entry.id}: "${technique.name}"`);
    }
    entry.tactics.forEach((tactic, tacticIndex) => {
      const field = `${path}.tactics[${tacticIndex}]`;
      if (!ATTACK_TACTICS.has(tactic)) {
        report('error', field, `"${tactic}" is not an ATT&CK tactic.${hint(tactic, ATTACK_TACTICS.keys())}`);
      } else if (!technique.tactics.includes(tactic)) {
        report(
          'error',
          field,
          `${entry.id} does not serve ${tactic} (it serves ${technique.tactics.join(', ')})`,
        );
      }
    });
  });
  rule.tags.forEach((tag, index) => {
    if (TECHNIQUE_ID.test(tag) && !attackTechnique(tag)) {
      report('error', `tags[${index}]`, `${tag} is not a known ATT&CK technique`);
    }
  });
}

/** Every KQL text of the rule, with the field path that holds it. */
function queriesOf(rule: Rule): Array<{ field: string; ast: KqlNode }> {
  const queries = [{ field: 'query', ast: rule.ast }];
  rule.exceptions.forEach((exception, index) => {
    queries.push({ field: `exceptions[${index}].query`, ast: exception.ast });
  });
  for (const phase of RUNBOOK_PHASES) {
    rule.runbook[phase].forEach((step, stepIndex) => {
      step.commands.forEach((command, commandIndex) => {
        if (command.whenAst) {
          queries.push({
            field: `runbook.${phase}[${stepIndex}].commands[${commandIndex}].when`,
            ast: command.whenAst,
          });
        }
      });
    });
  }
  return queries;
}

interface Leaf {
  readonly node: KqlIsNode;
  readonly field: string;
  readonly value: KqlPattern;
  /** Root first, the leaf's parent last. */
  readonly ancestors: readonly KqlNode[];
}

/** Every `field:value` comparison with a literal field, with the chain of nodes above it. */
function collectLeaves(ast: KqlNode): Leaf[] {
  const leaves: Leaf[] = [];
  const ancestors: KqlNode[] = [];
  walkKql(ast, {
    enter: (node, context) => {
      if (node.type === 'is' && node.field?.kind === 'literal') {
        const field =
          context.nestedPath === null ? node.field.value : `${context.nestedPath}.${node.field.value}`;
        leaves.push({ node, field, value: node.value, ancestors: [...ancestors] });
      }
      ancestors.push(node);
      return undefined;
    },
    leave: () => {
      ancestors.pop();
    },
  });
  return leaves;
}

/**
 * Whether two leaves must hold together: their lowest common ancestor is an `and`, and `a` is not
 * negated below it (a negated provider does not narrow which actions can occur).
 */
function conjoined(a: Leaf, b: Leaf): boolean {
  let depth = 0;
  while (depth < a.ancestors.length && a.ancestors[depth] === b.ancestors[depth]) depth += 1;
  const lca = a.ancestors[depth - 1];
  if (lca?.type !== 'and') return false;
  return !a.ancestors.slice(depth).some((node) => node.type === 'not');
}

/**
 * Whether a literal can be produced. A wildcard against a domain with open patterns cannot be decided
 * (two regular languages may intersect), so it is given the benefit of the doubt.
 */
function producible(domain: FieldDomain, pattern: KqlPattern): boolean {
  if (pattern.kind === 'literal') {
    return domain.values.has(pattern.value) || domain.patterns.some((p) => p.test(pattern.value));
  }
  const regex = globRegExp(pattern.parts);
  return [...domain.values].some((value) => regex.test(value)) || domain.patterns.length > 0;
}

function shown(pattern: KqlPattern): string {
  return pattern.kind === 'literal' ? `"${pattern.value}"` : pattern.value;
}

function lintLiterals(rule: Rule, report: Report): void {
  for (const { field: queryField, ast } of queriesOf(rule)) {
    const leaves = collectLeaves(ast);
    for (const leaf of leaves) {
      const domain = producibleValues(leaf.field);
      if (domain && !producible(domain, leaf.value)) {
        report(
          'error',
          queryField,
          `${leaf.field} ${shown(leaf.value)} can never occur: no normalizer produces it (${domain.description}).` +
            hint(leaf.value.value, domain.values),
          leaf.node.start,
        );
        continue;
      }
      if (leaf.field !== 'event.action') continue;
      const providers = leaves.filter((other) => other.field === 'event.provider' && conjoined(other, leaf));
      if (providers.length === 0 || providers.some((provider) => provider.value.kind !== 'literal')) continue;
      const domains = providers.map((provider) => producibleActions(provider.value.value));
      if (domains.some((actions) => actions === undefined)) continue;
      const known = domains.filter((actions): actions is FieldDomain => actions !== undefined);
      if (known.some((actions) => producible(actions, leaf.value))) continue;
      const names = providers.map((provider) => `"${provider.value.value}"`).join(' or ');
      report(
        'error',
        queryField,
        `event.action ${shown(leaf.value)} can never occur with event.provider ${names}: ` +
          `it is not in the catalog's action list.${hint(
            leaf.value.value,
            known.flatMap((actions) => [...actions.values]),
          )}`,
        leaf.node.start,
      );
    }
  }
}

function lintExceptions(rule: Rule, opts: LintOptions, report: Report): void {
  const warnMs = (opts.expiryWarningDays ?? 14) * DAY_MS;
  rule.exceptions.forEach((exception, index) => {
    const field = `exceptions[${index}].expires`;
    const date = exception.expires.toISOString();
    if (isExpired(exception, opts.now)) {
      report(
        'warning',
        field,
        `exception "${exception.id}" expired on ${date}: it no longer applies (renew it with a reason, or remove it)`,
      );
    } else if (exception.expires.getTime() - opts.now.getTime() <= warnMs) {
      const days = Math.ceil((exception.expires.getTime() - opts.now.getTime()) / DAY_MS);
      report(
        'warning',
        field,
        `exception "${exception.id}" (owner ${exception.owner}) expires on ${date}, in ${days} day(s)`,
      );
    }
  });
}

/** Every source the rule reads should have at least one positive and one negative test event. */
function lintTestsFile(rule: Rule, findings: LintFinding[]): void {
  const file = testsFileFor(rule);
  const base = { ruleId: rule.id, file } as const;
  if (!existsSync(file)) {
    findings.push({ ...base, level: 'warning', field: '', message: 'no tests file: the rule is untested' });
    return;
  }
  let tests: ReturnType<typeof parseRuleTests>;
  try {
    tests = parseRuleTests(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if (!(error instanceof RuleValidationError)) throw error;
    for (const problem of error.problems) findings.push({ ...base, level: 'error', ...problem });
    return;
  }
  if (tests.rule !== rule.id) {
    findings.push({
      ...base,
      level: 'error',
      field: 'rule',
      message: `names rule "${tests.rule}", not "${rule.id}"`,
    });
  }
  const covered = new Map<SourceName, Set<string>>();
  for (const test of tests.tests) {
    for (const decoded of recordsFromDocument(test.event)) {
      if ('error' in decoded) continue;
      const expectations = covered.get(decoded.source) ?? new Set<string>();
      expectations.add(test.expect);
      covered.set(decoded.source, expectations);
    }
  }
  for (const source of rule.sources) {
    const expectations = covered.get(source);
    for (const [expect, kind] of [
      ['match', 'positive'],
      ['no_match', 'negative'],
    ] as const) {
      if (!expectations?.has(expect)) {
        findings.push({
          ...base,
          level: 'warning',
          field: 'tests',
          message: `no ${kind} test (expect: ${expect}) for source ${source}`,
        });
      }
    }
  }
}
