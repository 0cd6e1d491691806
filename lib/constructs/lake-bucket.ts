import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { DataKey } from './data-key';
import { privateBucket } from './private-bucket';

export interface LakeBucketProps {
  /**
   * Receives the bucket's server access logs: the detector's one access-log bucket (SSE-S3, as S3 server
   * access logging requires).
   */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Key prefix of this bucket's access logs in `accessLogsBucket`.
   * @default 'lake/'
   */
  readonly accessLogsPrefix?: string;
  /**
   * How long raw records are kept. The sweep reads only the last hours; the rest serves retrospective
   * queries (`npm start -- --sql --since 30d`) and audits, so a little over a year by default.
   * @default Duration.days(400)
   */
  readonly retention?: Duration;
  /**
   * What happens to the bucket and its key when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Azure and GCP lake: the raw records of the ingest streams, delivered by Firehose in hourly prefixes and
 * read by the sweep through Athena. Encrypted with a key of its own (so that Firehose and the sweep are
 * granted this key and not the detector's data key), versioned, TLS-only, never public, expired by lifecycle,
 * with server access logs.
 */
export class LakeBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: LakeBucketProps) {
    super(scope, id);
    const retention = props.retention ?? Duration.days(400);
    if (retention.toSeconds() < 86_400) {
      throw new Error('LakeBucketProps.retention must be at least one day');
    }
    const accessLogsPrefix = props.accessLogsPrefix ?? 'lake/';
    if (accessLogsPrefix !== '' && !accessLogsPrefix.endsWith('/')) {
      throw new Error('LakeBucketProps.accessLogsPrefix must be empty or end in "/"');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = new DataKey(this, 'Key', {
      description: 'Abnormal Cloud API Calls lake (raw Azure and GCP records)',
      removalPolicy,
    }).key;
    this.bucket = privateBucket(this, 'Bucket', {
      encryptionKey: this.key,
      accessLogs: { bucket: props.accessLogsBucket, prefix: accessLogsPrefix },
      expiration: retention,
      cleanup: { noncurrentVersions: Duration.days(30), incompleteUploads: Duration.days(7) },
      removalPolicy,
    });
    acknowledge(
      this.bucket,
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      'The lake is a query copy of records whose originals stay with the vendor (Azure Activity Log, GCP Audit ' +
        'Logs) and pass through the Kinesis streams; a replica in a second region would be one more copy of ' +
        'sensitive raw logs. Versioning protects against overwrites.',
    );
  }
}
