import { Annotations, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { EventBridgePattern } from '../../lambda/engine/compile/eventbridge-pattern';
import { compileEventPattern } from '../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../lambda/engine/rules';
import type { DeadLetterQueue } from './dead-letter-queue';

export interface CloudTrailIngestProps {
  /**
   * The detection rules; those whose index patterns select `aws-cloudtrail` get an EventBridge rule each,
   * with the event pattern compiled from their query.
   */
  readonly rules: readonly Rule[];
  /** Receives the matching CloudTrail events. */
  readonly detectFunction: lambda.IFunction;
  /** Receives events EventBridge could not deliver to the function. */
  readonly deadLetterQueue: DeadLetterQueue;
  /**
   * A second bus to listen on besides the account's default bus: the organization bus that member accounts
   * forward their CloudTrail events to.
   * @default - the default bus only
   */
  readonly organizationEventBus?: events.IEventBus;
  /**
   * How long EventBridge keeps retrying delivery to the function (60 s to 24 h).
   * @default Duration.hours(6)
   */
  readonly maxEventAge?: Duration;
  /**
   * How many times EventBridge retries delivery to the function (0 to 185).
   * @default 20
   */
  readonly retryAttempts?: number;
}

/**
 * The real-time CloudTrail path: one EventBridge rule per detection rule (and per bus) whose event pattern
 * is the rule's query compiled to a sound pre-filter, targeting the detect function with a retry policy and
 * an encrypted dead-letter queue. Adding a rule file adds a rule here with no code change.
 */
export class CloudTrailIngest extends Construct {
  /** The EventBridge rules, in rule order (default bus first, then the organization bus). */
  public readonly eventRules: events.Rule[] = [];
  /** The compiled pattern of each detection rule that has one, by rule id. */
  public readonly patterns: ReadonlyMap<string, EventBridgePattern>;

  constructor(scope: Construct, id: string, props: CloudTrailIngestProps) {
    super(scope, id);
    const maxEventAge = props.maxEventAge ?? Duration.hours(6);
    const retryAttempts = props.retryAttempts ?? 20;
    if (maxEventAge.toSeconds() < 60 || maxEventAge.toSeconds() > 86_400) {
      throw new Error('CloudTrailIngestProps.maxEventAge must be between 60 seconds and 24 hours');
    }
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
      throw new Error('CloudTrailIngestProps.retryAttempts must be an integer from 0 to 185');
    }

    const patterns = new Map<string, EventBridgePattern>();
    const buses: Array<{ label: string; bus: events.IEventBus | undefined }> = [
      { label: 'Default', bus: undefined },
    ];
    if (props.organizationEventBus !== undefined)
      buses.push({ label: 'Organization', bus: props.organizationEventBus });

    for (const rule of props.rules) {
      if (!rule.sources.includes('aws-cloudtrail')) continue;
      const compiled = compileEventPattern(rule.ast);
      if (compiled.pattern === null) {
        Annotations.of(this).addInfo(
          `Rule ${rule.id} can never match a CloudTrail event: no EventBridge rule`,
        );
        continue;
      }
      patterns.set(rule.id, compiled.pattern);
      for (const { label, bus } of buses) {
        const eventRule = new events.Rule(this, `${rule.id}-${label}`, {
          ...(bus === undefined ? {} : { eventBus: bus }),
          description: describeRule(rule, compiled.widened),
          eventPattern: toEventPattern(compiled.pattern),
        });
        eventRule.addTarget(
          new targets.LambdaFunction(props.detectFunction, {
            deadLetterQueue: props.deadLetterQueue.queue,
            maxEventAge,
            retryAttempts,
          }),
        );
        props.deadLetterQueue.allowEventBridgeRules();
        this.eventRules.push(eventRule);
      }
    }
    this.patterns = patterns;
  }
}

/** The CDK's camel-cased event pattern; filters that are objects (prefix, suffix) pass through as they are. */
export function toEventPattern(pattern: EventBridgePattern): events.EventPattern {
  return {
    ...(pattern.source === undefined ? {} : { source: [...pattern.source] }),
    detailType: pattern['detail-type'] as unknown as string[],
    ...(pattern.detail === undefined ? {} : { detail: pattern.detail as Record<string, unknown> }),
  };
}

function describeRule(rule: Rule, widened: readonly string[]): string {
  const text = `Pre-filter for detection rule ${rule.id} (${rule.name})${
    widened.length === 0 ? '' : `; widened: ${widened.join('; ')}`
  }`;
  return text.length <= 512 ? text : `${text.slice(0, 509)}...`;
}
