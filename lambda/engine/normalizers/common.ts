/**
 * What the three normalizers do the same way: the required core of the ECS profile, the timestamp
 * policy and the guarantee that nothing but a `NormalizationError` leaves a normalizer.
 */
import type { CloudProvider, EcsEvent, NormalizedEvent, Provenance, SourceName } from '../ecs';
import { NormalizationError } from './errors';
import { parseTimestamp } from './read';

/** `@timestamp` of a record whose time is present but not a real instant (see `resolveTimestamp`). */
export const UNPARSED_TIMESTAMP = '1970-01-01T00:00:00.000Z';
/** Added to `tags` with `UNPARSED_TIMESTAMP`, in the spirit of Logstash's `_dateparsefailure`. */
export const TIMESTAMP_PARSE_FAILURE_TAG = '_timestampparsefailure';

/** A raw time candidate: where it was read (for the error message) and its value. */
export interface TimeCandidate {
  readonly field: string;
  readonly value: unknown;
}

/**
 * Picks the first candidate that parses. A record with no time field at all is rejected: it is not
 * an audit event. A record whose time is present but is no instant (`0000-00-00T00:00:00Z` in
 * redacted exports) still normalizes, at the epoch and tagged, because missing an IAM change is worse
 * than an alert with a visibly wrong clock; the raw value stays under the vendor namespace.
 */
export function resolveTimestamp(
  source: SourceName,
  candidates: readonly TimeCandidate[],
): { iso: string; parsed: boolean } {
  let present = false;
  for (const candidate of candidates) {
    if (candidate.value === undefined || candidate.value === null || candidate.value === '') continue;
    present = true;
    const iso = parseTimestamp(candidate.value);
    if (iso !== undefined) return { iso, parsed: true };
  }
  if (!present) {
    throw new NormalizationError(
      source,
      candidates.map((c) => c.field).join(' | '),
      'no event time in the record',
    );
  }
  return { iso: UNPARSED_TIMESTAMP, parsed: false };
}

/** The parts every normalized event has. */
export interface Core {
  readonly source: SourceName;
  readonly cloud: CloudProvider;
  readonly timestamp: { iso: string; parsed: boolean };
  readonly id: string;
  readonly provider: string;
  readonly action: string;
  readonly outcome: 'success' | 'failure' | 'unknown';
  readonly provenance: Omit<Provenance, 'source'>;
}

/** Builds the document skeleton; optional fields are added by the caller's tables. */
export function coreDocument(core: Core): NormalizedEvent {
  const doc: EcsEvent = {
    '@timestamp': core.timestamp.iso,
    event: {
      id: core.id,
      kind: 'event',
      dataset: core.source,
      provider: core.provider,
      action: core.action,
      outcome: core.outcome,
    },
    cloud: { provider: core.cloud },
  };
  if (!core.timestamp.parsed) doc.tags = [TIMESTAMP_PARSE_FAILURE_TAG];
  return { doc, provenance: { source: core.source, ...core.provenance } };
}

/**
 * Runs a normalizer body so that only `NormalizationError` escapes: a getter that throws, a stack
 * overflow on absurd nesting or a bug of ours becomes a dead-lettered record, not a crashed batch.
 */
export function guarded<T>(source: SourceName, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof NormalizationError) throw error;
    throw new NormalizationError(source, '(record)', 'unexpected failure while normalizing', {
      cause: error,
    });
  }
}
