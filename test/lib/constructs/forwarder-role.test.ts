import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { type ForwarderIdentity, ForwarderRole } from '../../../lib/constructs/forwarder-role';
import { logicalIdsOf, testStack } from '../helpers';

const TENANT = '11111111-2222-3333-4444-555555555555';

function build(identity: ForwarderIdentity): Template {
  const stack = testStack();
  const streamKey = new kms.Key(stack, 'StreamKey');
  const stream = new kinesis.Stream(stack, 'Stream', {
    encryptionKey: streamKey,
    encryption: kinesis.StreamEncryption.KMS,
  });
  new ForwarderRole(stack, 'Forwarder', { identity, stream, streamKey });
  return Template.fromStack(stack);
}

describe('ForwarderRole', () => {
  it('trusts Entra ID tokens of one tenant, audience and subject through an OIDC provider', () => {
    const template = build({
      provider: 'azure',
      tenantId: TENANT,
      audience: 'api://forwarder',
      subject: 'object-id-1',
    });

    template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: `https://sts.windows.net/${TENANT}/`,
      ClientIdList: ['api://forwarder'],
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRoleWithWebIdentity',
            Principal: { Federated: { Ref: Match.stringLikeRegexp('^ForwarderEntraIdProvider') } },
            Condition: {
              StringEquals: {
                [`sts.windows.net/${TENANT}/:aud`]: 'api://forwarder',
                [`sts.windows.net/${TENANT}/:sub`]: 'object-id-1',
              },
            },
          },
        ],
      },
      MaxSessionDuration: 3600,
    });
  });

  it('uses the v2 issuer when asked', () => {
    build({
      provider: 'azure',
      tenantId: TENANT,
      audience: 'a',
      subject: 's',
      issuer: 'v2',
    }).hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    });
  });

  it('trusts Google ID tokens of one service account, pinning aud, oaud and sub', () => {
    const template = build({ provider: 'gcp', audience: 'aws-forwarder', subject: '112233445566778899001' });

    template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRoleWithWebIdentity',
            Principal: { Federated: 'accounts.google.com' },
            Condition: {
              StringEquals: {
                'accounts.google.com:aud': '112233445566778899001',
                'accounts.google.com:oaud': 'aws-forwarder',
                'accounts.google.com:sub': '112233445566778899001',
              },
            },
          },
        ],
      },
    });
  });

  it('may put records on its stream and generate data keys with its key, nothing else', () => {
    const template = build({ provider: 'gcp', audience: 'aws-forwarder', subject: '112233445566778899001' });
    const [streamId] = logicalIdsOf(template, 'AWS::Kinesis::Stream');
    const [keyId] = logicalIdsOf(template, 'AWS::KMS::Key');

    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'WriteRecordsToItsStream',
            Effect: 'Allow',
            Action: ['kinesis:PutRecord', 'kinesis:PutRecords', 'kinesis:DescribeStreamSummary'],
            Resource: { 'Fn::GetAtt': [streamId, 'Arn'] },
          },
          {
            Sid: 'EncryptRecordsWithTheStreamKey',
            Effect: 'Allow',
            Action: 'kms:GenerateDataKey',
            Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
          },
        ],
      },
    });
    template.resourceCountIs('AWS::IAM::User', 0);
    template.resourceCountIs('AWS::IAM::AccessKey', 0);
  });

  it.each<[ForwarderIdentity, RegExp]>([
    [{ provider: 'azure', tenantId: 'not-a-guid', audience: 'a', subject: 's' }, /tenantId/],
    [{ provider: 'gcp', audience: 'a', subject: 'sa@project.iam.gserviceaccount.com' }, /numeric unique id/],
    [{ provider: 'gcp', audience: 'a*', subject: '112233445566778899001' }, /identity.audience/],
  ])('throws on %j', (identity, message) => {
    expect(() => build(identity)).toThrow(message);
  });
});
