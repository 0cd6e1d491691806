/**
 * From whatever a transport hands us to records of a known source. Files, queues and APIs wrap the
 * same records differently (CloudTrail `Records[]`, EventBridge `detail`, Azure `records[]` or
 * `value[]`, GCP `entries[]`, Pub/Sub base64 `data`); this is the one place that knows the wrappers,
 * so the normalizers see bare records and the CLI, Lambda handlers and rule tests agree.
 */
import type { NormalizedEvent, PreparedEvent, SourceName } from '../ecs';
import { prepareAzureActivity } from './azure-activity';
import { AZURE_NAMESPACE_SHAPE } from './catalog';
import { prepareCloudTrail } from './cloudtrail';
import { NormalizationError } from './errors';
import { prepareGcpAudit } from './gcp-audit';
import { isObject, own, type RawObject, str } from './read';

const AUDIT_LOG_TYPE = 'type.googleapis.com/google.cloud.audit.AuditLog';
const CLOUDTRAIL_INSIGHT = 'AwsCloudTrailInsight';
/** EventBridge detail-types that carry a CloudTrail record (API calls, console sign-ins, service events, insights). */
const CLOUDTRAIL_DETAIL_TYPE_SUFFIX = 'via CloudTrail';
/** Categories of Entra ID logs that share Event Hubs with the Activity Log but are a different log. */
const ENTRA_CATEGORIES = new Set([
  'auditlogs',
  'signinlogs',
  'noninteractiveusersigninlogs',
  'serviceprincipalsigninlogs',
  'managedidentitysigninlogs',
  'provisioninglogs',
  'adfssigninlogs',
  'riskyusers',
  'userriskevents',
  'microsoftgraphactivitylogs',
]);
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** Arrays of records: CloudTrail files, Azure Event Hub/storage and REST, GCP entries.list, Pub/Sub pull. */
const CONTAINER_KEYS = ['Records', 'records', 'value', 'entries', 'receivedMessages'] as const;
/** Wrappers nest a few levels at most (Pub/Sub pull → message → data → entries[]); more is hostile input. */
const MAX_DEPTH = 8;

/** A record ready for `normalize`, with its 1-based position in the document. */
export interface DecodedRecord {
  source: SourceName;
  record: unknown;
  index: number;
}

/** An item of the document that is not a record of any supported source, with its position. */
export interface DecodeFailure {
  error: string;
  index: number;
}

/**
 * Which source a bare record belongs to, from its shape; undefined for wrappers and anything else.
 * Cheap enough to call on every record of a stream.
 */
export function detectSource(record: unknown): SourceName | undefined {
  if (!isObject(record)) return undefined;
  if (isCloudTrailRecord(record)) return 'aws-cloudtrail';
  if (isGcpAuditEntry(record)) return 'gcp-audit-logs';
  if (isAzureActivityRecord(record)) return 'azure-activity-logs';
  return undefined;
}

function isCloudTrailRecord(record: RawObject): boolean {
  if (own(record, 'eventType') === CLOUDTRAIL_INSIGHT) return true;
  return typeof own(record, 'eventSource') === 'string' && typeof own(record, 'eventName') === 'string';
}

function isGcpAuditEntry(record: RawObject): boolean {
  const payload = own(record, 'protoPayload');
  if (!isObject(payload)) return false;
  // Panther-style re-serializations rename `@type` to `at_sign_type`.
  const type = own(payload, '@type') ?? own(payload, 'at_sign_type');
  if (type !== undefined) return type === AUDIT_LOG_TYPE;
  return typeof own(payload, 'methodName') === 'string' || typeof own(payload, 'serviceName') === 'string';
}

function isAzureActivityRecord(record: RawObject): boolean {
  const operation = own(record, 'operationName');
  const name = typeof operation === 'string' ? operation : str(own(operation, 'value'));
  if (name === undefined) return false;
  const slash = name.indexOf('/');
  if (slash <= 0 || !AZURE_NAMESPACE_SHAPE.test(name.slice(0, slash))) return false;
  return (
    own(record, 'time') !== undefined ||
    own(record, 'eventTimestamp') !== undefined ||
    own(record, 'resourceId') !== undefined ||
    own(record, 'correlationId') !== undefined ||
    own(record, 'eventDataId') !== undefined
  );
}

