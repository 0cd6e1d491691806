import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Something to watch, with the label its alarm is named after. */
export interface Watched<T> {
  readonly label: string;
  readonly resource: T;
}

export interface OperationsAlarmsProps {
  /** Where alarm and recovery notifications go. */
  readonly topic: sns.ITopic;
  /**
   * An alarm each when the function reports any error in five minutes.
   * @default - none
   */
  readonly functions?: readonly Watched<lambda.IFunction>[];
  /**
   * An alarm each when the dead-letter queue holds any message.
   * @default - none
   */
  readonly deadLetterQueues?: readonly Watched<sqs.IQueue>[];
  /**
   * An alarm each when the oldest unread record of the stream is older than `maxIteratorAge`.
   * @default - none
   */
  readonly streams?: readonly Watched<kinesis.IStream>[];
  /**
   * How far the detect function may fall behind a stream before the alarm fires.
   * @default Duration.minutes(15)
   */
  readonly maxIteratorAge?: Duration;
}

/**
 * The pipeline's health, watched by CloudWatch: function errors, dead letters waiting, Kinesis consumers
 * falling behind. Alarms notify an operations topic, kept apart from the alerts topic so that analysts'
 * mail and the Slack channel carry detections only (and the Slack notifier never parses an alarm).
 */
export class OperationsAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const maxIteratorAge = props.maxIteratorAge ?? Duration.minutes(15);
    if (maxIteratorAge.toSeconds() < 60)
      throw new Error('OperationsAlarmsProps.maxIteratorAge must be at least one minute');
    const labels = new Set<string>();
    const add = (label: string, alarm: cloudwatch.AlarmProps): void => {
      if (labels.has(label)) throw new Error(`OperationsAlarmsProps: the label "${label}" is used twice`);
      labels.add(label);
      const created = new cloudwatch.Alarm(this, label, alarm);
      created.addAlarmAction(new actions.SnsAction(props.topic));
      created.addOkAction(new actions.SnsAction(props.topic));
      this.alarms.push(created);
    };
    const period = Duration.minutes(5);

    for (const { label, resource } of props.functions ?? []) {
      add(`${label}Errors`, {
        alarmDescription: `The ${label} function reported errors. See its log group.`,
        metric: resource.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const { label, resource } of props.deadLetterQueues ?? []) {
      add(`${label}Depth`, {
        alarmDescription: `Messages are waiting in the ${label} dead-letter queue: events or batches the detector could not process.`,
        metric: resource.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const { label, resource } of props.streams ?? []) {
      add(`${label}IteratorAge`, {
        alarmDescription: `The detect function is more than ${maxIteratorAge.toMinutes()} minutes behind the ${label} stream.`,
        metric: resource.metricGetRecordsIteratorAgeMilliseconds({
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: maxIteratorAge.toMilliseconds(),
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
