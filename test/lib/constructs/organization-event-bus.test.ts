import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OrganizationEventBus } from '../../../lib/constructs/organization-event-bus';
import { testStack } from '../helpers';

describe('OrganizationEventBus', () => {
  it('allows PutEvents only to principals of the organization', () => {
    const stack = testStack();
    new OrganizationEventBus(stack, 'Org', { organizationId: 'o-abcdefghij' });

    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::Events::EventBus', {
      Name: 'abnormal-cloud-api-calls-organization',
    });
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } },
      },
    });
  });

  it('throws on something that is not an organization id', () => {
    expect(() => new OrganizationEventBus(testStack(), 'Org', { organizationId: '123456789012' })).toThrow(
      /organizationId: "123456789012"/,
    );
  });
});
