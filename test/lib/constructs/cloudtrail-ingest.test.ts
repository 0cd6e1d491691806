import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { compileEventPattern } from '../../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../../lambda/engine/rules';
import { CloudTrailIngest, type CloudTrailIngestProps } from '../../../lib/constructs/cloudtrail-ingest';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { makeRule, testStack } from '../helpers';

const awsRule = makeRule({
  id: 'sts-assume-role',
  query: 'event.provider:"AWS STS" and event.action:AssumeRole',
  index: ['aws-cloudtrail-*'],
});
const azureRule = makeRule({
  id: 'azure-only',
  query: 'event.provider:"Microsoft.Authorization"',
  index: ['azure-activity-logs-*'],
});

function build(
  rules: readonly Rule[],
  extra: Partial<CloudTrailIngestProps> & { organizationBus?: boolean } = {},
): { template: Template; ingest: CloudTrailIngest } {
  const stack = testStack();
  const detectFunction = new lambda.Function(stack, 'Detect', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  const deadLetterQueue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });
  const { organizationBus, ...props } = extra;
  const ingest = new CloudTrailIngest(stack, 'Ingest', {
    rules,
    detectFunction,
    deadLetterQueue,
    ...(organizationBus === true ? { organizationEventBus: new events.EventBus(stack, 'OrgBus') } : {}),
    ...props,
  });
  return { template: Template.fromStack(stack), ingest };
}

describe('CloudTrailIngest', () => {
  it('creates one EventBridge rule per CloudTrail rule, with the pattern compiled from its query', () => {
    const { template, ingest } = build([awsRule, azureRule]);

    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: compileEventPattern(awsRule.ast).pattern,
      EventBusName: Match.absent(),
      Description: Match.stringLikeRegexp('sts-assume-role'),
    });
    expect([...ingest.patterns.keys()]).toEqual(['sts-assume-role']);
  });

  it('targets the detect function with a bounded retry policy and the dead-letter queue', () => {
    const { template } = build([awsRule], { maxEventAge: Duration.hours(2), retryAttempts: 8 });

    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Detect'), 'Arn'] },
          Id: 'Target0',
          RetryPolicy: { MaximumEventAgeInSeconds: 7200, MaximumRetryAttempts: 8 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DlqQueue'), 'Arn'] } },
        },
      ],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
    });
  });

  it('listens on the organization bus too when given one', () => {
    const { template } = build([awsRule], { organizationBus: true });

    template.resourceCountIs('AWS::Events::Rule', 2);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^OrgBus') },
      EventPattern: compileEventPattern(awsRule.ast).pattern,
    });
  });

  it('creates no rule for a query no CloudTrail event can satisfy', () => {
    const never = makeRule({
      id: 'never',
      query: 'event.provider:"iam.amazonaws.com"',
      index: ['aws-cloudtrail-*'],
    });

    build([never]).template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it.each([
    [{ maxEventAge: Duration.seconds(30) }, /maxEventAge/],
    [{ retryAttempts: 186 }, /retryAttempts/],
  ])('throws on %j', (props, message) => {
    expect(() => build([awsRule], props)).toThrow(message);
  });
});
