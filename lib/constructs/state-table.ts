import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

/** Names fixed by lambda/README.md ("State table"); the handlers and adapters use the same ones. */
export const STATE_TABLE_SCHEMA = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
  pendingIndex: 'pending',
  pendingPartitionKey: 'outboxPending',
  pendingSortKey: 'leaseUntil',
} as const;

export interface StateTableProps {
  /**
   * Encrypts the table. Alerts in the outbox carry user names, IP addresses and account ids; a
   * customer-managed key lets the key policy, not only IAM, decide who can read them.
   */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table when it leaves the stack. Losing it loses dedupe state (duplicate alerts)
   * and any alert still waiting in the outbox, so the default keeps it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The detector's one table: occurrences (dedupe), alert groups with their outbox state, sweep checkpoints
 * and Slack delivery markers, keyed by `pk` prefix. On-demand billing, because traffic is bursty and
 * mostly idle; point-in-time recovery; items expire through the `expiresAt` TTL (epoch seconds).
 */
export class StateTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATE_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: STATE_TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Sparse: only alerts awaiting publication carry `outboxPending`, so the redrive function queries
    // exactly the outbox, oldest lease first.
    this.table.addGlobalSecondaryIndex({
      indexName: STATE_TABLE_SCHEMA.pendingIndex,
      partitionKey: { name: STATE_TABLE_SCHEMA.pendingPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE_SCHEMA.pendingSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    acknowledge(
      this.table,
      'NIST.800.53.R5-DynamoDBInBackupPlan',
      'Point-in-time recovery keeps 35 days of continuous backups; every item is short-lived state (dedupe ' +
        'markers and an outbox that expire by TTL), so a separate AWS Backup plan and vault would add cost, not recovery.',
    );
  }
}
