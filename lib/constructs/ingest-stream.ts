import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import type { DeadLetterQueue } from './dead-letter-queue';

export interface IngestStreamProps {
  /** What flows in, for descriptions (`Azure Activity Log`). */
  readonly description: string;
  /** Reads the stream. */
  readonly detectFunction: lambda.IFunction;
  /** Receives a description of each batch that exhausted its retries (the records stay in the stream). */
  readonly onFailureQueue: DeadLetterQueue;
  /**
   * Provisioned shards; one takes 1 MB/s or 1,000 records/s in, plenty for audit logs of most tenants.
   * @default 1
   */
  readonly shardCount?: number;
  /**
   * How long records stay in the stream, and so how long an outage of the detector can last without loss.
   * @default Duration.hours(24)
   */
  readonly retentionPeriod?: Duration;
  /**
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * @default Duration.seconds(5)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Concurrent batches per shard (1 to 10). Records of one partition key stay in order.
   * @default 2
   */
  readonly parallelizationFactor?: number;
  /**
   * Retries of a failing batch (after bisecting it) before it goes to the on-failure queue.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried but reported to the on-failure queue. Must not exceed the
   * stream's retention.
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * What happens to the stream's key when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * A Kinesis data stream that an external forwarder writes audit logs to, encrypted with its own KMS key
 * (a forwarder is granted `kms:GenerateDataKey` on this key only), read by the detect function through an
 * event source mapping that reports partial batch failures, bisects failing batches, retries a bounded
 * number of times and records what it gives up on.
 */
export class IngestStream extends Construct {
  public readonly stream: kinesis.Stream;
  public readonly key: kms.Key;
  public readonly eventSourceMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: IngestStreamProps) {
    super(scope, id);
    const shardCount = props.shardCount ?? 1;
    const retentionPeriod = props.retentionPeriod ?? Duration.hours(24);
    const batchSize = props.batchSize ?? 100;
    const parallelizationFactor = props.parallelizationFactor ?? 2;
    const retryAttempts = props.retryAttempts ?? 5;
    const maxRecordAge = props.maxRecordAge ?? Duration.hours(6);
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(5);
    checkInteger('shardCount', shardCount, 1, 500);
    checkInteger('batchSize', batchSize, 1, 10_000);
    checkInteger('parallelizationFactor', parallelizationFactor, 1, 10);
    checkInteger('retryAttempts', retryAttempts, 0, 10_000);
    if (retentionPeriod.toSeconds() < 86_400 || retentionPeriod.toSeconds() > 8760 * 3600) {
      throw new Error('IngestStreamProps.retentionPeriod must be between 24 hours and 365 days');
    }
    if (maxRecordAge.toSeconds() < 60 || maxRecordAge.toSeconds() > retentionPeriod.toSeconds()) {
      throw new Error(
        'IngestStreamProps.maxRecordAge must be at least 60 seconds and not exceed retentionPeriod',
      );
    }

    this.key = new kms.Key(this, 'Key', {
      description: `${props.description} stream encryption`,
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamMode: kinesis.StreamMode.PROVISIONED,
      shardCount,
      retentionPeriod,
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: this.key,
    });
    acknowledge(
      this.stream,
      'AwsSolutions-KDS3',
      "A customer-managed key lets the forwarder role be granted kms:GenerateDataKey on this stream's key alone; " +
        'the aws/kinesis key can be used by any principal of the account that may write to any stream.',
    );

    // What the event source mapping needs to read the stream, as the function's role; the CDK's
    // `grantRead` would add wildcard KMS actions.
    props.detectFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
        ],
        resources: [this.stream.streamArn],
      }),
    );
    props.detectFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [this.key.keyArn] }),
    );
    const role = props.detectFunction.role;
    if (role === undefined) throw new Error('IngestStreamProps.detectFunction must have an execution role');
    props.onFailureQueue.grantSend(role);
    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'Mapping', {
      target: props.detectFunction,
      eventSourceArn: this.stream.streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize,
      maxBatchingWindow,
      parallelizationFactor,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts,
      maxRecordAge,
      onFailure: {
        // The destination only: the permission to send was granted above, without wildcard actions.
        bind: () => ({ destination: props.onFailureQueue.queue.queueArn }),
      },
    });
  }
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`IngestStreamProps.${name} must be an integer from ${min} to ${max}`);
  }
}
