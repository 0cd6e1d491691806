import { Annotations, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { SourceName } from '../../lambda/engine/ecs';
import type { Rule } from '../../lambda/engine/rules';
import type { DeadLetterQueue } from './dead-letter-queue';

const MINUTE_MS = 60_000;

/** How often the sweep runs, and the rules that decided it. */
export interface SweepCadence {
  /** Whole minutes, at least one (EventBridge's smallest rate). */
  readonly interval: Duration;
  /** The enabled rules the sweep reads, each with its own interval in whole minutes. */
  readonly rules: ReadonlyArray<{
    readonly id: string;
    /** As the rule file writes it (`5m`). */
    readonly interval: string;
    readonly intervalMs: number;
    /** The interval rounded up to whole minutes. */
    readonly minutes: number;
  }>;
}

/**
 * The sweep's cadence from the rule files: the smallest `schedule.interval` of the enabled rules that read a
 * swept source, rounded up to whole minutes (EventBridge's rates are whole minutes, one at least: `90s` runs
 * every 2 minutes, `30s` every minute). `undefined` when no enabled rule reads a swept source.
 */
export function sweepCadence(
  rules: readonly Rule[],
  sources: readonly SourceName[],
): SweepCadence | undefined {
  const swept = rules
    .filter((rule) => rule.schedule.enabled && rule.sources.some((source) => sources.includes(source)))
    .map((rule) => ({
      id: rule.id,
      interval: rule.schedule.interval,
      intervalMs: rule.schedule.intervalMs,
      minutes: Math.max(1, Math.ceil(rule.schedule.intervalMs / MINUTE_MS)),
    }));
  if (swept.length === 0) return undefined;
  return { interval: Duration.minutes(Math.min(...swept.map((rule) => rule.minutes))), rules: swept };
}

export interface SweepScheduleProps {
  /** The detection rules; the enabled ones that read a swept source set the cadence. */
  readonly rules: readonly Rule[];
  /** The sources the sweep has tables for. */
  readonly sources: readonly SourceName[];
  /** The sweep function. */
  readonly sweepFunction: lambda.IFunction;
  /** Receives schedule events EventBridge could not deliver to the function. */
  readonly deadLetterQueue: DeadLetterQueue;
}

/**
 * Runs the sweep on the cadence the rule files set. The sweep handler sweeps every enabled rule in each run
 * (the schedule event carries no rule), so there is one schedule, at the smallest interval; a rule with a
 * longer interval is swept as often, in smaller windows, which costs queries but loses nothing. Changing a
 * rule's `schedule.interval` or `schedule.enabled` changes this schedule at the next deployment.
 */
export class SweepSchedule extends Construct {
  public readonly eventRule: events.Rule;
  public readonly cadence: SweepCadence;

  constructor(scope: Construct, id: string, props: SweepScheduleProps) {
    super(scope, id);
    const cadence = sweepCadence(props.rules, props.sources);
    if (cadence === undefined) {
      throw new Error(
        `SweepScheduleProps.rules: no enabled rule reads a swept source (${props.sources.join(', ') || 'none'})`,
      );
    }
    this.cadence = cadence;
    const minutes = cadence.interval.toMinutes();
    for (const rule of cadence.rules) {
      if (rule.minutes * MINUTE_MS !== rule.intervalMs) {
        Annotations.of(this).addInfo(
          `Rule ${rule.id}: schedule.interval ${rule.interval} is rounded up to ${rule.minutes} minute(s), EventBridge's resolution`,
        );
      }
      if (rule.minutes > minutes) {
        Annotations.of(this).addInfo(
          `Rule ${rule.id} (every ${rule.interval}) is swept every ${minutes} minute(s), with the other rules`,
        );
      }
    }

    const describe = cadence.rules.map((rule) => `${rule.id}: ${rule.interval}`).join(', ');
    const description = `Runs the sweep every ${minutes} minute(s), the smallest schedule.interval of the enabled rules (${describe})`;
    this.eventRule = new events.Rule(this, 'Rule', {
      description: description.length <= 512 ? description : `${description.slice(0, 509)}...`,
      schedule: events.Schedule.rate(cadence.interval),
    });
    this.eventRule.addTarget(
      new targets.LambdaFunction(props.sweepFunction, {
        deadLetterQueue: props.deadLetterQueue.queue,
        // A schedule event older than one interval is superseded by the next one.
        maxEventAge: Duration.seconds(Math.min(Math.max(cadence.interval.toSeconds(), 60), 86_400)),
        retryAttempts: 2,
      }),
    );
    props.deadLetterQueue.allowEventBridgeRules();
  }
}
