import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Rule } from '../lambda/engine/rules';
import { DataKey } from './constructs/data-key';
import { DeadLetterQueue } from './constructs/dead-letter-queue';
import { IamEventForwarder } from './constructs/iam-event-forwarder';
import { NotificationTopic } from './constructs/notification-topic';
import { OperationsAlarms } from './constructs/operations-alarms';

/** Where IAM delivers its CloudTrail events to EventBridge. */
export const IAM_EVENTS_REGION = 'us-east-1';

export interface IamEventForwarderStackProps extends StackProps {
  /** The detection rules as loaded from `rules/`; the enabled CloudTrail ones are forwarded. */
  readonly rules: readonly Rule[];
  /** The main stack's region. */
  readonly homeRegion: string;
  /**
   * Who receives this stack's alarms (an alarm can only notify a topic of its own region).
   * @default - nobody
   */
  readonly opsEmails?: readonly string[];
}

/**
 * The small us-east-1 stack deployed when the detector's home is another region: EventBridge rules with
 * the same compiled patterns, forwarding to the home region's default bus, with a dead-letter queue and
 * an alarm on it.
 */
export class IamEventForwarderStack extends Stack {
  public readonly forwarder: IamEventForwarder;
  public readonly deadLetterQueue: DeadLetterQueue;
  public readonly operationsTopic: NotificationTopic;

  constructor(scope: Construct, id: string, props: IamEventForwarderStackProps) {
    super(scope, id, props);
    if (this.region !== IAM_EVENTS_REGION) {
      throw new Error(
        `IamEventForwarderStack must be deployed in ${IAM_EVENTS_REGION} (env.region is ${this.region})`,
      );
    }
    const enabledRules = props.rules.filter((rule) => rule.schedule.enabled);
    const key = new DataKey(this, 'DataKey', {
      description: 'Abnormal Cloud API Calls IAM event forwarding',
    });
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', { encryptionKey: key.key });
    this.forwarder = new IamEventForwarder(this, 'Forwarder', {
      rules: enabledRules,
      homeRegion: props.homeRegion,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.operationsTopic = new NotificationTopic(this, 'OperationsTopic', {
      displayName: 'Abnormal Cloud API Calls operations (us-east-1)',
      emails: props.opsEmails ?? [],
      allowCloudWatchAlarms: true,
    });
    new OperationsAlarms(this, 'Alarms', {
      topic: this.operationsTopic.topic,
      deadLetterQueues: [{ label: 'ForwardingDeadLetterQueue', resource: this.deadLetterQueue.queue }],
    });
    new CfnOutput(this, 'ForwardingDeadLetterQueueUrl', { value: this.deadLetterQueue.queue.queueUrl });
  }
}
