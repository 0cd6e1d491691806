import type { SourceName } from '../ecs';

/**
 * A record that cannot be turned into an ECS event. The batch goes on: the caller counts the record,
 * logs `source` and `field` with its location and keeps it (dead-letter locally or in AWS), so the
 * message names the raw field an operator has to look at rather than describing the code path.
 */
export class NormalizationError extends Error {
  override readonly name = 'NormalizationError';
  /** The source whose normalizer rejected the record. */
  readonly source: SourceName;
  /** The raw field (dotted path in the vendor record) that was missing or unusable. */
  readonly field: string;

  constructor(source: SourceName, field: string, message: string, options?: { cause?: unknown }) {
    super(`${source}: ${field}: ${message}`, options);
    this.source = source;
    this.field = field;
  }
}

/**
 * The catalog is inconsistent (at load) or was asked something it cannot answer soundly (e.g. an
 * exact raw-value list for a field that is matched case-insensitively). Raised at start-up or at
 * rule-compile time, never per event, so it fails loudly instead of producing a pre-filter that
 * silently drops events.
 */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  /** The catalog entry id or field the problem is about. */
  readonly entry: string;

  constructor(entry: string, message: string, options?: { cause?: unknown }) {
    super(`${entry}: ${message}`, options);
    this.entry = entry;
  }
}
