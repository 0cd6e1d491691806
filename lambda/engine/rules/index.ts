/**
 * Detection rules: loading and validating rule files, the ATT&CK table, the rule lint and the rule
 * test runner. Everything that turns a YAML file into something the detector can run goes through here.
 * The detect Lambda imports `./precompiled` directly instead, to leave the YAML parser out of its bundle.
 */
export type { AttackTactic, AttackTechnique } from './attack';
export { ATTACK_TACTICS, ATTACK_TECHNIQUES, ATTACK_VERSION, attackTechnique, TECHNIQUE_ID } from './attack';
export type { RuleProblem } from './errors';
export { formatProblem, RuleLoadError, RuleValidationError } from './errors';
export type { LintFinding, LintOptions } from './lint';
export { lintRules } from './lint';
export type { LocatedYaml } from './loader';
export {
  isRuleFile,
  loadRule,
  loadRuleDirectory,
  loadRules,
  parseLocatedYaml,
  parseRule,
  precompileRuleDirectory,
} from './loader';
export type { RuleDocument } from './precompiled';
export {
  compileRuleDocuments,
  loadPrecompiledRules,
  PRECOMPILED_RULES_FILE,
  serializeRuleDocuments,
} from './precompiled';
export type { RuleDirectory, RuleSource } from './rule-set';
export { collectRules, everyRule } from './rule-set';
export type {
  EventPredicate,
  Locator,
  Rule,
  RuleException,
  RuleLanguage,
  RuleSchedule,
  RuleSuppression,
  RuleType,
  Runbook,
  RunbookCommand,
  RunbookPhase,
  RunbookStep,
  SeedDeviation,
  Severity,
  ThreatTechnique,
} from './schema';
export {
  activeExceptions,
  CLOUDS,
  compileRule,
  DEFAULT_SUPPRESSION,
  idFromFile,
  isExpired,
  parseDuration,
  parseExpiry,
  RULE_FIELDS,
  RULE_LANGUAGES,
  RULE_TYPES,
  RUNBOOK_PHASES,
  SEVERITIES,
  sourcesForPattern,
} from './schema';
export { didYouMean } from './suggest';
export type {
  RuleTestCase,
  RuleTestOutcome,
  RuleTestResult,
  RuleTestsFile,
  RunRuleTestsOptions,
  TestExpectation,
} from './test-runner';
export {
  loadRuleTests,
  parseRuleTests,
  runRuleTest,
  runRuleTests,
  TEST_EXPECTATIONS,
  testsFileFor,
} from './test-runner';
