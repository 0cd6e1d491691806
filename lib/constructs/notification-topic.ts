import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface NotificationTopicProps {
  /** The sender name shown in e-mail notifications. */
  readonly displayName: string;
  /**
   * Addresses subscribed by e-mail; each receives a confirmation message it must accept.
   * @default - no subscriptions
   */
  readonly emails?: readonly string[];
  /**
   * Let CloudWatch alarms of this account publish to the topic (they need to use its KMS key).
   * @default false
   */
  readonly allowCloudWatchAlarms?: boolean;
  /**
   * What happens to the topic's key when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * An SNS topic encrypted with its own customer-managed key, refusing unencrypted transport
 * (`aws:SecureTransport` false is denied by the topic policy), with e-mail subscriptions. Its own key so
 * that the key policy names exactly the services that publish to this topic and nothing else.
 */
export class NotificationTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationTopicProps) {
    super(scope, id);
    const emails = props.emails ?? [];
    const invalid = emails.find((email) => !/^[^\s@]+@[^\s@]+$/.test(email));
    if (invalid !== undefined)
      throw new Error(`NotificationTopicProps.emails: "${invalid}" is not an e-mail address`);

    this.key = new kms.Key(this, 'Key', {
      description: `${props.displayName}: SNS topic encryption`,
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.allowCloudWatchAlarms === true) {
      // CloudWatch publishes alarm notifications itself, so the key policy must name it; scoped to alarms
      // of this account.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsOfThisAccount',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': this.topic.stack.account } },
        }),
      );
    }
    for (const email of emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
}
