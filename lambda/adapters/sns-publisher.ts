import type { MessageAttributeValue, PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../engine/alerts/alert';
import type { AlertDigest, AlertPublisher } from '../engine/alerts/publisher';
import {
  alertSubject,
  digestSubject,
  emailFooter,
  fullEventPointer,
  MAX_POINTER_URL_LENGTH,
  renderDigestText,
  stateItemKey,
} from '../engine/alerts/render-email';
import { renderAlertText } from '../engine/alerts/render-text';
import type { JsonValue } from '../engine/ecs';
import { RUNBOOK_PHASES } from '../engine/rules/schema';
import { awsSdk } from './aws-sdk';

/** SNS's limit for one message, counted over the whole message and its attributes, in UTF-8 bytes. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/** What we aim under, leaving room for anything SNS counts that we do not (it does not document it all). */
export const SNS_MESSAGE_BUDGET_BYTES = SNS_MAX_MESSAGE_BYTES - 4096;

/** Version of the JSON that machine subscribers (the Slack notifier, SQS, HTTPS) receive. */
export const TOPIC_MESSAGE_VERSION = 1;

/** Where the full event is, when the message carries a cut-down copy. */
export interface TruncationNote {
  readonly reason: 'sns-size-limit';
  /**
   * Size of the message before it was cut; absent when the whole alert could not even be serialized (its
   * raw event nested deeper than `JSON.stringify` can follow).
   */
  readonly originalBytes?: number;
  readonly fullEvent: {
    readonly eventId: string;
    readonly dataset: string;
    readonly consoleUrl?: string;
    /** `pk` of the state-table item that holds the alert's group. */
    readonly stateItem: string;
  };
}

/**
 * What the `lambda`, `sqs` and `https` subscribers receive. An envelope with a `kind` rather than the
 * bare alert, because the same topic carries alerts and digests and consumers must tell them apart.
 */
export type TopicMessage =
  | {
      readonly kind: 'alert';
      readonly version: typeof TOPIC_MESSAGE_VERSION;
      readonly alert: Alert;
      readonly truncated?: TruncationNote;
    }
  | { readonly kind: 'digest'; readonly version: typeof TOPIC_MESSAGE_VERSION; readonly digest: AlertDigest };

/** Thrown for any failed publish, so the outbox keeps the alert PENDING and tries again. */
export class SnsPublishError extends Error {
  override readonly name = 'SnsPublishError';
  constructor(
    message: string,
    readonly alertId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The part of the SNS client the publisher uses; tests replace `send`. */
export type SnsSender = Pick<SNSClient, 'send'>;

/**
 * Publishes alerts and digests to the alerts topic. Each message carries a readable text for e-mail
 * and the alert JSON for machines, and message attributes so that subscriptions can filter.
 */
export class SnsAlertPublisher implements AlertPublisher {
  constructor(
    private readonly client: SnsSender,
    private readonly topicArn: string,
  ) {}

  async publishAlert(alert: Alert): Promise<void> {
    await this.publish(alertPublishInput(alert, this.topicArn), alert.id, `alert ${alert.id}`);
  }

  async publishDigest(digest: AlertDigest): Promise<void> {
    await this.publish(
      digestPublishInput(digest, this.topicArn),
      digest.alertId,
      `digest of ${digest.alertId}`,
    );
  }

  private async publish(input: PublishCommandInput, alertId: string, what: string): Promise<void> {
    let messageId: string | undefined;
    try {
      const { PublishCommand } = await awsSdk.sns();
      ({ MessageId: messageId } = await this.client.send(new PublishCommand(input)));
    } catch (error) {
      throw new SnsPublishError(`publishing ${what} to SNS failed`, alertId, { cause: error });
    }
    if (!messageId) throw new SnsPublishError(`SNS returned no MessageId for ${what}`, alertId);
  }
}

/** Bytes of a publish request as SNS counts them against its limit (message, subject, attributes). */
export function publishSize(input: PublishCommandInput): number {
  let size = Buffer.byteLength(input.Message ?? '', 'utf8') + Buffer.byteLength(input.Subject ?? '', 'utf8');
  for (const [name, attribute] of Object.entries(input.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType ?? '', 'utf8');
    size += Buffer.byteLength(attribute.StringValue ?? '', 'utf8');
  }
  return size;
}

/**
 * Attribute values for filter policies: exact where possible, but SNS rejects control characters,
 * lone surrogates and empty values, and a value from a log is unbounded.
 */
function attribute(value: string | undefined): MessageAttributeValue {
  const clean = (value ?? '')
    .replace(/[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029\ufffe\uffff]/gu, '')
    .slice(0, 256)
    .replace(/[\ud800-\udbff]$/, '');
  return { DataType: 'String', StringValue: clean === '' ? 'unknown' : clean };
}

function alertAttributes(alert: Alert): Record<string, MessageAttributeValue> {
  return {
    severity: attribute(alert.rule.severity.toLowerCase()),
    rule_id: attribute(alert.rule.id),
    cloud: attribute(alert.event.cloud),
    event_action: attribute(alert.event.action),
    kind: attribute('alert'),
  };
}

/** How hard a level cuts: long strings, long arrays, wide objects, deep nesting. */
interface Cut {
  readonly maxString: number;
  readonly maxArray: number;
  readonly maxKeys: number;
  readonly maxDepth: number;
}

/** No cut: the alert's own fields stay whole while only the raw event is cut. */
const WHOLE: Cut = {
  maxString: Number.POSITIVE_INFINITY,
  maxArray: Number.POSITIVE_INFINITY,
  maxKeys: Number.POSITIVE_INFINITY,
  maxDepth: Number.POSITIVE_INFINITY,
};

/** Deeper than the alert's own structure (`alert.runbook.<phase>[i].commands[j].missing[k]`), never cut into it. */
const ALERT_DEPTH = 12;

/**
 * When the message does not fit, each level gives up more than the one before: first only the raw
 * event (`alert.document`) is cut, then it is reduced to its core fields and the alert's own long
 * fields are cut too, then harder. The first level whose message fits is sent.
 */
const LEVELS: readonly {
  readonly document: 'cut' | 'core' | 'minimal';
  readonly documentCut: Cut;
  readonly cut: Cut;
}[] = [
  { document: 'cut', documentCut: { maxString: 1000, maxArray: 50, maxKeys: 200, maxDepth: 10 }, cut: WHOLE },
  {
    document: 'core',
    documentCut: { maxString: 1000, maxArray: 50, maxKeys: 100, maxDepth: 8 },
    cut: { maxString: 2000, maxArray: 100, maxKeys: 500, maxDepth: ALERT_DEPTH },
  },
  {
    document: 'core',
    documentCut: { maxString: 300, maxArray: 20, maxKeys: 50, maxDepth: 6 },
    cut: { maxString: 1000, maxArray: 50, maxKeys: 100, maxDepth: ALERT_DEPTH },
  },
  {
    document: 'minimal',
    documentCut: { maxString: 300, maxArray: 20, maxKeys: 50, maxDepth: 6 },
    cut: { maxString: 300, maxArray: 20, maxKeys: 50, maxDepth: ALERT_DEPTH },
  },
  {
    document: 'minimal',
    documentCut: { maxString: 100, maxArray: 5, maxKeys: 20, maxDepth: 6 },
    cut: { maxString: 100, maxArray: 5, maxKeys: 20, maxDepth: ALERT_DEPTH },
  },
];

const CORE_DOCUMENT_FIELDS = [
  '@timestamp',
  'event',
  'cloud',
  'user',
  'source',
  'user_agent',
  'target',
  'error',
];

function cutString(value: string, max: number): string {
  if (value.length <= max) return value;
  const keep = value.slice(0, Math.max(max, 0)).replace(/[\ud800-\udbff]$/, '');
  return `${keep}…[cut ${value.length - keep.length} characters]`;
}

/** A copy of `value` inside `cut`. Shell commands are left out, not cut: half a command is dangerous. */
function shrink(value: unknown, cut: Cut, depth = 0, key = ''): unknown {
  if (typeof value === 'string') {
    if (key === 'command' && value.length > cut.maxString) {
      return `# command left out: ${value.length} characters, too long for this message; see the full event`;
    }
    return cutString(value, cut.maxString);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= cut.maxDepth) return '…[cut: nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, cut.maxArray).map((item) => shrink(item, cut, depth + 1, key));
    // The note goes only into arrays of scalars: an array of runbook steps must stay one shape.
    const scalars = value.every((item) => item === null || typeof item !== 'object');
    if (value.length > cut.maxArray && scalars) kept.push(`…[cut ${value.length - cut.maxArray} more items]`);
    return kept;
  }
  const entries = Object.entries(value);
  const maxKey = Number.isFinite(cut.maxString) ? Math.min(cut.maxString, 200) : Number.POSITIVE_INFINITY;
  // `Object.fromEntries` defines own properties, so a log field named `__proto__` stays a plain field.
  const kept = entries
    .slice(0, cut.maxKeys)
    .map(([name, item]): [string, unknown] => [cutString(name, maxKey), shrink(item, cut, depth + 1, name)]);
  if (entries.length > cut.maxKeys) kept.push(['…cut', `${entries.length - cut.maxKeys} more fields`]);
  return Object.fromEntries(kept);
}

function documentAt(level: (typeof LEVELS)[number], alert: Alert): Alert['document'] {
  const doc = alert.document;
  if (level.document === 'cut') return shrink(doc, level.documentCut) as Alert['document'];
  if (level.document === 'core') {
    const core = Object.fromEntries(
      CORE_DOCUMENT_FIELDS.filter((name) => Object.hasOwn(doc, name)).map((name) => [name, doc[name]]),
    );
    return shrink(core, level.documentCut) as Alert['document'];
  }
  const minimal = {
    '@timestamp': doc['@timestamp'],
    event: {
      id: doc.event.id,
      provider: doc.event.provider,
      action: doc.event.action,
      dataset: doc.event.dataset,
      kind: doc.event.kind,
      outcome: doc.event.outcome,
    },
    cloud: { provider: doc.cloud.provider },
  };
  return shrink(minimal, level.documentCut) as Alert['document'];
}

function truncationNote(alert: Alert, originalBytes: number | undefined): TruncationNote {
  return {
    reason: 'sns-size-limit',
    ...(originalBytes === undefined ? {} : { originalBytes }),
    fullEvent: {
      eventId: cutString(alert.event.id, 1000),
      dataset: cutString(alert.event.dataset, 100),
      ...(alert.consoleUrl === undefined || alert.consoleUrl.length > MAX_POINTER_URL_LENGTH
        ? {}
        : { consoleUrl: alert.consoleUrl }),
      stateItem: stateItemKey(alert.id),
    },
  };
}

function structuredMessage(text: string, machine: TopicMessage): string {
  const json = JSON.stringify(machine);
  return JSON.stringify({ default: text, email: text, lambda: json, sqs: json, https: json });
}

function alertInput(
  alert: Alert,
  topicArn: string,
  text: string,
  machine: TopicMessage,
): PublishCommandInput {
  return {
    TopicArn: topicArn,
    Subject: alertSubject(alert),
    MessageStructure: 'json',
    Message: structuredMessage(text, machine),
    MessageAttributes: alertAttributes(alert),
  };
}

/**
 * The exact publish request for an alert: e-mail readers get the plain text, machines the alert
 * JSON, all under SNS's 256 KB. A message that does not fit is cut level by level, and both parts then
 * say so and where the full event is (the event id and console link, and the state-table item). So is
 * one whose raw event nests too deeply to serialize whole: every level bounds the depth.
 */
export function alertPublishInput(alert: Alert, topicArn: string): PublishCommandInput {
  let whole: PublishCommandInput | undefined;
  try {
    whole = alertInput(alert, topicArn, `${renderAlertText(alert)}\n\n${emailFooter(alert)}\n`, {
      kind: 'alert',
      version: TOPIC_MESSAGE_VERSION,
      alert,
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  const originalBytes = whole === undefined ? undefined : publishSize(whole);
  if (whole !== undefined && originalBytes !== undefined && originalBytes <= SNS_MESSAGE_BUDGET_BYTES) {
    return whole;
  }
  const { document: _document, ...rest } = alert;
  for (const level of LEVELS) {
    const shrunk: Alert = {
      ...(shrink(rest, level.cut) as Omit<Alert, 'document'>),
      document: documentAt(level, alert),
    };
    const text = [
      'NOTE: this alert was shortened to fit the 256 KB SNS message limit. The full event is:',
      ...fullEventPointer(alert),
      '',
      renderAlertText(shrunk),
      '',
      emailFooter(alert),
      '',
    ].join('\n');
    const input = alertInput(alert, topicArn, text, {
      kind: 'alert',
      version: TOPIC_MESSAGE_VERSION,
      alert: shrunk,
      truncated: truncationNote(alert, originalBytes),
    });
    if (publishSize(input) <= SNS_MESSAGE_BUDGET_BYTES) return input;
  }
  // Unreachable with the last level's bounds; kept so a future field cannot silently break the limit.
  throw new SnsPublishError(`alert ${alert.id} does not fit in an SNS message even when cut`, alert.id);
}

/** The publish request for a digest: short text, the digest JSON, the alert's attributes and `kind=digest`. */
export function digestPublishInput(digest: AlertDigest, topicArn: string): PublishCommandInput {
  for (const level of [{ cut: WHOLE }, ...LEVELS]) {
    const shrunk = shrink(digest, level.cut) as AlertDigest;
    const machine: TopicMessage = { kind: 'digest', version: TOPIC_MESSAGE_VERSION, digest: shrunk };
    const attributes: Record<string, MessageAttributeValue> = {
      severity: attribute(digest.rule.severity.toLowerCase()),
      rule_id: attribute(digest.rule.id),
      kind: attribute('digest'),
    };
    // A digest knows the cloud and action only when the rule groups by them.
    const cloud = digest.groupBy['cloud.provider'];
    const action = digest.groupBy['event.action'];
    if (typeof cloud === 'string') attributes.cloud = attribute(cloud);
    if (typeof action === 'string') attributes.event_action = attribute(action);
    const input: PublishCommandInput = {
      TopicArn: topicArn,
      Subject: digestSubject(digest),
      MessageStructure: 'json',
      Message: structuredMessage(renderDigestText(shrunk), machine),
      MessageAttributes: attributes,
    };
    if (publishSize(input) <= SNS_MESSAGE_BUDGET_BYTES) return input;
  }
  throw new SnsPublishError(`digest of ${digest.alertId} does not fit in an SNS message`, digest.alertId);
}

/* ---------- Reading the machine message back (the Slack notifier's side of the contract) ---------- */

type Check = (value: unknown, path: string) => string | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const string: Check = (value, path) => (typeof value === 'string' ? undefined : `${path} is not a string`);
const number: Check = (value, path) => (typeof value === 'number' ? undefined : `${path} is not a number`);
const stringOrNull: Check = (value, path) =>
  value === null || typeof value === 'string' ? undefined : `${path} is not a string or null`;
const optional =
  (check: Check): Check =>
  (value, path) =>
    value === undefined ? undefined : check(value, path);
const arrayOf =
  (check: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) return `${path} is not an array`;
    for (const [index, item] of value.entries()) {
      const error = check(item, `${path}[${index}]`);
      if (error) return error;
    }
    return undefined;
  };
const recordOf =
  (check: Check): Check =>
  (value, path) => {
    if (!isRecord(value)) return `${path} is not an object`;
    for (const [key, item] of Object.entries(value)) {
      const error = check(item, `${path}.${key}`);
      if (error) return error;
    }
    return undefined;
  };
const object =
  (shape: Record<string, Check>): Check =>
  (value, path) => {
    if (!isRecord(value)) return `${path} is not an object`;
    for (const [key, check] of Object.entries(shape)) {
      const error = check(Object.hasOwn(value, key) ? value[key] : undefined, `${path}.${key}`);
      if (error) return error;
    }
    return undefined;
  };
const anyRecord: Check = (value, path) => (isRecord(value) ? undefined : `${path} is not an object`);
const anyValue: Check = () => undefined;

const runbookStep = object({
  id: string,
  text: string,
  commands: arrayOf(object({ cloud: string, command: string, missing: arrayOf(string) })),
});

/** Everything the renderers read; more fields may be present. */
const alertShape = object({
  id: string,
  rule: object({
    id: string,
    name: string,
    description: string,
    severity: string,
    riskScore: number,
    techniques: arrayOf(object({ id: string, name: string, tactic: optional(string) })),
    references: arrayOf(string),
  }),
  event: object({
    id: string,
    time: string,
    provider: string,
    action: string,
    outcome: optional(string),
    dataset: string,
    cloud: string,
    accountId: optional(string),
    region: optional(string),
    userName: optional(string),
    userId: optional(string),
    sourceIp: optional(string),
    userAgent: optional(string),
    errorCode: optional(string),
    errorMessage: optional(string),
    target: optional(recordOf(anyValue)),
  }),
  runbook: object(Object.fromEntries(RUNBOOK_PHASES.map((phase) => [phase, arrayOf(runbookStep)]))),
  consoleUrl: optional(string),
  provenance: object({
    source: string,
    providerEntry: string,
    actionEntry: string,
    rawProvider: string,
    rawAction: string,
  }),
  dedupe: object({
    occurrenceKey: string,
    groupKey: string,
    groupBy: recordOf(stringOrNull),
    windowStart: string,
    windowEnd: string,
  }),
  document: anyRecord,
});

const digestShape = object({
  alertId: string,
  rule: object({ id: string, name: string, severity: string }),
  groupBy: recordOf(stringOrNull),
  windowStart: string,
  windowEnd: string,
  count: number,
  firstSeen: string,
  lastSeen: string,
  sampleEventIds: arrayOf(string),
});

/** Result of reading a topic message: garbage is a value to log and skip, not an exception to retry. */
export type ParsedTopicMessage = TopicMessage | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Reads what {@link alertPublishInput} or {@link digestPublishInput} sent to machine subscribers,
 * checking every field a renderer reads. Anyone who can publish to the topic can send anything, and a
 * message that can never be rendered must not be retried forever.
 */
export function parseTopicMessage(text: string): ParsedTopicMessage {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return { kind: 'invalid', reason: 'message is not JSON' };
  }
  if (!isRecord(value)) return { kind: 'invalid', reason: 'message is not a JSON object' };
  if (value.version !== TOPIC_MESSAGE_VERSION) {
    return {
      kind: 'invalid',
      reason: `unsupported message version ${JSON.stringify(value.version ?? null).slice(0, 20)}`,
    };
  }
  if (value.kind === 'alert') {
    const error = alertShape(value.alert, 'alert');
    return error ? { kind: 'invalid', reason: error.slice(0, 200) } : (value as unknown as TopicMessage);
  }
  if (value.kind === 'digest') {
    const error = digestShape(value.digest, 'digest');
    return error ? { kind: 'invalid', reason: error.slice(0, 200) } : (value as unknown as TopicMessage);
  }
  return { kind: 'invalid', reason: 'message kind is neither alert nor digest' };
}