/** Which wrappers `recordsFromDocument` opens beyond the ones every transport uses. */
export interface DocumentShapes {
  /**
   * Whether Pub/Sub messages are opened: push (`{message: {data}}`) and pull (`{receivedMessages}`,
   * `{data}`) messages whose `data` holds the records, in base64 or as JSON text. Files and the CLI take
   * them; a Kinesis stream does not (`STREAM_SHAPES`).
   * @default true
   */
  readonly pubSubMessages?: boolean;
}

/**
 * What a Kinesis record (and so a lake line, which Firehose copies from it) may hold: records and their
 * batches, never Pub/Sub messages. The GCP forwarder decodes each message and writes the LogEntry it
 * carries; a message on the stream is a broken or foreign producer, and is reported as a bad record. Being
 * strict here is also what lets the literal pre-filter see every record in a payload's bytes (a record in
 * base64 would not show its literals).
 */
export const STREAM_SHAPES: DocumentShapes = { pubSubMessages: false };

/**
 * Unwraps a parsed JSON document into records: a CloudTrail log file `{"Records": [...]}`, a single
 * CloudTrail record, an EventBridge "… via CloudTrail" event (its `detail`; the envelope's `time`,
 * `region` and `account` fill gaps only, never the event id, which must be the same on every path),
 * Azure `{"records": [...]}` (Event Hub, storage) and `{"value": [...]}` (REST), a single Azure
 * record, a GCP audit LogEntry or `{"entries": [...]}`, Pub/Sub push (`{message: {data}}`) and pull
 * (`{receivedMessages}`, `{data}`) messages with base64 data unless `shapes` says not, and arrays of any
 * of these. `index` is the 1-based position of the item in the document, in document order. Nothing is
 * dropped and nothing throws: what is not a record of a known source comes out as `{error, index}`.
 */
export function* recordsFromDocument(
  value: unknown,
  shapes: DocumentShapes = {},
): Generator<DecodedRecord | DecodeFailure> {
  const walk: Walk = { last: 0, pubSubMessages: shapes.pubSubMessages ?? true };
  yield* unwrap(value, 0, walk);
}

/** One document's walk: the position of the last item, and what it opens. */
interface Walk {
  last: number;
  readonly pubSubMessages: boolean;
}

type Step =
  | { kind: 'record'; source: SourceName; record: unknown }
  | { kind: 'children'; items: readonly unknown[] }
  | { kind: 'error'; message: string };

function* unwrap(value: unknown, depth: number, walk: Walk): Generator<DecodedRecord | DecodeFailure> {
  const step = classify(value, depth, walk.pubSubMessages);
  switch (step.kind) {
    case 'record':
      walk.last += 1;
      yield { source: step.source, record: step.record, index: walk.last };
      return;
    case 'error':
      walk.last += 1;
      yield { error: step.message, index: walk.last };
      return;
    case 'children':
      for (let i = 0; i < step.items.length; i++) yield* unwrap(step.items[i], depth + 1, walk);
      return;
  }
}

