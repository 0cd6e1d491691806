import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import {
  LakeDeliveryStream,
  type LakeDeliveryStreamProps,
  lakeDataPrefix,
  lakeErrorPrefix,
} from '../../../lib/constructs/lake-delivery-stream';
import { actionsOf, identityStatements, resourcesOf, testStack } from '../helpers';

function build(overrides: Partial<LakeDeliveryStreamProps> = {}): {
  template: Template;
  delivery: LakeDeliveryStream;
} {
  const stack = testStack();
  const streamKey = new kms.Key(stack, 'StreamKey');
  const bucketKey = new kms.Key(stack, 'BucketKey');
  const delivery = new LakeDeliveryStream(stack, 'Delivery', {
    source: 'gcp-audit-logs',
    stream: new kinesis.Stream(stack, 'Stream', {
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: streamKey,
    }),
    streamKey,
    bucket: new s3.Bucket(stack, 'Lake', { encryptionKey: bucketKey }),
    bucketKey,
    logEncryptionKey: new kms.Key(stack, 'LogKey'),
    ...overrides,
  });
  return { template: Template.fromStack(stack), delivery };
}

describe('lakeDataPrefix', () => {
  it.each([
    ['azure-activity-logs', '', 'azure-activity-logs/dt=!{timestamp:yyyy-MM-dd-HH}/'],
    ['gcp-audit-logs', 'lake/', 'lake/gcp-audit-logs/dt=!{timestamp:yyyy-MM-dd-HH}/'],
  ] as const)('writes %s with prefix "%s" under %s', (source, prefix, expected) => {
    expect(lakeDataPrefix(source, prefix)).toBe(expected);
  });

  it('keeps failed deliveries outside the table location', () => {
    expect(lakeErrorPrefix('gcp-audit-logs')).toBe(
      'errors/gcp-audit-logs/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd-HH}/',
    );
    expect(lakeErrorPrefix('gcp-audit-logs').startsWith('gcp-audit-logs/')).toBe(false);
  });
});

describe('LakeDeliveryStream', () => {
  it('reads the stream and writes GZIP lines under the hourly prefix with the lake key', () => {
    build().template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'KinesisStreamAsSource',
      KinesisStreamSourceConfiguration: {
        KinesisStreamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Stream'), 'Arn'] },
        RoleARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryRole'), 'Arn'] },
      },
      ExtendedS3DestinationConfiguration: {
        BucketARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Lake'), 'Arn'] },
        RoleARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeliveryRole'), 'Arn'] },
        Prefix: 'gcp-audit-logs/dt=!{timestamp:yyyy-MM-dd-HH}/',
        ErrorOutputPrefix:
          'errors/gcp-audit-logs/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd-HH}/',
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 5 },
        CompressionFormat: 'GZIP',
        EncryptionConfiguration: {
          KMSEncryptionConfig: {
            AWSKMSKeyARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BucketKey'), 'Arn'] },
          },
        },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }],
        },
        CloudWatchLoggingOptions: {
          Enabled: true,
          LogGroupName: { Ref: Match.stringLikeRegexp('^DeliveryLogs') },
          LogStreamName: { Ref: Match.stringLikeRegexp('^DeliveryDeliveryErrors') },
        },
        S3BackupMode: 'Disabled',
      },
    });
  });

  it('lets only Firehose of this account assume its role, and only after the policy exists', () => {
    const { template } = build();

    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: { StringEquals: { 'sts:ExternalId': '111122223333' } },
          }),
        ],
      },
    });
    const [stream] = Object.values(template.findResources('AWS::KinesisFirehose::DeliveryStream'));
    expect(stream?.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DeliveryRoleDefaultPolicy/),
        expect.stringMatching(/^DeliveryRole[0-9A-F]/),
      ]),
    );
  });

  it('scopes the role to its stream, its stream key through Kinesis, its prefixes and the lake key through S3', () => {
    const statements = identityStatements(build().template).map(({ statement }) => ({
      sid: statement.Sid,
      actions: actionsOf(statement),
      resources: JSON.stringify(resourcesOf(statement)),
      condition: statement.Condition,
    }));

    expect(statements.map(({ sid, actions }) => [sid, actions])).toEqual([
      [
        'ReadTheStream',
        ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
      ],
      ['DecryptTheStream', ['kms:Decrypt']],
      ['LocateTheLake', ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads']],
      ['WriteItsPrefixes', ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject']],
      ['EncryptObjectsWithTheLakeKey', ['kms:GenerateDataKey', 'kms:Decrypt']],
      ['LogDeliveryErrors', ['logs:PutLogEvents']],
    ]);
    const bySid = new Map(statements.map((statement) => [statement.sid, statement]));
    expect(bySid.get('WriteItsPrefixes')?.resources).toMatch(
      /"\/gcp-audit-logs\/\*".*"\/errors\/gcp-audit-logs\/\*"/,
    );
    expect(bySid.get('DecryptTheStream')?.condition).toEqual({
      StringEquals: { 'kms:ViaService': 'kinesis.us-east-1.amazonaws.com' },
    });
    expect(bySid.get('EncryptObjectsWithTheLakeKey')?.condition).toEqual({
      StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    });
    expect(bySid.get('EncryptObjectsWithTheLakeKey')?.resources).toMatch(/BucketKey/);
    for (const statement of statements) {
      for (const action of statement.actions) expect(action).not.toContain('*');
      expect(statement.resources).not.toContain('"*"');
    }
  });

  it('takes the buffering from the props', () => {
    build({
      bufferInterval: Duration.seconds(60),
      bufferSize: Size.mebibytes(64),
    }).template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
      }),
    });
  });

  it.each([
    [{ bufferInterval: Duration.seconds(901) }, /bufferInterval must be whole seconds from 0 to 900/],
    [{ bufferSize: Size.mebibytes(129) }, /bufferSize must be whole MiB from 1 to 128/],
    [{ prefix: 'lake' }, /prefix must be empty or \/-separated parts ending in "\/"/],
    [{ source: 'aws-cloudtrail' as never }, /source: aws-cloudtrail is not a lake source/],
  ])('throws on %j', (overrides, message) => {
    expect(() => build(overrides)).toThrow(message);
  });
});
