/**
 * Shared set-up for the CDK tests: rules (the repository's and small ones made here), a stack to put a
 * construct in, and walkers over synthesized templates.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { Rule } from '../../lambda/engine/rules';
import { loadRules, parseRule } from '../../lambda/engine/rules';
import { RULES_DIRECTORY } from '../../lib/project';

export const ACCOUNT = '111122223333';

let repositoryRules: Promise<Rule[]> | undefined;

/** The rules of `rules/`, loaded once per test file. */
export function loadRepositoryRules(): Promise<Rule[]> {
  repositoryRules ??= loadRules(RULES_DIRECTORY);
  return repositoryRules;
}

export interface RuleOptions {
  id: string;
  query: string;
  index: readonly string[];
  /** @default '5m' */
  interval?: string;
  enabled?: boolean;
}

/** A minimal valid rule. */
export function makeRule(options: RuleOptions): Rule {
  return parseRule(ruleText(options), `${options.id}.yaml`);
}

/** The YAML of a minimal valid rule, as a rule file holds it. */
export function ruleText(options: RuleOptions): string {
  return [
    `id: ${options.id}`,
    `name: ${options.id}`,
    'description: a rule made by a test',
    'severity: low',
    'risk_score: 10',
    'type: query',
    `index: [${options.index.join(', ')}]`,
    'language: kuery',
    `query: ${JSON.stringify(options.query)}`,
    `schedule: { interval: ${options.interval ?? '5m'}, enabled: ${options.enabled ?? true} }`,
  ].join('\n');
}

/**
 * An app for assertions. The CDK's built-in CloudFormation validation is off here (it costs seconds per
 * file); the security-gate test runs it with everything else.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ builtinCloudFormationValidation: false, context });
}

/** An empty stack in a fixed environment, for one construct. */
export function testStack(region = 'us-east-1'): Stack {
  return new Stack(testApp(), 'Test', { env: { account: ACCOUNT, region } });
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
}

/** Every statement of every identity policy (inline, managed, role-embedded) in the template. */
export function identityStatements(
  template: Template,
): Array<{ logicalId: string; statement: PolicyStatementJson }> {
  const out: Array<{ logicalId: string; statement: PolicyStatementJson }> = [];
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = resource.Properties ?? {};
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      documents.push(properties.PolicyDocument);
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (properties.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) {
        documents.push(policy.PolicyDocument);
      }
    }
    for (const document of documents) {
      for (const statement of (document as { Statement: PolicyStatementJson[] }).Statement) {
        out.push({ logicalId, statement });
      }
    }
  }
  return out;
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: PolicyStatementJson): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** The logical ids of the template's resources of one type. */
export function logicalIdsOf(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type));
}
