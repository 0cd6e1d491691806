/**
 * The Event Hub handler: unwrap the batch, forward it, fail the invocation if anything was not delivered.
 * With the function's retry policy (`index.ts`), a failed invocation is run again with the same batch and
 * the checkpoint does not move past it, so a record is never skipped.
 */
import type { EventHubHandler, InvocationContext } from '@azure/functions';
import type { Forwarder } from '../core/forwarder';
import { FORWARDER_METRICS, type ForwarderLog, type LogFields, metricFields } from '../core/log';
import { eventHubMetadata, unwrapEventHubBatch } from './messages';

/** Maps the core's log onto the invocation's logger (Application Insights traces), one JSON object per line. */
export function invocationLog(context: InvocationContext): ForwarderLog {
  const line = (message: string, fields: LogFields = {}): string =>
    JSON.stringify({ message, invocationId: context.invocationId, ...fields });
  return {
    info: (message, fields) => context.info(line(message, fields)),
    warn: (message, fields) => context.warn(line(message, fields)),
    error: (message, fields) => context.error(line(message, fields)),
  };
}

/** The handler for `app.eventHub(..., { cardinality: 'many' })`. */
export function createActivityLogHandler(deps: { readonly forwarder: Forwarder }): EventHubHandler {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const log = invocationLog(context);
    const batch = unwrapEventHubBatch(messages, eventHubMetadata(context.triggerMetadata));
    if (batch.unrecognized.length > 0) {
      log.warn(
        'forwarding messages that are not Activity Log exports as received, for the detector to dead-letter',
        metricFields(FORWARDER_METRICS.unrecognized, batch.unrecognized.length, {
          examples: batch.unrecognized.slice(0, 5),
        }),
      );
    }
    if (context.retryContext !== undefined) {
      log.warn('retrying a batch that failed before', {
        retryCount: context.retryContext.retryCount,
        maxRetryCount: context.retryContext.maxRetryCount,
      });
    }
    await deps.forwarder.forward(batch.records, log);
  };
}
