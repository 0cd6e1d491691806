import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME } from './handler-function';

/** The sweep's cadence, which its alarms are tuned to. */
export interface SweepAlarmOptions {
  /** How often the sweep runs. */
  readonly interval: Duration;
  /** How far behind now the sweep stays (`SWEEP_LAG_MINUTES`). */
  readonly lag: Duration;
}

/**
 * How far the sweep's checkpoint may trail now before it counts as falling behind: the lag it keeps on
 * purpose, two runs, and five minutes for the runs themselves (docs/sweep.md: 1800 s for the defaults).
 */
export function sweepCheckpointLagThreshold(options: SweepAlarmOptions): Duration {
  return Duration.seconds(options.lag.toSeconds() + 2 * options.interval.toSeconds() + 300);
}

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
  /**
   * Alarms on the sweep's own metrics (namespace `AbnormalCloudApiCalls`, dimension `service`):
   * `SweepCreatedAlerts` above zero (the real-time path missed an event), `SweepWindowsFailed` in two
   * consecutive periods, and `SweepCheckpointLag` above `sweepCheckpointLagThreshold` or not reported at all.
   * @default - no sweep alarms
   */
  readonly sweep?: SweepAlarmOptions;
  /**
   * An alarm each when the oldest record of the Firehose delivery stream (given by name) waits longer than
   * `maxDeliveryAge` to reach the lake.
   * @default - none
   */
  readonly deliveryStreams?: readonly Watched<string>[];
  /**
   * How long a record may wait in Firehose. Above the sweep's lag, the sweep may pass an hour before its
   * records arrive, so the stack sets this to the lag.
   * @default Duration.minutes(15)
   */
  readonly maxDeliveryAge?: Duration;
}

/**
 * The pipeline's health, watched by CloudWatch: function errors, dead letters waiting, Kinesis consumers
 * falling behind, Firehose deliveries late, and the sweep's own signals (alerts the real-time path missed,
 * failed queries, a checkpoint falling behind). Alarms notify an operations topic, kept apart from the alerts topic so that analysts'
 * mail and the Slack channel carry detections only (and the Slack notifier never parses an alarm).
 */
export class OperationsAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsAlarmsProps) {
    super(scope, id);
    const maxIteratorAge = props.maxIteratorAge ?? Duration.minutes(15);
    if (maxIteratorAge.toSeconds() < 60)
      throw new Error('OperationsAlarmsProps.maxIteratorAge must be at least one minute');
    const maxDeliveryAge = props.maxDeliveryAge ?? Duration.minutes(15);
    if (maxDeliveryAge.toSeconds() < 60)
      throw new Error('OperationsAlarmsProps.maxDeliveryAge must be at least one minute');
    if (props.sweep !== undefined && props.sweep.interval.toSeconds() < 60) {
      throw new Error('OperationsAlarmsProps.sweep.interval must be at least one minute');
    }
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
    for (const { label, resource } of props.deliveryStreams ?? []) {
      add(`${label}DeliveryAge`, {
        alarmDescription:
          `Records of the ${label} delivery stream wait more than ${maxDeliveryAge.toMinutes()} minutes to reach ` +
          'the lake: the sweep may pass their hour before they arrive. See the delivery error log group.',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName: 'DeliveryToS3.DataFreshness',
          dimensionsMap: { DeliveryStreamName: resource },
          period,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: maxDeliveryAge.toSeconds(),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.sweep !== undefined) this.addSweepAlarms(props.sweep, add);
  }

  private addSweepAlarms(
    options: SweepAlarmOptions,
    add: (label: string, alarm: cloudwatch.AlarmProps) => void,
  ): void {
    const metric = (metricName: string, statistic: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: POWERTOOLS_METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: POWERTOOLS_SERVICE_NAME },
        period,
        statistic,
      });
    // At least one run per period; CloudWatch evaluates at most a day.
    const minutes = Math.min(Math.max(options.interval.toMinutes({ integral: false }), 5), 720);
    const period = Duration.minutes(Math.ceil(minutes));
    const lagPeriod = Duration.minutes(Math.ceil(Math.min(2 * minutes, 1440)));
    const lagThreshold = sweepCheckpointLagThreshold(options);

    add('SweepCreatedAlerts', {
      alarmDescription:
        'The sweep created alerts the real-time path missed: check the EventBridge rules, the forwarders and the ' +
        'streams. The alerts themselves went to the alerts topic.',
      metric: metric('SweepCreatedAlerts', cloudwatch.Stats.SUM, period),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('SweepWindowsFailed', {
      alarmDescription:
        'Sweep queries failed in two runs in a row: check the bytes-scanned cutoff, permissions and tables. ' +
        'The checkpoint stays, so the windows are retried.',
      metric: metric('SweepWindowsFailed', cloudwatch.Stats.SUM, period),
      threshold: 0,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('SweepCheckpointLag', {
      alarmDescription:
        `The sweep is more than ${lagThreshold.toSeconds()} s behind now (lag + 2 runs + 5 minutes), or stopped ` +
        'reporting: check the sweep function, its schedule and its errors.',
      metric: metric('SweepCheckpointLag', cloudwatch.Stats.MAXIMUM, lagPeriod),
      threshold: lagThreshold.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // A sweep that stopped running reports no lag at all: that is falling behind too.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
