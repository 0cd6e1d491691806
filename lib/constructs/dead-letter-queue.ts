import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** Encrypts the messages; they are CloudTrail events and batch descriptions, as sensitive as the logs. */
  readonly encryptionKey: kms.Key;
  /**
   * How long a message waits for an operator.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly retentionPeriod?: Duration;
}

/**
 * Where the pipeline puts what it could not deliver: EventBridge events the detect function never
 * accepted, Lambda asynchronous invocations that failed every retry, and descriptions of Kinesis batches
 * that exhausted their retries. One queue, so one alarm and one place to look.
 */
export class DeadLetterQueue extends Construct {
  public readonly queue: sqs.Queue;
  private readonly encryptionKey: kms.Key;
  private readonly eventRuleArns: string[] = [];

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    if (retentionPeriod.toSeconds() < 60 || retentionPeriod.toSeconds() > Duration.days(14).toSeconds()) {
      throw new Error('DeadLetterQueueProps.retentionPeriod must be between 1 minute and 14 days');
    }
    this.encryptionKey = props.encryptionKey;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      retentionPeriod,
    });
  }

  /**
   * Lets EventBridge, on behalf of `rule` only, encrypt dead letters with the queue's key. The queue policy
   * statement for the same rule is added by the CDK when the rule's target names this queue.
   */
  public allowEventRule(rule: events.IRule): void {
    if (this.eventRuleArns.length === 0) {
      const stack = Stack.of(this);
      this.encryptionKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventBridgeDeadLetters',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: {
            ArnEquals: { 'aws:SourceArn': Lazy.list({ produce: () => this.eventRuleArns }) },
            StringEquals: { 'aws:SourceAccount': stack.account },
          },
        }),
      );
    }
    this.eventRuleArns.push(rule.ruleArn);
  }
}
