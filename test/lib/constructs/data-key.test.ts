import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DataKey } from '../../../lib/constructs/data-key';
import { testStack } from '../helpers';

describe('DataKey', () => {
  it('rotates yearly and is retained', () => {
    const stack = testStack();
    new DataKey(stack, 'Data');

    const template = Template.fromStack(stack);

    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 },
      DeletionPolicy: 'Retain',
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('logs.us-east-1.amazonaws.com');
  });

  it('lets CloudWatch Logs use it for this account and region only', () => {
    const stack = testStack('eu-west-1');
    new DataKey(stack, 'Data', { allowCloudWatchLogs: true });

    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111122223333:log-group:*'],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });
});
