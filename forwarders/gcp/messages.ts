/**
 * Pub/Sub CloudEvents → audit records. A Logging sink publishes one LogEntry per message, as JSON; Eventarc
 * delivers it as a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent whose `data.message.data` is
 * that JSON in base64. The decoded bytes are forwarded exactly as the sink wrote them. Anything else (no
 * data, not base64, not JSON) is forwarded as received, for the detector to count and dead-letter.
 */
import type { SourceRecord } from '../core/records';

export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The `data` of a `messagePublished` event (google-cloudevents `MessagePublishedData`). */
export interface MessagePublishedData {
  readonly message?: {
    readonly data?: string;
    readonly messageId?: string;
    readonly publishTime?: string;
    readonly attributes?: Readonly<Record<string, string>>;
  };
  readonly subscription?: string;
}

/** The CloudEvent fields we read; a framework `CloudEvent` is one. */
export interface PubSubCloudEvent {
  readonly id: string;
  readonly type: string;
  readonly data?: unknown;
}

export interface DecodedEvent {
  readonly record: SourceRecord;
  /** Why the message was forwarded as received, if it was. */
  readonly unrecognized?: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The one record a `messagePublished` event carries. */
export function recordFromPubSubEvent(event: PubSubCloudEvent): DecodedEvent {
  const data = parseData(event.data);
  const message =
    typeof data === 'object' && data !== null ? (data as MessagePublishedData).message : undefined;
  const messageId = typeof message?.messageId === 'string' ? message.messageId : undefined;
  const origin = messageId === undefined ? `cloudevent ${event.id}` : `message ${messageId}`;
  const encoded = message?.data;
  if (typeof encoded !== 'string') {
    return asReceived(event.data, origin, 'the event has no data.message.data');
  }
  const compact = encoded.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    return asReceived(event.data, origin, 'data.message.data is not base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  let entry: unknown;
  try {
    entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { record: { data: bytes, origin }, unrecognized: 'the message data is not UTF-8 JSON' };
  }
  const insertId =
    typeof entry === 'object' && entry !== null ? (entry as { insertId?: unknown }).insertId : undefined;
  return {
    record:
      typeof insertId === 'string' && insertId !== ''
        ? { data: bytes, origin, eventId: insertId }
        : { data: bytes, origin },
  };
}

function parseData(data: unknown): unknown {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) return data;
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asReceived(data: unknown, origin: string, reason: string): DecodedEvent {
  const bytes =
    data instanceof Uint8Array
      ? data
      : Buffer.from(typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null'), 'utf8');
  return { record: { data: bytes, origin }, unrecognized: reason };
}
