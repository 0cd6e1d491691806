import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

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
  /** The key the messages are encrypted with. */
  public readonly encryptionKey: kms.Key;
  private eventBridgeAllowed = false;

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
    acknowledge(
      this.queue,
      'AwsSolutions-SQS3',
      'This queue is itself a dead-letter queue (of EventBridge targets, Lambda asynchronous invocations and ' +
        'Kinesis event source mappings); its messages are read by an operator, never consumed by a function.',
    );
  }

  /**
   * Lets a principal (a Lambda execution role, for its own dead letters and its event source mappings'
   * failure records) send messages: `sqs:SendMessage` on this queue and the two KMS actions SQS needs to
   * encrypt them, on this queue's key.
   */
  public grantSend(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SendToDeadLetterQueue',
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptDeadLetters',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.encryptionKey.keyArn],
      }),
    );
  }

  /**
   * Lets EventBridge rules of this account and region encrypt dead letters with the queue's key. The key
   * policy cannot name the rules themselves (each rule's target already depends on the key: a cycle), so
   * the queue policy does: the CDK adds a statement per rule whose target names this queue, allowing
   * `sqs:SendMessage` only with that rule as `aws:SourceArn`.
   */
  public allowEventBridgeRules(): void {
    if (this.eventBridgeAllowed) return;
    this.eventBridgeAllowed = true;
    const stack = Stack.of(this);
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeRulesOfThisAccount',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'events',
              resource: 'rule',
              resourceName: '*',
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
  }
}
