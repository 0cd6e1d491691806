import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { compileEventPattern } from '../../../lambda/engine/compile/eventbridge-pattern';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { IamEventForwarder } from '../../../lib/constructs/iam-event-forwarder';
import { loadRepositoryRules, testStack } from '../helpers';

const homeBus = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111122223333:event-bus/default']],
};

describe('IamEventForwarder', () => {
  it('forwards what each rule pattern selects to the home default bus, with a role and a dead-letter queue', async () => {
    const rules = await loadRepositoryRules();
    const stack = testStack('us-east-1');
    const deadLetterQueue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });
    new IamEventForwarder(stack, 'Forwarder', { rules, homeRegion: 'eu-west-1', deadLetterQueue });

    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: compileEventPattern((rules[0] as (typeof rules)[number]).ast).pattern,
      Targets: [
        {
          Arn: homeBus,
          Id: 'Target0',
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ForwarderRole'), 'Arn'] },
          DeadLetterConfig: { Arn: Match.anyValue() },
        },
      ],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'PutEventsOnTheHomeBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus },
        ]),
      },
    });
  });

  it('throws when the home region is the region it is deployed in', async () => {
    const rules = await loadRepositoryRules();
    const stack = testStack('us-east-1');
    const deadLetterQueue = new DeadLetterQueue(stack, 'Dlq', { encryptionKey: new kms.Key(stack, 'Key') });

    expect(
      () => new IamEventForwarder(stack, 'Forwarder', { rules, homeRegion: 'us-east-1', deadLetterQueue }),
    ).toThrow(/homeRegion must differ/);
  });
});
