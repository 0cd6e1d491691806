import type { Alert } from './alert';

/**
 * What a suppression group folded in after its alert went out: sent once the group's window has
 * closed, instead of one alert per match.
 */
export interface AlertDigest {
  readonly alertId: string;
  readonly rule: { readonly id: string; readonly name: string; readonly severity: string };
  readonly groupBy: Readonly<Record<string, string | null>>;
  readonly windowStart: string;
  readonly windowEnd: string;
  /** Matches in the group, the alerted one included. */
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly sampleEventIds: readonly string[];
}

/**
 * Where alerts leave the system (SNS in AWS). The outbox calls it and marks an alert SENT only
 * after it returns, so an implementation must throw on any failure rather than swallow it.
 */
export interface AlertPublisher {
  publishAlert(alert: Alert): Promise<void>;
  publishDigest(digest: AlertDigest): Promise<void>;
}
