import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { privateBucket } from './private-bucket';

export interface DeadLetterBucketProps {
  /** Encrypts the bad records: raw log lines, as sensitive as the logs themselves. */
  readonly encryptionKey: kms.IKey;
  /**
   * How long a bad record is kept before it expires.
   * @default Duration.days(365)
   */
  readonly retention?: Duration;
  /**
   * How long the server access logs are kept.
   * @default Duration.days(365)
   */
  readonly accessLogRetention?: Duration;
  /**
   * What happens to both buckets when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where the detect function keeps records it could not decode, parse or normalize, so that nothing is
 * lost silently (DESIGN.md, "What bad input gets"). Versioned, KMS-encrypted, TLS-only, never public,
 * with lifecycle expiry and server access logs to a second bucket.
 */
export class DeadLetterBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DeadLetterBucketProps) {
    super(scope, id);
    const retention = props.retention ?? Duration.days(365);
    const accessLogRetention = props.accessLogRetention ?? Duration.days(365);
    if (retention.toSeconds() < 86_400 || accessLogRetention.toSeconds() < 86_400) {
      throw new Error('DeadLetterBucketProps.retention and accessLogRetention must be at least one day');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // Access logs are delivered under a bucket policy for the logging service, never through ACLs,
    // whatever the app's feature flags say.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    // Server access logging can only deliver to a bucket encrypted with S3-managed keys (SSE-S3).
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { expiration: accessLogRetention, noncurrentVersionExpiration: Duration.days(30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy,
    });

    this.bucket = privateBucket(this, 'Bucket', {
      encryptionKey: props.encryptionKey,
      accessLogs: { bucket: this.accessLogsBucket, prefix: 'dead-letter/' },
      expiration: retention,
      cleanup: { noncurrentVersions: Duration.days(30), incompleteUploads: Duration.days(7) },
      removalPolicy,
    });

    const notReplicated =
      'Dead letters and their access logs are a recovery aid for records whose originals stay with the vendor ' +
      '(CloudTrail, Event Hub, Pub/Sub); a replica in a second region would be one more copy of sensitive raw logs. ' +
      'Versioning protects against overwrites.';
    acknowledge(this.bucket, 'NIST.800.53.R5-S3BucketReplicationEnabled', notReplicated);
    acknowledge(this.accessLogsBucket, 'NIST.800.53.R5-S3BucketReplicationEnabled', notReplicated);
    acknowledge(
      this.accessLogsBucket,
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      'S3 server access logging delivers only to buckets encrypted with S3-managed keys (SSE-S3); SSE-KMS is not ' +
        'supported for the target bucket.',
    );
    acknowledge(
      this.accessLogsBucket,
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      'This is the access-log bucket itself: logging it into itself would log its own log deliveries forever.',
    );
    acknowledge(
      this.accessLogsBucket,
      'AwsSolutions-S1',
      'This is the access-log bucket itself: logging it into itself would log its own log deliveries forever.',
    );
  }
}
