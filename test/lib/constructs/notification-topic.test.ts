import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { NotificationTopic } from '../../../lib/constructs/notification-topic';
import { testStack } from '../helpers';

describe('NotificationTopic', () => {
  it('encrypts the topic with its own rotating key and denies non-TLS publishing', () => {
    const stack = testStack();
    new NotificationTopic(stack, 'Alerts', { displayName: 'Alerts' });

    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('subscribes each address by e-mail', () => {
    const stack = testStack();
    new NotificationTopic(stack, 'Alerts', {
      displayName: 'Alerts',
      emails: ['a@example.com', 'b@example.com'],
    });

    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'b@example.com',
    });
  });

  it('lets CloudWatch alarms of the account use the key only when asked', () => {
    const withAlarms = testStack();
    new NotificationTopic(withAlarms, 'Ops', { displayName: 'Ops', allowCloudWatchAlarms: true });
    const without = testStack();
    new NotificationTopic(without, 'Alerts', { displayName: 'Alerts' });

    const statement = Match.objectLike({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
    });

    Template.fromStack(withAlarms).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([statement]) },
    });
    expect(JSON.stringify(Template.fromStack(without).toJSON())).not.toContain('cloudwatch.amazonaws.com');
  });

  it('throws on something that is not an e-mail address', () => {
    expect(
      () => new NotificationTopic(testStack(), 'Alerts', { displayName: 'Alerts', emails: ['nobody'] }),
    ).toThrow(/emails: "nobody"/);
  });
});
