import type { EcsEvent } from '../ecs';
import { stringAt } from './fields';

/**
 * A link that opens the event in its own cloud's console, so the analyst starts from the vendor's
 * record rather than our copy of it. Every component is URL-encoded: the values come from the log.
 */
export function consoleLink(doc: EcsEvent): string | undefined {
  switch (doc.cloud.provider) {
    case 'aws':
      return awsLink(doc);
    case 'azure':
      return azureLink(doc);
    case 'gcp':
      return gcpLink(doc);
    default:
      return undefined;
  }
}

/**
 * CloudTrail Event history's page for this event id, in the region that recorded the call (IAM calls
 * are recorded in us-east-1). Event history keeps 90 days of management events.
 */
function awsLink(doc: EcsEvent): string {
  const region = encode(doc.cloud.region ?? 'us-east-1');
  return `https://${region}.console.aws.amazon.com/cloudtrail/home?region=${region}#/events/${encode(doc.event.id)}`;
}

/**
 * The Activity Log blade cannot deep-link one event, so the link opens the subscription's activity
 * log; the event id and correlation id in the alert identify the entry.
 */
function azureLink(doc: EcsEvent): string {
  const subscription = doc.cloud.account?.id;
  const base = 'https://portal.azure.com/#view/Microsoft_Azure_ActivityLog/ActivityLogBlade';
  return subscription ? `${base}/subscriptionId/${encode(subscription)}` : base;
}

/** Logs Explorer with a query for exactly this entry's insertId, around its timestamp. */
function gcpLink(doc: EcsEvent): string {
  const project = doc.cloud.account?.id;
  const query = `insertId="${doc.event.id.replace(/["\\]/g, '\\$&')}"`;
  const time = stringAt(doc, '@timestamp');
  const timeRange = time ? `;cursorTimestamp=${encode(time)};duration=PT1H` : '';
  const projectParam = project ? `?project=${encode(project)}` : '';
  return `https://console.cloud.google.com/logs/query;query=${encode(query)}${timeRange}${projectParam}`;
}

/** A lone surrogate (half of a character, as a JSON `\ud800` escape can carry) is not encodable. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `encodeURIComponent`, which throws `URIError` on a lone surrogate: an event id or region from the log
 * must never stop the alert from being built, so those become U+FFFD.
 */
function encode(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, '\ufffd'));
}
