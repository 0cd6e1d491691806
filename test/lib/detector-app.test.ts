import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileEventPattern } from '../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../lambda/engine/rules';
import { addDetectorStacks, FORWARDER_STACK_NAME, MAIN_STACK_NAME } from '../../lib/detector-app';
import { PROJECT_ROOT, RULES_DIRECTORY } from '../../lib/project';
import type { DetectorSettings } from '../../lib/settings';
import { loadRepositoryRules, testApp } from './helpers';

const settings = (overrides: Partial<DetectorSettings>): DetectorSettings => ({
  homeRegion: 'us-east-1',
  alertEmails: [],
  opsEmails: [],
  sweepLagMinutes: 15,
  athenaBytesScannedCutoffGiB: 10,
  literalPrefilter: false,
  bundling: false,
  ...overrides,
});

describe('addDetectorStacks', () => {
  let rules: Rule[];

  beforeAll(async () => {
    rules = await loadRepositoryRules();
  });

  it('needs no forwarder when the home region is us-east-1', () => {
    const stacks = addDetectorStacks(testApp(), {
      settings: settings({}),
      rules,
      rulesDirectory: RULES_DIRECTORY,
    });

    expect(stacks.main.stackName).toBe(MAIN_STACK_NAME);
    expect(stacks.main.region).toBe('us-east-1');
    expect(stacks.iamEventForwarder).toBeUndefined();
  });

  it('adds a us-east-1 stack forwarding the pattern-selected IAM events to the home bus when home is eu-west-1', () => {
    const stacks = addDetectorStacks(testApp(), {
      settings: settings({ homeRegion: 'eu-west-1', account: '111122223333' }),
      rules,
      rulesDirectory: RULES_DIRECTORY,
    });
    const forwarder = stacks.iamEventForwarder;
    if (forwarder === undefined) throw new Error('expected the forwarder stack');

    const template = Template.fromStack(forwarder);

    expect(forwarder.stackName).toBe(FORWARDER_STACK_NAME);
    expect(forwarder.region).toBe('us-east-1');
    expect(stacks.main.region).toBe('eu-west-1');
    expect(forwarder.dependencies).toContain(stacks.main);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: compileEventPattern((rules[0] as Rule).ast).pattern,
      Targets: [
        Match.objectLike({
          Arn: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111122223333:event-bus/default'],
            ],
          },
          RoleArn: Match.anyValue(),
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });

  it('passes the trail, the sweep lag and the Athena cutoff to the main stack', () => {
    const stacks = addDetectorStacks(testApp(), {
      settings: settings({
        cloudTrailLogs: { bucket: 'trail-bucket', prefix: '', startDate: '2025-01-01' },
        sweepLagMinutes: 25,
        athenaBytesScannedCutoffGiB: 3,
      }),
      rules,
      rulesDirectory: RULES_DIRECTORY,
    });
    const template = Template.fromStack(stacks.main);

    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({ Name: 'cloudtrail_logs' }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SWEEP_LAG_MINUTES: '25' }) },
    });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 3 * 1024 ** 3 }),
    });
  });

  it('leaves the account to deployment time when none is known', () => {
    const stacks = addDetectorStacks(testApp(), {
      settings: settings({}),
      rules,
      rulesDirectory: RULES_DIRECTORY,
    });

    expect(stacks.main.resolve(stacks.main.account)).toEqual({ Ref: 'AWS::AccountId' });
  });
});

describe('bin/app.ts', () => {
  it('fails with what to set when the region cannot be known', async () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };

    const run = promisify(execFile)(path.join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env,
    });

    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('-c homeRegion=us-east-1'),
    });
  });
});
