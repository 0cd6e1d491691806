import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { LakeBucket } from '../../../lib/constructs/lake-bucket';
import { testStack } from '../helpers';

function build(retention?: Duration): { template: Template; lake: LakeBucket } {
  const stack = testStack();
  const lake = new LakeBucket(stack, 'Lake', {
    accessLogsBucket: new s3.Bucket(stack, 'AccessLogs'),
    ...(retention === undefined ? {} : { retention }),
  });
  return { template: Template.fromStack(stack), lake };
}

describe('LakeBucket', () => {
  it('encrypts the lake with a rotated key of its own, versions it, blocks public access and logs access', () => {
    const { template, lake } = build();
    const stack = lake.bucket.stack;

    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: {
                'Fn::GetAtt': [stack.getLogicalId(lake.key.node.defaultChild as never), 'Arn'],
              },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'lake/' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('expires records after 400 days and old versions after 30 by default', () => {
    build().template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ ExpirationInDays: 400, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        ]),
      },
    });
  });

  it('denies requests without TLS', () => {
    build().template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('throws when the retention is shorter than a day', () => {
    expect(() => build(Duration.hours(12))).toThrow(/LakeBucketProps.retention must be at least one day/);
  });
});
