/**
 * Delivering Pub/Sub messages to a Functions Framework server the way Eventarc does: an HTTP POST of a
 * `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent, in binary mode (`ce-*` headers, the data as
 * the body) or structured mode (the whole event as `application/cloudevents+json`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PubSubDelivery {
  /** The message's data as published (a LogEntry's JSON text), base64-encoded on the way. */
  readonly data: string | Buffer;
  readonly messageId?: string;
  readonly mode?: 'binary' | 'structured';
  readonly type?: string;
}

let counter = 0;

/** The `data` of a messagePublished event for this message. */
export function messagePublishedData(data: string | Buffer, messageId: string) {
  return {
    message: {
      data: Buffer.from(data).toString('base64'),
      messageId,
      publishTime: '2030-01-01T00:00:00.000Z',
      attributes: { 'logging.googleapis.com/timestamp': '2030-01-01T00:00:00Z' },
    },
    subscription: 'projects/audit-project/subscriptions/eventarc-forwarder-sub',
  };
}

/** Posts one delivery; resolves with the status and body the framework answered. */
export async function postPubSubEvent(
  url: string,
  delivery: PubSubDelivery,
): Promise<{ status: number; body: string }> {
  counter += 1;
  const messageId = delivery.messageId ?? `${9_000_000 + counter}`;
  const data = messagePublishedData(delivery.data, messageId);
  const attributes = {
    specversion: '1.0',
    id: messageId,
    source: '//pubsub.googleapis.com/projects/audit-project/topics/audit-logs',
    type: delivery.type ?? 'google.cloud.pubsub.topic.v1.messagePublished',
    time: '2030-01-01T00:00:00.000Z',
  };
  const response =
    delivery.mode === 'structured'
      ? await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/cloudevents+json' },
          body: JSON.stringify({ ...attributes, datacontenttype: 'application/json', data }),
        })
      : await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            ...Object.fromEntries(Object.entries(attributes).map(([key, value]) => [`ce-${key}`, value])),
          },
          body: JSON.stringify(data),
        });
  return { status: response.status, body: await response.text() };
}

/** Listens on 127.0.0.1 with a free port; returns the URL and a closer. */
export async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
