/**
 * The CloudEvent handler: decode the Pub/Sub message, forward its LogEntry, fail the invocation if it was
 * not delivered. A failed invocation answers the push with an error status; with retries enabled on the
 * function (`gcloud functions deploy --retry`), Pub/Sub delivers the message again with backoff.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { Forwarder } from '../core/forwarder';
import { FORWARDER_METRICS, type ForwarderLog, jsonLineLog, metricFields } from '../core/log';
import { MESSAGE_PUBLISHED, recordFromPubSubEvent } from './messages';

export interface AuditLogHandlerDeps {
  readonly forwarder: Forwarder;
  /** @default structured JSON lines on stdout/stderr (Cloud Logging) */
  readonly log?: ForwarderLog;
}

/** The handler for `functions.cloudEvent(...)`. */
export function createAuditLogHandler(
  deps: AuditLogHandlerDeps,
): (event: CloudEvent<unknown>) => Promise<void> {
  return async (event) => {
    const log = deps.log ?? jsonLineLog(undefined, { eventId: event.id });
    if (event.type !== MESSAGE_PUBLISHED) {
      log.warn('unexpected CloudEvent type; forwarding its message anyway', { type: event.type });
    }
    const decoded = recordFromPubSubEvent(event);
    if (decoded.unrecognized !== undefined) {
      log.warn(
        'forwarding a message that is not a LogEntry as received, for the detector to dead-letter',
        metricFields(FORWARDER_METRICS.unrecognized, 1, {
          origin: decoded.record.origin,
          reason: decoded.unrecognized,
        }),
      );
    }
    await deps.forwarder.forward([decoded.record], log);
  };
}
