import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface PrivateBucketProps {
  /** Encrypts the objects, with an S3 bucket key so that reads and writes do not each call KMS. */
  readonly encryptionKey: kms.IKey;
  /** Where the bucket's server access logs go: the detector's access-log bucket, under this prefix. */
  readonly accessLogs: { readonly bucket: s3.IBucket; readonly prefix: string };
  /** How long an object is kept. */
  readonly expiration: Duration;
  /** How long a replaced or deleted object's old version, and an upload left incomplete, are kept. */
  readonly cleanup: { readonly noncurrentVersions: Duration; readonly incompleteUploads: Duration };
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A bucket that holds the detector's data (bad records, the lake, Athena results), in the one shape all of
 * them share, so that none can drift from it: KMS-encrypted, versioned, TLS-only, never public, no ACLs
 * (owner-enforced), access-logged, and expired by lifecycle. Each construct still checks its own settings
 * and names its own reasons to the nag packs.
 */
export function privateBucket(scope: Construct, id: string, props: PrivateBucketProps): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: props.encryptionKey,
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: props.accessLogs.bucket,
    serverAccessLogsPrefix: props.accessLogs.prefix,
    lifecycleRules: [
      { expiration: props.expiration, noncurrentVersionExpiration: props.cleanup.noncurrentVersions },
      { abortIncompleteMultipartUploadAfter: props.cleanup.incompleteUploads },
    ],
    removalPolicy: props.removalPolicy,
  });
}
