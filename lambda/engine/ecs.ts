/**
 * The shapes shared by every part of the engine. Normalized events are plain nested objects in our
 * ECS profile (see DESIGN.md, "The vocabulary"), so the KQL predicate, the alert builder and the
 * SQL/pattern compilers all read the same field paths.
 */

/** A JSON value as read from a log or produced by a normalizer. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

/** The log sources the rule's index patterns select; also the value of `event.dataset`. */
export type SourceName = 'aws-cloudtrail' | 'azure-activity-logs' | 'gcp-audit-logs';
export const SOURCE_NAMES: readonly SourceName[] = [
  'aws-cloudtrail',
  'azure-activity-logs',
  'gcp-audit-logs',
];

export type CloudProvider = 'aws' | 'azure' | 'gcp';

/** What the call acted on: the identifiers a responder needs to contain it. */
export interface EcsTarget {
  /** e.g. `access_key`, `role`, `policy`, `role_assignment`, `service_account_key`, `iam_policy`. */
  kind?: string;
  /** The most specific identifier: access key id, role ARN, assignment id, key name, resource name. */
  id?: string;
  name?: string;
  /** The user/principal the target belongs to (key owner, assignment principal). */
  principal?: string;
  /** Azure role assignment scope, GCP resource name whose policy changed. */
  scope?: string;
  /** Azure role definition id, GCP role added. */
  role?: string;
  [key: string]: JsonValue | undefined;
}

/**
 * A normalized event. Only `@timestamp`, `event.*` (id, provider, action, dataset) and
 * `cloud.provider` are always present; everything else is filled where the source has it.
 */
export interface EcsEvent extends JsonObject {
  '@timestamp': string;
  event: {
    id: string;
    provider: string;
    action: string;
    dataset: SourceName;
    kind: 'event';
    outcome?: 'success' | 'failure' | 'unknown';
    [key: string]: JsonValue | undefined;
  };
  cloud: {
    provider: CloudProvider;
    account?: { id?: string; name?: string };
    region?: string;
    [key: string]: JsonValue | undefined;
  };
}

/** Which catalog entries produced `event.provider` and `event.action` (shown in every alert). */
export interface Provenance {
  source: SourceName;
  /** Catalog entry id, e.g. `aws.service.iam` or `azure.namespace.Microsoft.Authorization`, or `fallback`. */
  providerEntry: string;
  /** Catalog entry id for the action, e.g. `gcp.action.SetIamPolicy`, or `passthrough`. */
  actionEntry: string;
  /** The raw vendor values the profile values came from. */
  rawProvider: string;
  rawAction: string;
}

export interface NormalizedEvent {
  doc: EcsEvent;
  provenance: Provenance;
}

/**
 * The head of a normalized event: the fields a normalizer settles while it validates a record, before
 * the costly rest (field tables, target, related, a derived id). Each holds exactly the value the full
 * event will hold, so a query that reads only these fields decides the same on the head as on the full
 * event, and the full event need only be built for records some rule could match. `@timestamp` is not
 * in it: validation only checks that a time is there, and parsing it is left to the rest.
 */
export interface EventHead {
  event: { kind: 'event'; dataset: SourceName; provider: string; action: string };
  cloud: { provider: CloudProvider };
}

/** The dotted names of the fields an `EventHead` holds. */
export const HEAD_FIELDS: ReadonlySet<string> = new Set([
  'event.kind',
  'event.dataset',
  'event.provider',
  'event.action',
  'cloud.provider',
]);

/** A record its normalizer has validated: its head now, the full event on demand. */
export interface PreparedEvent {
  readonly head: EventHead;
  /**
   * Builds the full normalized event (anew on each call). Throws only `NormalizationError`, and only for
   * an unexpected failure: every check that can reject a record has already run.
   */
  normalize(): NormalizedEvent;
}

/** Where a record came from, so a bad record or an alert can be traced to its bytes. */
export interface RecordLocation {
  /** File path, or stream/shard/sequence in AWS. */
  file?: string;
  /** 1-based line in a JSON Lines file. */
  line?: number;
  /** 1-based position of the record inside a JSON document holding several records. */
  index?: number;
  /** Free-form transport location (e.g. `kinesis:stream/shard/sequence`). */
  transport?: string;
}