function classify(value: unknown, depth: number, pubSubMessages: boolean): Step {
  try {
    const source = detectSource(value);
    if (source !== undefined) return { kind: 'record', source, record: value };
    if (depth >= MAX_DEPTH) return { kind: 'error', message: `wrappers nested more than ${MAX_DEPTH} deep` };
    if (Array.isArray(value)) return { kind: 'children', items: value };
    if (!isObject(value)) return { kind: 'error', message: `not a JSON object but ${describeType(value)}` };
    for (const key of CONTAINER_KEYS) {
      const items = own(value, key);
      if (Array.isArray(items)) return { kind: 'children', items };
    }
    const detailType = own(value, 'detail-type');
    if (typeof detailType === 'string' && own(value, 'detail') !== undefined)
      return eventBridge(value, detailType);
    const message = own(value, 'message');
    const data =
      isObject(message) && own(message, 'data') !== undefined ? own(message, 'data') : own(value, 'data');
    if (data !== undefined)
      return pubSubMessages ? pubSub(data) : { kind: 'error', message: PUB_SUB_ON_STREAM };
    return { kind: 'error', message: describeUnrecognized(value) };
  } catch (error) {
    return {
      kind: 'error',
      message: `could not decode: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function eventBridge(envelope: RawObject, detailType: string): Step {
  if (!detailType.endsWith(CLOUDTRAIL_DETAIL_TYPE_SUFFIX)) {
    return { kind: 'error', message: `EventBridge event "${detailType}" does not carry a CloudTrail record` };
  }
  const detail = own(envelope, 'detail');
  if (!isObject(detail))
    return { kind: 'error', message: 'EventBridge CloudTrail event whose detail is not an object' };
  const gaps: RawObject = {};
  const fill = (field: string, from: string): void => {
    const value = own(envelope, from);
    if (own(detail, field) === undefined && typeof value === 'string') gaps[field] = value;
  };
  fill('eventTime', 'time');
  fill('awsRegion', 'region');
  fill('recipientAccountId', 'account');
  const record = Object.keys(gaps).length === 0 ? detail : { ...detail, ...gaps };
  return { kind: 'record', source: 'aws-cloudtrail', record };
}

const PUB_SUB_ON_STREAM =
  'a Pub/Sub message, not an audit record: the stream carries LogEntries (the GCP forwarder decodes each ' +
  "message's data before writing it)";

/** Pub/Sub `data`: base64 of the LogEntry JSON (some tools put the JSON itself). */
function pubSub(data: unknown): Step {
  if (typeof data !== 'string') return { kind: 'error', message: 'Pub/Sub message data is not a string' };
  const trimmed = data.trim();
  let text = trimmed;
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    if (!BASE64.test(trimmed))
      return { kind: 'error', message: 'Pub/Sub message data is neither base64 nor JSON' };
    text = Buffer.from(trimmed, 'base64').toString('utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'error', message: 'Pub/Sub message data does not decode to JSON' };
  }
  return { kind: 'children', items: [parsed] };
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A reason an operator can act on; keys are listed (truncated) since the record may be large. */
function describeUnrecognized(record: RawObject): string {
  const category = own(record, 'category');
  const categoryName = typeof category === 'string' ? category : str(own(category, 'value'));
  if (categoryName !== undefined && ENTRA_CATEGORIES.has(categoryName.toLowerCase())) {
    return `Entra ID ${categoryName} record: a different log from the Azure Activity Log, not supported`;
  }
  const payload = own(record, 'protoPayload');
  if (isObject(payload)) {
    const type = own(payload, '@type') ?? own(payload, 'at_sign_type');
    return `GCP LogEntry whose protoPayload is ${typeof type === 'string' ? type : 'untyped'}, not a Cloud Audit Log`;
  }
  if (own(record, 'eventVersion') !== undefined || own(record, 'eventTime') !== undefined) {
    return 'CloudTrail-like record without string eventSource and eventName';
  }
  if (own(record, 'operationName') !== undefined) {
    return 'Azure-like record whose operationName is not a resource-provider operation (Namespace/type/operation)';
  }
  const keys = Object.keys(record)
    .slice(0, 6)
    .map((key) => (key.length > 40 ? `${key.slice(0, 40)}…` : key));
  return `unrecognized record (keys: ${keys.join(', ')}${Object.keys(record).length > 6 ? ', …' : ''})`;
}

/**
 * Normalizes a decoded record with its source's normalizer. Throws only `NormalizationError`, which
 * callers count and keep as a bad record.
 */
export function normalize(source: SourceName, record: unknown): NormalizedEvent {
  return prepare(source, record).normalize();
}

/**
 * Validates a decoded record with its source's normalizer and settles its head (`EventHead`), leaving
 * the rest of the event to `normalize()`. Throws the `NormalizationError` that `normalize` would, for
 * the same records: only the work after validation is deferred.
 */
export function prepare(source: SourceName, record: unknown): PreparedEvent {
  switch (source) {
    case 'aws-cloudtrail':
      return prepareCloudTrail(record);
    case 'azure-activity-logs':
      return prepareAzureActivity(record);
    case 'gcp-audit-logs':
      return prepareGcpAudit(record);
    default:
      // Unreachable for typed callers; a plain-JS caller passing another string gets the documented error.
      throw new NormalizationError(source, '(source)', 'not a supported source');
  }
}
