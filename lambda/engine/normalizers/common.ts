/**
 * What the three normalizers do the same way: the required core of the ECS profile, the timestamp
 * policy and the guarantee that nothing but a `NormalizationError` leaves a normalizer.
 */
import type {
  CloudProvider,
  EcsEvent,
  EventHead,
  NormalizedEvent,
  PreparedEvent,
  Provenance,
  SourceName,
} from '../ecs';
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

/** A record's `@timestamp`, and whether its time parsed (see `resolveTimestamp`). */
export interface ResolvedTimestamp {
  readonly iso: string;
  readonly parsed: boolean;
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
): ResolvedTimestamp {
  requireTime(source, candidates);
  for (const candidate of candidates) {
    if (!isPresent(candidate.value)) continue;
    const iso = parseTimestamp(candidate.value);
    if (iso !== undefined) return { iso, parsed: true };
  }
  return { iso: UNPARSED_TIMESTAMP, parsed: false };
}

/** The check of `resolveTimestamp` that rejects a record: throws unless some candidate is present. */
export function requireTime(source: SourceName, candidates: readonly TimeCandidate[]): void {
  for (const candidate of candidates) if (isPresent(candidate.value)) return;
  throw new NormalizationError(
    source,
    candidates.map((c) => c.field).join(' | '),
    'no event time in the record',
  );
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** The parts every normalized event has. */
export interface Core {
  readonly source: SourceName;
  readonly cloud: CloudProvider;
  readonly timestamp: ResolvedTimestamp;
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
 * What a normalizer throws for `error`: a `NormalizationError` as it is; anything else (a getter that
 * throws, a stack overflow on absurd nesting, a bug of ours) wrapped in one, so it becomes a
 * dead-lettered record, not a crashed batch.
 */
export function normalizationFailure(source: SourceName, error: unknown): NormalizationError {
  if (error instanceof NormalizationError) return error;
  return new NormalizationError(source, '(record)', 'unexpected failure while normalizing', { cause: error });
}

/**
 * Runs a normalizer's `prepare` so that only `NormalizationError` escapes (`normalizationFailure`). Takes
 * the function and its argument rather than a closure: a stream prepares one record after another.
 */
export function prepareGuarded(
  source: SourceName,
  prepare: (record: unknown) => PreparedEvent,
  record: unknown,
): PreparedEvent {
  try {
    return prepare(record);
  } catch (error) {
    throw normalizationFailure(source, error);
  }
}

/** The rest of a normalizer: from a validated record, its call and its time to the full event. */
export type Finish<R, C> = (record: R, call: C, timestamp: ResolvedTimestamp) => NormalizedEvent;

/**
 * A validated record's `PreparedEvent`: the head from what validation settled, the rest built by
 * `finish` when asked for. The time is only checked for presence here (the check that can reject a
 * record) and parsed with the rest. A class rather than closures: a stream prepares one per record.
 */
export class Prepared<R, C extends { readonly provider: string; readonly action: string }>
  implements PreparedEvent
{
  readonly head: EventHead;

  constructor(
    private readonly source: SourceName,
    cloud: CloudProvider,
    private readonly record: R,
    private readonly call: C,
    private readonly times: readonly TimeCandidate[],
    private readonly finish: Finish<R, C>,
  ) {
    requireTime(source, times);
    this.head = {
      event: { kind: 'event', dataset: source, provider: call.provider, action: call.action },
      cloud: { provider: cloud },
    };
  }

  normalize(): NormalizedEvent {
    try {
      return this.finish(this.record, this.call, resolveTimestamp(this.source, this.times));
    } catch (error) {
      throw normalizationFailure(this.source, error);
    }
  }
}
