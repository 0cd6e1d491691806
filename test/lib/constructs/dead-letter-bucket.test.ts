import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { DeadLetterBucket } from '../../../lib/constructs/dead-letter-bucket';
import { testStack } from '../helpers';

describe('DeadLetterBucket', () => {
  const build = (): { template: Template; construct: DeadLetterBucket } => {
    const stack = testStack();
    const construct = new DeadLetterBucket(stack, 'DeadLetters', {
      encryptionKey: new kms.Key(stack, 'Key'),
    });
    return { template: Template.fromStack(stack), construct };
  };

  it('encrypts bad records with the KMS key, versions them and blocks public access', () => {
    const { template, construct } = build();
    const stack = construct.bucket.stack;

    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: {
        DestinationBucketName: {
          Ref: stack.getLogicalId(construct.accessLogsBucket.node.defaultChild as never),
        },
        LogFilePrefix: 'dead-letter/',
      },
    });
  });

  it('expires records and old versions', () => {
    const { template } = build();

    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: Match.anyValue(),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            ExpirationInDays: 365,
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('denies requests without TLS on both buckets', () => {
    const { template } = build();

    const policies = template.findResources('AWS::S3::BucketPolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    expect(Object.keys(policies)).toHaveLength(2);
  });

  it('encrypts the access-log bucket with S3-managed keys, the only kind log delivery supports', () => {
    const { template } = build();

    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('throws when a retention is shorter than a day', () => {
    const stack = testStack();

    expect(
      () =>
        new DeadLetterBucket(stack, 'Bad', {
          encryptionKey: new kms.Key(stack, 'K'),
          retention: Duration.hours(1),
        }),
    ).toThrow(/retention/);
  });
});
