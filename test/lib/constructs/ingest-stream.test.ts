import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { IngestStream, type IngestStreamProps } from '../../../lib/constructs/ingest-stream';
import { testStack } from '../helpers';

function build(props: Partial<IngestStreamProps> = {}): Template {
  const stack = testStack();
  const detectFunction = new lambda.Function(stack, 'Detect', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  const onFailureQueue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });
  new IngestStream(stack, 'Azure', {
    description: 'Azure Activity Log',
    detectFunction,
    onFailureQueue,
    ...props,
  });
  return Template.fromStack(stack);
}

describe('IngestStream', () => {
  it('encrypts the stream with its own rotating KMS key', () => {
    const template = build();

    template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 1,
      RetentionPeriodHours: 24,
      StreamEncryption: {
        EncryptionType: 'KMS',
        KeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AzureKey'), 'Arn'] },
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'Azure Activity Log stream encryption',
      EnableKeyRotation: true,
    });
  });

  it('maps the stream to the function with partial batch failures, bisection, bounded retries and a failure destination', () => {
    build().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AzureStream'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^Detect') },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 21_600,
      ParallelizationFactor: 2,
      BatchSize: 100,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DlqQueue'), 'Arn'] } },
      },
    });
  });

  it('lets the function read this stream and decrypt with its key, without wildcard actions', () => {
    build().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: [
              'kinesis:DescribeStream',
              'kinesis:DescribeStreamSummary',
              'kinesis:GetRecords',
              'kinesis:GetShardIterator',
              'kinesis:ListShards',
            ],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AzureStream'), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AzureKey'), 'Arn'] },
          },
        ]),
      },
    });
  });

  it('takes other mapping settings', () => {
    build({
      parallelizationFactor: 4,
      retryAttempts: 2,
      maxRecordAge: Duration.hours(1),
    }).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3600,
    });
  });

  it.each([
    [{ parallelizationFactor: 11 }, /parallelizationFactor/],
    [{ maxRecordAge: Duration.hours(48) }, /maxRecordAge/],
    [{ shardCount: 0 }, /shardCount/],
    [{ retentionPeriod: Duration.hours(12) }, /retentionPeriod/],
  ])('throws on %j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
