import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { QueryWorkgroup, type QueryWorkgroupProps } from '../../../lib/constructs/query-workgroup';
import { testStack } from '../helpers';

function build(overrides: Partial<QueryWorkgroupProps> = {}): Template {
  const stack = testStack();
  new QueryWorkgroup(stack, 'Queries', {
    encryptionKey: new kms.Key(stack, 'DataKey'),
    accessLogsBucket: new s3.Bucket(stack, 'AccessLogs'),
    ...overrides,
  });
  return Template.fromStack(stack);
}

describe('QueryWorkgroup', () => {
  it('enforces engine 3, SSE-KMS results in its own bucket and a 10 GiB cutoff', () => {
    build().hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'abnormal-cloud-api-calls',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        BytesScannedCutoffPerQuery: 10_737_418_240,
        PublishCloudWatchMetricsEnabled: true,
        RequesterPaysEnabled: false,
        ResultConfiguration: {
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^QueriesResults') }, '/results/']],
          },
          EncryptionConfiguration: {
            EncryptionOption: 'SSE_KMS',
            KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
          },
          ExpectedBucketOwner: '111122223333',
        },
      },
    });
  });

  it('keeps results encrypted, private, TLS-only, logged, and for a week', () => {
    const template = build();

    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
            },
          }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicPolicy: true }),
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'athena-results/' },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('takes the cutoff and retention from the props', () => {
    const template = build({
      bytesScannedCutoffPerQuery: Size.gibibytes(1),
      resultRetention: Duration.days(2),
    });

    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 1_073_741_824 }),
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 2 })]) },
    });
  });

  it.each([
    [{ bytesScannedCutoffPerQuery: Size.mebibytes(9) }, /bytesScannedCutoffPerQuery must be at least 10 MB/],
    [{ resultRetention: Duration.hours(1) }, /resultRetention must be at least one day/],
    [{ workGroupName: 'no spaces' }, /workGroupName/],
  ])('throws on %j', (overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
