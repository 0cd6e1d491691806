import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Rule } from '../../../lambda/engine/rules';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { SweepSchedule, sweepCadence } from '../../../lib/constructs/sweep-schedule';
import { makeRule, testStack } from '../helpers';

const azure = (id: string, interval: string, enabled = true): Rule =>
  makeRule({ id, query: 'event.action:x', index: ['azure-activity-logs-*'], interval, enabled });
const aws = (id: string, interval: string): Rule =>
  makeRule({ id, query: 'event.action:x', index: ['aws-cloudtrail-*'], interval });

function build(rules: readonly Rule[]): { template: Template; schedule: SweepSchedule } {
  const stack = testStack();
  const schedule = new SweepSchedule(stack, 'Schedule', {
    rules,
    sources: ['azure-activity-logs'],
    sweepFunction: new lambda.Function(stack, 'Sweep', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    }),
    deadLetterQueue: new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') }),
  });
  return { template: Template.fromStack(stack), schedule };
}

describe('sweepCadence', () => {
  it.each([
    [[azure('a', '5m')], 5],
    [[azure('a', '15m'), azure('b', '10m')], 10],
    [[azure('a', '15m'), azure('b', '1m', false)], 15],
    [[azure('a', '90s')], 2],
    [[azure('a', '1s')], 1],
    [[azure('a', '2h')], 120],
    [[azure('a', '30m'), aws('b', '1m')], 30],
  ])(
    'runs rule set %# every %i minutes: the smallest enabled swept interval, rounded up',
    (rules, minutes) => {
      expect(sweepCadence(rules, ['azure-activity-logs'])?.interval.toMinutes()).toBe(minutes);
    },
  );

  it('is undefined when no enabled rule reads a swept source', () => {
    expect(sweepCadence([azure('a', '5m', false), aws('b', '5m')], ['azure-activity-logs'])).toBeUndefined();
  });
});

describe('SweepSchedule', () => {
  it('targets the function with a bounded retry, a dead-letter queue and no input', () => {
    build([azure('a', '10m')]).template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Sweep'), 'Arn'] },
          Input: Match.absent(),
          RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 2 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Dlq'), 'Arn'] } },
        }),
      ],
    });
  });

  it('names the rules and intervals that set the cadence, and notes rounding and slower rules', () => {
    const { template, schedule } = build([azure('quick', '90s'), azure('slow', '1h')]);

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(2 minutes)',
      Description: Match.stringLikeRegexp(
        'smallest schedule.interval of the enabled rules \\(quick: 90s, slow: 1h\\)',
      ),
    });
    const infos = Annotations.fromStack(schedule.eventRule.stack)
      .findInfo('*', Match.anyValue())
      .map((message) => String(message.entry.data));
    expect(infos).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/quick: schedule.interval 90s is rounded up to 2 minute/),
        expect.stringMatching(/slow \(every 1h\) is swept every 2 minute/),
      ]),
    );
  });

  it('throws when no enabled rule reads a swept source', () => {
    expect(() => build([azure('off', '5m', false)])).toThrow(/no enabled rule reads a swept source/);
  });
});
