import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { precompileRuleDirectory } from '../../../lambda/engine/rules';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import {
  copyRulesCommands,
  HandlerFunction,
  stagePrecompiledRules,
} from '../../../lib/constructs/handler-function';
import { RULES_DIRECTORY } from '../../../lib/project';
import { testStack } from '../helpers';

/** The detect function in `stack`, unbundled unless asked. */
function addDetect(
  stack: Stack,
  options: { rulesDirectory?: string; bundling?: boolean; environment?: Record<string, string> } = {},
): HandlerFunction {
  const key = new kms.Key(stack, 'Key');
  return new HandlerFunction(stack, 'Detect', {
    entry: 'lambda/handlers/detect.ts',
    description: 'test',
    logEncryptionKey: key,
    deadLetterQueue: new DeadLetterQueue(stack, 'Dlq', { encryptionKey: key }),
    bundling: options.bundling ?? false,
    ...(options.rulesDirectory === undefined ? {} : { rulesDirectory: options.rulesDirectory }),
    ...(options.environment === undefined ? {} : { environment: options.environment }),
  });
}

function build(options: { rules?: boolean; environment?: Record<string, string> } = {}): Template {
  const stack = testStack();
  addDetect(stack, {
    ...(options.rules === true ? { rulesDirectory: RULES_DIRECTORY } : {}),
    ...(options.environment === undefined ? {} : { environment: options.environment }),
  });
  return Template.fromStack(stack);
}

describe('HandlerFunction', () => {
  it('runs on Node.js 22, arm64, with the Powertools settings and the given environment', () => {
    const template = build({ environment: { TABLE_NAME: 'state' } });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'abnormal-cloud-api-calls',
          POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
          NODE_OPTIONS: '--enable-source-maps',
          TABLE_NAME: 'state',
        },
      },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
      DeadLetterConfig: { TargetArn: Match.anyValue() },
    });
  });

  it('points RULES_DIR at the rules copied into the bundle', () => {
    build({ rules: true }).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RULES_DIR: '/var/task/rules' }) },
    });
    expect(JSON.stringify(build().toJSON())).not.toContain('RULES_DIR');
  });

  it('creates its log group, encrypted and kept for a year', () => {
    build().hasResource('AWS::Logs::LogGroup', {
      Properties: {
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('gives its role no managed policy and only its own log group to write to', () => {
    const template = build();

    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'WriteItsOwnLogGroup',
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DetectLogs'), 'Arn'] },
          },
        ]),
      },
    });
  });

  it('throws when bundling an entry that does not exist', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key');

    expect(
      () =>
        new HandlerFunction(stack, 'Missing', {
          entry: 'lambda/handlers/no-such-handler.ts',
          description: 'test',
          logEncryptionKey: key,
          deadLetterQueue: new DeadLetterQueue(stack, 'Dlq', { encryptionKey: key }),
        }),
    ).toThrow(/entry: lambda\/handlers\/no-such-handler.ts does not exist/);
  });

  it('copies rule files but not their tests into the bundle', () => {
    const commands = copyRulesCommands("/repo/it's/rules", '/out');

    expect(commands).toEqual([
      "mkdir -p '/out/rules'",
      `find '/repo/it'\\''s/rules' -maxdepth 1 -type f -name '*.yaml' ! -name '*.tests.yaml' -exec cp {} '/out/rules' ';'`,
    ]);
    expect(path.isAbsolute(RULES_DIRECTORY)).toBe(true);
  });

  it('copies the precompiled rules in as rules/rules.json when given', () => {
    const commands = copyRulesCommands('/repo/rules', '/out', "/tmp/it's/abc.json");

    expect(commands).toHaveLength(3);
    expect(commands[2]).toBe(`cp '/tmp/it'\\''s/abc.json' '/out/rules/rules.json'`);
  });

  it('stages the precompiled rules of a folder in a file named by their content', async () => {
    const folder = path.join(await mkdtemp(path.join(tmpdir(), 'staged-')), 'precompiled-rules');

    const first = stagePrecompiledRules(RULES_DIRECTORY, folder);
    const again = stagePrecompiledRules(RULES_DIRECTORY, folder);

    expect(again).toBe(first);
    expect(path.dirname(first)).toBe(folder);
    expect(JSON.parse(readFileSync(first, 'utf8'))).toEqual(precompileRuleDirectory(RULES_DIRECTORY));
  });

  it('never trusts a staged file because it exists: one planted under the name is replaced', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'staged-'));
    const file = stagePrecompiledRules(RULES_DIRECTORY, folder);
    await writeFile(file, '[]');

    stagePrecompiledRules(RULES_DIRECTORY, folder);

    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(precompileRuleDirectory(RULES_DIRECTORY));
  });

  it('stages them in the app output directory, which only the synthesizing user writes', () => {
    const stack = testStack();
    addDetect(stack, { rulesDirectory: RULES_DIRECTORY, bundling: true });

    const staged = readdirSync(path.join(Stage.of(stack)?.outdir ?? '', 'precompiled-rules'));

    expect(staged.filter((name) => name.endsWith('.json'))).toHaveLength(1);
  });

  it('fails the synth of a bundled function whose rules do not validate, naming the file and line', async () => {
    const rules = await mkdtemp(path.join(tmpdir(), 'bad-rules-'));
    await writeFile(path.join(rules, 'broken.yaml'), 'id: broken\nname: [unclosed\n');
    const stack = testStack();

    expect(() => addDetect(stack, { rulesDirectory: rules, bundling: true })).toThrow(
      expect.objectContaining({ name: 'RuleValidationError', file: path.join(rules, 'broken.yaml') }),
    );
  });
});
