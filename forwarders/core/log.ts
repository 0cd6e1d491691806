/**
 * Logging and metrics without a metrics service: the forwarders run in Azure and GCP, where CloudWatch's
 * embedded metric format means nothing. Each line that counts something names its metric (`metric`,
 * `value`), so an Application Insights log alert or a Cloud Logging log-based metric can count it and alarm
 * on it (docs/forwarders.md shows both).
 */

export type LogFields = Readonly<Record<string, unknown>>;

/** What the core logs through; the platform adapters map it onto their loggers. */
export interface ForwarderLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Metric names the forwarders emit, the same on both platforms. */
export const FORWARDER_METRICS = Object.freeze({
  /** Records put into the stream (one summary line per invocation). */
  recordsSent: 'ForwarderRecordsSent',
  /** Records that were gzipped to fit the 1 MiB Kinesis limit. */
  recordsCompressed: 'ForwarderRecordsCompressed',
  /** Records too large even gzipped, kept in the oversize store instead of the stream: alarm on it. */
  oversizeStored: 'ForwarderOversizeRecordsStored',
  /** Records neither sent nor stored; the invocation failed so the platform redelivers: alarm on it. */
  undelivered: 'ForwarderRecordsUndelivered',
  /** Messages that were not the expected shape, forwarded as received for the detector to dead-letter. */
  unrecognized: 'ForwarderUnrecognizedMessages',
  /** Entries sent again after a throttled or failed `PutRecords` call or entry. */
  retriedEntries: 'ForwarderRetriedEntries',
});

export type ForwarderMetric = (typeof FORWARDER_METRICS)[keyof typeof FORWARDER_METRICS];

/** The fields of a line that carries a metric. */
export function metricFields(metric: ForwarderMetric, value: number, fields: LogFields = {}): LogFields {
  return { ...fields, metric, value, unit: 'Count' };
}

type Severity = 'INFO' | 'WARNING' | 'ERROR';

/**
 * One JSON object per line with `severity` and `message`: the structured-logging shape Cloud Logging
 * parses from a function's stdout/stderr into `jsonPayload`, severity included.
 */
export function jsonLineLog(
  write: (line: string, severity: Severity) => void = (line, severity) => {
    (severity === 'INFO' ? process.stdout : process.stderr).write(`${line}\n`);
  },
  base: LogFields = {},
): ForwarderLog {
  const emit = (severity: Severity, message: string, fields: LogFields = {}): void => {
    write(JSON.stringify({ severity, message, ...base, ...fields }), severity);
  };
  return {
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARNING', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
  };
}
