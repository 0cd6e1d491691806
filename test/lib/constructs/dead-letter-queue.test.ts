import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { testStack } from '../helpers';

describe('DeadLetterQueue', () => {
  it('encrypts messages with the KMS key, keeps them 14 days and refuses non-TLS requests', () => {
    const stack = testStack();
    new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });

    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      MessageRetentionPeriod: 1_209_600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets EventBridge rules of the account encrypt dead letters, once however many rules ask', () => {
    const stack = testStack();
    const queue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });

    queue.allowEventBridgeRules();
    queue.allowEventBridgeRules();

    const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    const allStatements = (key?.Properties.KeyPolicy.Statement ?? []) as Array<{
      Sid?: string;
      Condition?: unknown;
    }>;
    const statements = allStatements.filter(
      (statement) => statement.Sid === 'AllowEventBridgeRulesOfThisAccount',
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': '111122223333' },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:us-east-1:111122223333:rule/*']],
        },
      },
    });
  });

  it('grants a sender SendMessage on the queue and the two KMS actions on its key', () => {
    const stack = testStack();
    const queue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });
    const role = new iam.Role(stack, 'Sender', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    queue.grantSend(role);

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'SendToDeadLetterQueue',
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Resource: Match.anyValue(),
          },
          {
            Sid: 'EncryptDeadLetters',
            Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
            Effect: 'Allow',
            Resource: Match.anyValue(),
          },
        ],
      },
    });
  });

  it('throws on a retention SQS does not allow', () => {
    const stack = testStack();

    expect(
      () =>
        new DeadLetterQueue(stack, 'Dlq', {
          encryptionKey: new kms.Key(stack, 'Key'),
          retentionPeriod: Duration.days(15),
        }),
    ).toThrow(/retentionPeriod/);
  });
});
