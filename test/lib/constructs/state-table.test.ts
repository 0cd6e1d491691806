import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { StateTable } from '../../../lib/constructs/state-table';
import { testStack } from '../helpers';

describe('StateTable', () => {
  const build = (removalPolicy?: RemovalPolicy): Template => {
    const stack = testStack();
    const encryptionKey = new kms.Key(stack, 'Key');
    new StateTable(stack, 'State', {
      encryptionKey,
      ...(removalPolicy === undefined ? {} : { removalPolicy }),
    });
    return Template.fromStack(stack);
  };

  it('keys items by pk alone and expires them through expiresAt', () => {
    const template = build();

    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('indexes pending outbox alerts by lease expiry', () => {
    const template = build();

    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'outboxPending', AttributeType: 'S' },
        { AttributeName: 'leaseUntil', AttributeType: 'N' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'pending',
          KeySchema: [
            { AttributeName: 'outboxPending', KeyType: 'HASH' },
            { AttributeName: 'leaseUntil', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('encrypts with the given customer-managed key and keeps point-in-time recovery', () => {
    const template = build();

    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('retains the table by default and honours another removal policy', () => {
    expect(Object.values(build().findResources('AWS::DynamoDB::Table'))[0]?.DeletionPolicy).toBe('Retain');
    expect(
      Object.values(build(RemovalPolicy.DESTROY).findResources('AWS::DynamoDB::Table'))[0]?.DeletionPolicy,
    ).toBe('Delete');
  });
});
