import { Annotations, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EventBridgePattern } from '../../lambda/engine/compile/eventbridge-pattern';
import { compileEventPattern } from '../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../lambda/engine/rules';
import { acknowledge } from '../nag';
import { toEventPattern } from './cloudtrail-ingest';
import type { DeadLetterQueue } from './dead-letter-queue';

export interface IamEventForwarderProps {
  /** The detection rules; those selecting `aws-cloudtrail` get a forwarding rule with the same pattern. */
  readonly rules: readonly Rule[];
  /** The region whose default event bus receives the events (the detector's home). */
  readonly homeRegion: string;
  /** Receives events EventBridge could not forward. */
  readonly deadLetterQueue: DeadLetterQueue;
}

/**
 * IAM (a global service) delivers its CloudTrail events to EventBridge in us-east-1 only. When the detector
 * lives in another region, this construct, deployed in us-east-1, forwards the events each rule's compiled
 * pattern selects to the home region's default bus, where the detector's own rules pick them up.
 * EventBridge retries event-bus targets with its default policy (24 hours, 185 attempts; a bus target
 * takes no retry policy), then dead-letters.
 */
export class IamEventForwarder extends Construct {
  public readonly eventRules: events.Rule[] = [];
  /** The role EventBridge assumes to put events on the home bus. */
  public readonly role: iam.Role;
  public readonly patterns: ReadonlyMap<string, EventBridgePattern>;

  constructor(scope: Construct, id: string, props: IamEventForwarderProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region) && stack.region === props.homeRegion) {
      throw new Error(
        'IamEventForwarderProps.homeRegion must differ from the region the forwarder is deployed in',
      );
    }

    const homeBusArn = stack.formatArn({
      service: 'events',
      region: props.homeRegion,
      resource: 'event-bus',
      resourceName: 'default',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const homeBus = events.EventBus.fromEventBusArn(this, 'HomeBus', homeBusArn);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: `Forwards IAM CloudTrail events to the default event bus of ${props.homeRegion}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PutEventsOnTheHomeBus',
        actions: ['events:PutEvents'],
        resources: [homeBusArn],
      }),
    );

    acknowledge(
      this.role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      'The policy belongs to this one EventBridge role and allows events:PutEvents on the home default bus only; ' +
        'an inline policy keeps it from being attached to any other principal.',
    );

    const patterns = new Map<string, EventBridgePattern>();
    for (const rule of props.rules) {
      if (!rule.sources.includes('aws-cloudtrail')) continue;
      const { pattern } = compileEventPattern(rule.ast);
      if (pattern === null) {
        Annotations.of(this).addInfo(
          `Rule ${rule.id} can never match a CloudTrail event: nothing to forward`,
        );
        continue;
      }
      patterns.set(rule.id, pattern);
      const eventRule = new events.Rule(this, rule.id, {
        description: `Forwards events for detection rule ${rule.id} to ${props.homeRegion}`.slice(0, 512),
        eventPattern: toEventPattern(pattern),
      });
      eventRule.addTarget(
        new targets.EventBus(homeBus, {
          role: this.role,
          deadLetterQueue: props.deadLetterQueue.queue,
        }),
      );
      props.deadLetterQueue.allowEventBridgeRules();
      this.eventRules.push(eventRule);
    }
    this.patterns = patterns;
  }
}
