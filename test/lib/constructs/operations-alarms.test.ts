import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { OperationsAlarms } from '../../../lib/constructs/operations-alarms';
import { testStack } from '../helpers';

function build(maxIteratorAge?: Duration): Template {
  const stack = testStack();
  const fn = new lambda.Function(stack, 'Detect', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  new OperationsAlarms(stack, 'Alarms', {
    topic: new sns.Topic(stack, 'Ops'),
    functions: [{ label: 'Detect', resource: fn }],
    deadLetterQueues: [{ label: 'DeadLetterQueue', resource: new sqs.Queue(stack, 'Dlq') }],
    streams: [{ label: 'AzureActivity', resource: new kinesis.Stream(stack, 'Stream') }],
    ...(maxIteratorAge === undefined ? {} : { maxIteratorAge }),
  });
  return Template.fromStack(stack);
}

const notifiesOps = {
  AlarmActions: [{ Ref: Match.stringLikeRegexp('^Ops') }],
  OKActions: [{ Ref: Match.stringLikeRegexp('^Ops') }],
};

describe('OperationsAlarms', () => {
  it('alarms on any function error', () => {
    build().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      ...notifiesOps,
    });
  });

  it('alarms on any message in the dead-letter queue', () => {
    build().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ...notifiesOps,
    });
  });

  it('alarms when the stream iterator age passes the limit', () => {
    build(Duration.minutes(30)).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Kinesis',
      MetricName: 'GetRecords.IteratorAgeMilliseconds',
      Statistic: 'Maximum',
      Threshold: 1_800_000,
      ComparisonOperator: 'GreaterThanThreshold',
      ...notifiesOps,
    });
  });

  it('creates one alarm per watched resource', () => {
    build().resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });

  it('throws when two watched resources share a label', () => {
    const stack = testStack();
    const queue = new sqs.Queue(stack, 'Q');

    expect(
      () =>
        new OperationsAlarms(stack, 'Alarms', {
          topic: new sns.Topic(stack, 'Ops'),
          deadLetterQueues: [
            { label: 'Same', resource: queue },
            { label: 'Same', resource: queue },
          ],
        }),
    ).toThrow(/"SameDepth" is used twice/);
  });
});
