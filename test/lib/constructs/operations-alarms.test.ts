import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { OperationsAlarms, sweepCheckpointLagThreshold } from '../../../lib/constructs/operations-alarms';
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

  it('alarms when a delivery stream lets records wait longer than the limit', () => {
    const stack = testStack();
    new OperationsAlarms(stack, 'Alarms', {
      topic: new sns.Topic(stack, 'Ops'),
      deliveryStreams: [{ label: 'AzureLake', resource: 'azure-lake' }],
      maxDeliveryAge: Duration.minutes(20),
    });

    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: 'azure-lake' }],
      Statistic: 'Maximum',
      Threshold: 1200,
      ComparisonOperator: 'GreaterThanThreshold',
      ...notifiesOps,
    });
  });

  describe('sweep alarms', () => {
    function sweepAlarms(interval: Duration, lag = Duration.minutes(15)): Template {
      const stack = testStack();
      new OperationsAlarms(stack, 'Alarms', { topic: new sns.Topic(stack, 'Ops'), sweep: { interval, lag } });
      return Template.fromStack(stack);
    }
    const onSweepMetric = (metricName: string) => ({
      Namespace: 'AbnormalCloudApiCalls',
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: 'abnormal-cloud-api-calls' }],
      ...notifiesOps,
    });

    it('alarms on any alert the sweep created: the real-time path missed an event', () => {
      sweepAlarms(Duration.minutes(5)).hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...onSweepMetric('SweepCreatedAlerts'),
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms on failed windows in two consecutive periods', () => {
      sweepAlarms(Duration.minutes(5)).hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...onSweepMetric('SweepWindowsFailed'),
        Statistic: 'Sum',
        Threshold: 0,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
      });
    });

    it('alarms when the checkpoint lags more than lag + 2 intervals + 300 s, or is not reported', () => {
      sweepAlarms(Duration.minutes(5)).hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...onSweepMetric('SweepCheckpointLag'),
        Statistic: 'Maximum',
        Period: 600,
        Threshold: 1800,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it.each([
      [5, 15, 1800],
      [15, 15, 3000],
      [1, 30, 2220],
    ])(
      'puts the lag threshold for a %i-minute interval and a %i-minute lag at %i s',
      (interval, lag, seconds) => {
        const options = { interval: Duration.minutes(interval), lag: Duration.minutes(lag) };

        expect(sweepCheckpointLagThreshold(options).toSeconds()).toBe(seconds);
      },
    );

    it('keeps periods at five minutes or more, and twice the interval for the lag', () => {
      const template = sweepAlarms(Duration.minutes(1));

      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SweepCreatedAlerts',
        Period: 300,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SweepCheckpointLag',
        Period: 600,
      });
      const hourly = sweepAlarms(Duration.hours(1));
      hourly.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SweepWindowsFailed',
        Period: 3600,
      });
      hourly.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SweepCheckpointLag',
        Period: 7200,
      });
    });
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
