/**
 * The package's main entry: the engine that every runtime (the Lambdas, the local detector, tests)
 * shares. It imports no AWS SDK, so it can be embedded anywhere a rule needs evaluating.
 */

export type { Alert } from './alerts/alert';
export { buildAlert, matchKeys } from './alerts/alert';
export { renderAlertText } from './alerts/render-text';
export type { Decision, DetectionStats, DetectorRule, Match } from './detector/detector';
export { Detector } from './detector/detector';
export { MemoryStore } from './detector/memory-store';
export type { DetectionStore } from './detector/store';
export type { EcsEvent, NormalizedEvent, SourceName } from './ecs';
export type { KqlNode, KqlPredicate } from './kql';
export { compileKql, fieldLiterals, KqlSyntaxError, parseKql, printKql, walkKql } from './kql';
export type { FieldDomain } from './normalizers';
export { NormalizationError, normalize, recordsFromDocument } from './normalizers';
export type { LintFinding, Rule } from './rules';
export { lintRules, loadRule, loadRules, parseRule, RuleValidationError } from './rules';
