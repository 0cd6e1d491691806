import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface DataKeyProps {
  /**
   * What the key protects, shown in the KMS console.
   * @default 'Abnormal Cloud API Calls detector data'
   */
  readonly description?: string;
  /**
   * Let CloudWatch Logs of this account and region encrypt log groups with the key.
   * @default false
   */
  readonly allowCloudWatchLogs?: boolean;
  /**
   * What happens to the key when it leaves the stack. A deleted key makes everything it encrypted
   * unreadable, so the default keeps it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A customer-managed KMS key with yearly rotation. The detector's data (state table, dead-letter queue and
 * bucket, log groups) is encrypted under keys whose policies we write, so that who may read alerts and raw
 * bad records is decided in this repository and every use is in CloudTrail.
 */
export class DataKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: DataKeyProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: props.description ?? 'Abnormal Cloud API Calls detector data',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (props.allowCloudWatchLogs === true) {
      const stack = Stack.of(this);
      // Scoped by encryption context to this account's log groups in this region: the key policy is the
      // only place a service principal can be granted, and CloudWatch Logs names the log group it encrypts.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchLogsOfThisAccount',
          principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
          actions: [
            'kms:Encrypt*',
            'kms:Decrypt*',
            'kms:ReEncrypt*',
            'kms:GenerateDataKey*',
            'kms:Describe*',
          ],
          resources: ['*'],
          conditions: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
                service: 'logs',
                resource: 'log-group',
                resourceName: '*',
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
    }
  }
}
