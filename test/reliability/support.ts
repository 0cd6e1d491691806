/**
 * The reliability suite's harness: raw events of the three clouds, the real detect pipeline wired to
 * dynalite with SNS and S3 mocked at the client, a driver that invokes it the way the Kinesis event source
 * mapping does (batches in shard order, retries from the lowest failed sequence number), and the reference
 * answer (the same engine over a memory store) that every fault run is compared with.
 */
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { PublishCommand, PublishCommandInput } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { DeadLetter } from '../../lambda/adapters/dead-letter';
import { S3DeadLetterSink } from '../../lambda/adapters/dead-letter';
import { DynamoDbDetectionStore, PENDING_KIND } from '../../lambda/adapters/dynamodb-store';
import { DynamoDbOutbox } from '../../lambda/adapters/outbox';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import { SnsAlertPublisher } from '../../lambda/adapters/sns-publisher';
import type { DetectorRule } from '../../lambda/engine/detector/detector';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import type { Rule } from '../../lambda/engine/rules';
import { loadRules } from '../../lambda/engine/rules';
import type {
  CloudTrailBridgeEvent,
  DetectDependencies,
  PipelineLogger,
  PipelineMetrics,
  RedriveDependencies,
} from '../../lambda/handlers/pipeline';
import { cachedRules, parsePayload, redrive } from '../../lambda/handlers/pipeline';
import { Faults, pendingItems } from '../adapters/state-support';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, createStream, readKinesisEvent, uniqueName } from '../support/local-aws';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const RULES_DIR = path.join(ROOT, 'rules');
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:alerts';
export const LEASE_MS = 120_000;
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** The shipped rules, loaded once per test file (the same array every time, as `cachedRules` gives it). */
export const shippedRules = cachedRules(() => loadRules(RULES_DIR)) as () => Promise<readonly Rule[]>;

// ---------------------------------------------------------------------------------------------------------
// Raw events, as each cloud writes them

export type Cloud = 'aws' | 'azure' | 'gcp';

export interface EventSpec {
  readonly cloud: Cloud;
  /** CloudTrail `eventID`, Azure `eventDataId`, GCP `insertId`. */
  readonly id: string;
  readonly user: string;
  /** ISO 8601 event time. */
  readonly time: string;
  /** A call the shipped rule selects, or an everyday one it does not. */
  readonly sensitive: boolean;
  readonly account?: string;
}

const AWS_ACCOUNT = '111122223333';
const AZURE_SUBSCRIPTION = '5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const GCP_PROJECT = 'acme-prod-4821';

/** A CloudTrail record: an IAM user deleting an access key, or listing users. */
export function cloudTrailRecord(spec: Omit<EventSpec, 'cloud'>): Record<string, unknown> {
  const account = spec.account ?? AWS_ACCOUNT;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDA4EXAMPLEPRINCIPAL',
      arn: `arn:aws:iam::${account}:user/${spec.user}`,
      accountId: account,
      accessKeyId: 'AKIA4EXAMPLECALLER01',
      userName: spec.user,
    },
    eventTime: spec.time,
    eventSource: 'iam.amazonaws.com',
    eventName: spec.sensitive ? 'DeleteAccessKey' : 'ListUsers',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.40 md/Botocore#1.34.98 ua/2.0 os/linux#6.5.0 lang/python#3.11.8',
    requestParameters: spec.sensitive
      ? { userName: 'ci-deployer', accessKeyId: 'AKIAQWERTYUIOPLKJH77' }
      : { maxItems: 100 },
    responseElements: null,
    requestID: `req-${spec.id}`,
    eventID: spec.id,
    readOnly: !spec.sensitive,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

/** An Azure Activity Log record in the REST shape: a role assignment written, or storage keys listed. */
export function azureRecord(spec: Omit<EventSpec, 'cloud'>): Record<string, unknown> {
  const subscription = spec.account ?? AZURE_SUBSCRIPTION;
  const operation = spec.sensitive
    ? 'Microsoft.Authorization/roleAssignments/write'
    : 'Microsoft.Storage/storageAccounts/listKeys/action';
  const resourceId = spec.sensitive
    ? `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleAssignments/9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a`
    : `/subscriptions/${subscription}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata01`;
  return {
    authorization: { action: operation, scope: resourceId },
    caller: spec.user,
    channels: 'Operation',
    claims: {
      'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': spec.user,
      'http://schemas.microsoft.com/identity/claims/objectidentifier': '4b3a2918-f7e6-4d5c-b4a3-928170f6e5d4',
      ipaddr: '203.0.113.45',
    },
    correlationId: `corr-${spec.id}`,
    eventDataId: spec.id,
    eventName: { value: 'EndRequest', localizedValue: 'End request' },
    category: { value: 'Administrative', localizedValue: 'Administrative' },
    eventTimestamp: spec.time,
    level: 'Informational',
    operationName: { value: operation, localizedValue: operation },
    resourceProviderName: { value: operation.split('/')[0], localizedValue: operation.split('/')[0] },
    resourceId,
    status: { value: 'Succeeded', localizedValue: 'Succeeded' },
    subStatus: { value: 'Created', localizedValue: 'Created (HTTP Status Code: 201)' },
    submissionTimestamp: spec.time,
    subscriptionId: subscription,
    properties: {
      statusCode: 'Created',
      requestbody: spec.sensitive
        ? JSON.stringify({
            Id: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
            Properties: {
              PrincipalId: 'c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f',
              PrincipalType: 'ServicePrincipal',
              RoleDefinitionId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`,
              Scope: `/subscriptions/${subscription}`,
            },
          })
        : undefined,
    },
  };
}

/** A GCP audit LogEntry: a service-account key deleted, or an object read. */
export function gcpEntry(spec: Omit<EventSpec, 'cloud'>): Record<string, unknown> {
  const project = spec.account ?? GCP_PROJECT;
  const key = `projects/${project}/serviceAccounts/ledger@${project}.iam.gserviceaccount.com/keys/5d1e0c9f3b7a2e8d`;
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: spec.user },
      requestMetadata: {
        callerIp: '198.51.100.140',
        callerSuppliedUserAgent: 'google-cloud-sdk gcloud/475.0.0 command/gcloud.iam.service-accounts.keys',
      },
      serviceName: spec.sensitive ? 'iam.googleapis.com' : 'storage.googleapis.com',
      methodName: spec.sensitive ? 'google.iam.admin.v1.DeleteServiceAccountKey' : 'storage.objects.get',
      resourceName: spec.sensitive ? key : `projects/_/buckets/exports/objects/report.csv`,
      request: spec.sensitive ? { name: key } : {},
    },
    insertId: spec.id,
    resource: {
      type: spec.sensitive ? 'service_account' : 'gcs_bucket',
      labels: { project_id: project, email_id: `ledger@${project}.iam.gserviceaccount.com` },
    },
    timestamp: spec.time,
    severity: 'NOTICE',
    logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
    receiveTimestamp: spec.time,
  };
}

/** The raw record of one event, as its forwarder (or CloudTrail's EventBridge integration) carries it. */
export function rawEvent(spec: EventSpec): Record<string, unknown> {
  switch (spec.cloud) {
    case 'aws':
      return cloudTrailRecord(spec);
    case 'azure':
      return azureRecord(spec);
    case 'gcp':
      return gcpEntry(spec);
  }
}

/** One Kinesis payload per event, as the forwarders write them (a CloudTrail record goes bare). */
export function payloadOf(spec: EventSpec): Buffer {
  return Buffer.from(JSON.stringify(rawEvent(spec)), 'utf8');
}

/** The EventBridge "AWS API Call via CloudTrail" event that carries a CloudTrail record. */
export function bridgeEvent(record: Record<string, unknown>): CloudTrailBridgeEvent {
  return {
    version: '0',
    id: `bridge-${String(record.eventID)}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: AWS_ACCOUNT,
    time: String(record.eventTime),
    region: 'us-east-1',
    resources: [],
    detail: record,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The deployed pipeline on loopback: dynalite, SNS and S3 mocked at the client

/** Reads what the publisher sent to machine subscribers. */
export function topicMessage(input: PublishCommandInput): {
  kind: string;
  alert?: { id: string; event: { id: string } };
  digest?: { alertId: string; count: number };
} {
  const envelope = JSON.parse(input.Message ?? '{}') as { lambda: string };
  return JSON.parse(envelope.lambda);
}

/**
 * SNS at the client boundary. `failNext` publishes fail before SNS takes them; `acceptThenFail` are taken
 * by SNS (subscribers get them) but the caller sees an error, as with a timeout after the request landed.
 */
export class SnsRecorder {
  /** Every publish SNS took, in order: what subscribers received. */
  readonly delivered: PublishCommandInput[] = [];
  attempts = 0;
  failNext = 0;
  acceptThenFail = 0;
  /** Runs after SNS took a message, before the caller hears back (e.g. to crash the process there). */
  afterAccept: (input: PublishCommandInput) => void = () => undefined;
  readonly sender: SnsSender = {
    send: (async (command: PublishCommand) => {
      this.attempts += 1;
      if (this.failNext > 0) {
        this.failNext -= 1;
        throw Object.assign(new Error('Service Unavailable'), { name: 'InternalErrorException' });
      }
      this.delivered.push(command.input);
      this.afterAccept(command.input);
      if (this.acceptThenFail > 0) {
        this.acceptThenFail -= 1;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      return { MessageId: `message-${this.delivered.length}`, $metadata: {} };
    }) as SnsSender['send'],
  };

  /** Alert ids of every alert message delivered, in order (digests excluded). */
  alertIds(): string[] {
    return this.delivered
      .filter((input) => input.MessageAttributes?.kind?.StringValue === 'alert')
      .map((input) => topicMessage(input).alert?.id ?? '');
  }

  /** How many times each alert was delivered. */
  alertCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const id of this.alertIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  }

  digestCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const input of this.delivered) {
      if (input.MessageAttributes?.kind?.StringValue !== 'digest') continue;
      const id = topicMessage(input).digest?.alertId ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }
}

/** Metrics summed by name over every invocation, and a silent logger that keeps what it was told. */
export class Observers {
  readonly figures = new Map<string, number>();
  readonly logs: { level: string; message: string; data: unknown }[] = [];
  readonly metrics = {
    addMetric: (name: string, _unit: unknown, value: number) => {
      this.figures.set(name, (this.figures.get(name) ?? 0) + value);
    },
    publishStoredMetrics: () => undefined,
  } as unknown as PipelineMetrics;
  readonly logger: PipelineLogger = {
    debug: ((message: string, data?: unknown) => this.log('debug', message, data)) as PipelineLogger['debug'],
    info: ((message: string, data?: unknown) => this.log('info', message, data)) as PipelineLogger['info'],
    warn: ((message: string, data?: unknown) => this.log('warn', message, data)) as PipelineLogger['warn'],
    error: ((message: string, data?: unknown) => this.log('error', message, data)) as PipelineLogger['error'],
  };

  metric(name: string): number {
    return this.figures.get(name) ?? 0;
  }

  private log(level: string, message: string, data: unknown): void {
    this.logs.push({ level, message, data });
  }
}

/** When an injected DynamoDB error strikes: before the request, or after DynamoDB applied it. */
export type FaultTiming = 'before' | 'after';

export interface DynamoDbCall {
  readonly command: string;
  /** The item's `pk`, or `index:<partition>` for a query of the `pending` index. */
  readonly key: string;
  /** The conditional write that marks an outbox item SENT. */
  readonly marksSent: boolean;
  failed?: FaultTiming;
}

/**
 * Error injection on a real client, in its middleware: `decide` may fail any call before it reaches
 * DynamoDB, or after DynamoDB applied it (a timeout on the way back), which is the harder case for
 * conditional writes. Every call is traced.
 */
export class Chaos {
  decide: ((call: DynamoDbCall, input: Record<string, unknown>) => FaultSpec | undefined) | undefined;
  readonly trace: DynamoDbCall[] = [];

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const call: DynamoDbCall = {
          command: context.commandName ?? '',
          key: keyOf(input),
          marksSent: typeof input.UpdateExpression === 'string' && input.UpdateExpression.includes(':sent'),
        };
        this.trace.push(call);
        const fault = this.decide?.(call, input);
        if (fault !== undefined) call.failed = fault.timing;
        if (fault?.timing === 'before') throw fault.error;
        const result = await next(args);
        if (fault?.timing === 'after') throw fault.error;
        return result;
      },
      { step: 'initialize', name: 'reliabilityChaos' },
    );
  }
}

export interface FaultSpec {
  readonly timing: FaultTiming;
  readonly error: Error;
}

function keyOf(input: Record<string, unknown>): string {
  const item = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
  if (item?.pk?.S !== undefined) return item.pk.S;
  const values = input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
  return `index:${values?.[':kind']?.S ?? '?'}`;
}

export interface Stack {
  readonly table: string;
  /** The DynamoDB client every component uses; `faults` and `chaos` sit in its middleware. */
  readonly client: DynamoDBClient;
  readonly faults: Faults;
  readonly chaos: Chaos;
  readonly sns: SnsRecorder;
  /** What the S3 dead-letter sink put, decoded. */
  readonly deadLetters: DeadLetter[];
  /** Puts to S3 fail while positive. */
  deadLetterFailures: number;
  readonly observers: Observers;
  readonly store: DynamoDbDetectionStore;
  readonly outbox: DynamoDbOutbox;
  detectDeps(now: number, overrides?: Partial<DetectDependencies>): DetectDependencies;
  redriveDeps(now: number): RedriveDependencies;
  /** Items still waiting in the `pending` index (alerts, digests, stalled matches). */
  pending(): Promise<{ alerts: number; digests: number; applying: number }>;
  destroy(): void;
}

/** A fresh state table and fresh mocks; every component shares one faulty DynamoDB client. */
export async function newStack(
  aws: LocalAws,
  options: { rules?: () => Promise<readonly DetectorRule[]> } = {},
): Promise<Stack> {
  const table = uniqueName('reliability');
  await createStateTable(aws.dynamodb, table);
  const client = aws.newDynamoDbClient();
  const faults = new Faults(client);
  const chaos = new Chaos(client);
  const sns = new SnsRecorder();
  const observers = new Observers();
  const deadLetters: DeadLetter[] = [];
  const store = new DynamoDbDetectionStore(client, { tableName: table, leaseMs: LEASE_MS });
  const outbox = new DynamoDbOutbox(client, new SnsAlertPublisher(sns.sender, TOPIC_ARN), {
    tableName: table,
    leaseMs: LEASE_MS,
  });
  const stack: Stack = {
    table,
    client,
    faults,
    chaos,
    sns,
    deadLetters,
    deadLetterFailures: 0,
    observers,
    store,
    outbox,
    detectDeps: (now, overrides = {}) => ({
      loadRules: options.rules ?? shippedRules,
      store,
      outbox,
      deadLetters: new S3DeadLetterSink(
        {
          send: async (command: PutObjectCommand) => {
            if (stack.deadLetterFailures > 0) {
              stack.deadLetterFailures -= 1;
              throw Object.assign(new Error('Slow Down'), { name: 'SlowDown' });
            }
            const body = JSON.parse(String(command.input.Body)) as {
              source: DeadLetter['source'];
              location: DeadLetter['location'];
              reason: string;
              raw: { encoding: string; data: string };
              receivedAt: string;
            };
            deadLetters.push({
              source: body.source,
              location: body.location,
              reason: body.reason,
              raw: Buffer.from(body.raw.data, body.raw.encoding === 'base64' ? 'base64' : 'utf8'),
              receivedAt: new Date(body.receivedAt),
            });
            return {};
          },
        } as Pick<S3Client, 'send'>,
        { bucket: 'dead-letters' },
      ),
      logger: observers.logger,
      metrics: observers.metrics,
      now: () => new Date(now),
      ...overrides,
    }),
    redriveDeps: (now) => ({
      store,
      outbox,
      logger: observers.logger,
      metrics: observers.metrics,
      now: () => new Date(now),
    }),
    // Read with the server's own client: the stack's may be in the middle of a fault storm.
    pending: async () => ({
      alerts: (await pendingItems(aws.dynamodb, table, PENDING_KIND.alert)).length,
      digests: (await pendingItems(aws.dynamodb, table, PENDING_KIND.digest)).length,
      applying: (await pendingItems(aws.dynamodb, table, PENDING_KIND.applying)).length,
    }),
    destroy: () => client.destroy(),
  };
  return stack;
}

// ---------------------------------------------------------------------------------------------------------
// Lambda's side of the Kinesis event source mapping

export interface ShardRunReport {
  invocations: number;
  /** Invocations that re-delivered records of a batch (partial failure or a failed invocation). */
  retries: number;
}

/**
 * Invokes `handler` over one shard's records the way the event source mapping does with
 * `ReportBatchItemFailures`: batches of `batchSize` in order; after a partial failure, the batch again from
 * the lowest failed sequence number onward (so the records after it are delivered again); after an
 * invocation error, the whole batch again. Throws when a batch still fails after `maxAttempts`.
 */
export async function runShard(
  records: readonly KinesisStreamRecord[],
  handler: (event: KinesisStreamEvent, attempt: number) => Promise<KinesisStreamBatchResponse | undefined>,
  options: { batchSize?: number; maxAttempts?: number } = {},
): Promise<ShardRunReport> {
  const batchSize = options.batchSize ?? 100;
  const maxAttempts = options.maxAttempts ?? 20;
  const report: ShardRunReport = { invocations: 0, retries: 0 };
  for (let start = 0; start < records.length; start += batchSize) {
    const whole = records.slice(start, start + batchSize);
    let batch = whole;
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > maxAttempts) {
        throw new Error(`batch at record ${start} still failing after ${maxAttempts} attempts`);
      }
      if (attempt > 1) report.retries += 1;
      report.invocations += 1;
      let response: KinesisStreamBatchResponse | undefined;
      try {
        response = await handler({ Records: batch }, attempt);
      } catch {
        batch = whole;
        continue;
      }
      const failed = response?.batchItemFailures ?? [];
      if (failed.length === 0) break;
      // Sequence numbers are decimal strings too long for a number: compare them as BigInt.
      let lowest = BigInt(failed[0]?.itemIdentifier ?? '0');
      for (const failure of failed)
        if (BigInt(failure.itemIdentifier) < lowest) lowest = BigInt(failure.itemIdentifier);
      const from = batch.findIndex((record) => BigInt(record.kinesis.sequenceNumber) === lowest);
      // An identifier that names no record of the batch makes Lambda retry the whole batch.
      batch = from < 0 ? whole : batch.slice(from);
    }
  }
  return report;
}

/**
 * Puts the payloads into a new kinesalite stream with `PutRecords` (500 a call, `concurrency` calls at a
 * time, partition keys spread over the shards) and reads every record back, shard by shard.
 */
export async function streamOf(
  aws: LocalAws,
  payloads: readonly Uint8Array[],
  options: { shards?: number; concurrency?: number } = {},
): Promise<KinesisStreamRecord[]> {
  const name = uniqueName('stream');
  await createStream(aws.kinesis, name, options.shards ?? 1);
  const calls: { start: number; chunk: readonly Uint8Array[] }[] = [];
  for (let start = 0; start < payloads.length; start += 500) {
    calls.push({ start, chunk: payloads.slice(start, start + 500) });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let call = calls[next++]; call !== undefined; call = calls[next++]) {
      const { start, chunk } = call;
      const result = await aws.kinesis.send(
        new PutRecordsCommand({
          StreamName: name,
          Records: chunk.map((Data, offset) => ({ Data, PartitionKey: `key-${(start + offset) % 64}` })),
        }),
      );
      if (result.FailedRecordCount) throw new Error(`${result.FailedRecordCount} records were not put`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  return (await readKinesisEvent(aws.kinesis, name)).Records;
}

/** Records grouped by shard, each shard in sequence order (as `readKinesisEvent` returns them). */
export function byShard(records: readonly KinesisStreamRecord[]): KinesisStreamRecord[][] {
  const shards = new Map<string, KinesisStreamRecord[]>();
  for (const record of records) {
    const shard = record.eventID.split(':')[0] ?? '';
    shards.set(shard, [...(shards.get(shard) ?? []), record]);
  }
  return [...shards.values()];
}

/** A Kinesis record as the event source mapping hands it over, for data no stream would carry. */
export function syntheticRecord(sequence: number, data: string): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'synthetic',
      sequenceNumber: String(sequence),
      data,
      approximateArrivalTimestamp: 0,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequence}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/detect',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/synthetic',
  };
}

// ---------------------------------------------------------------------------------------------------------
// The reference answer

export interface Expected {
  /** Every alert id (suppression group) the payloads must produce. */
  readonly alertIds: Set<string>;
  /** Matches per alert (its own and the ones folded into it), for checking digests. */
  readonly groupSizes: Map<string, number>;
  readonly events: number;
  readonly matched: number;
}

/** What the engine alone, over a memory store, makes of the payloads: the alerts a fault run must match. */
export async function expectedAlerts(
  payloads: readonly Uint8Array[],
  rules: readonly DetectorRule[],
  now: number,
): Promise<Expected> {
  const detector = new Detector(rules, new MemoryStore(), { now: () => new Date(now) });
  const alertIds = new Set<string>();
  const groupSizes = new Map<string, number>();
  for (const payload of payloads) {
    let documents: ReturnType<typeof parsePayload>;
    try {
      documents = parsePayload(payload);
    } catch {
      continue;
    }
    for (const document of documents) {
      if ('error' in document) continue;
      for (const item of recordsFromDocument(document.value)) {
        if ('error' in item) continue;
        let normalized: ReturnType<typeof normalize>;
        try {
          normalized = normalize(item.source, item.record);
        } catch {
          continue;
        }
        for (const decision of await detector.process(normalized)) {
          if (decision.kind === 'alert') {
            alertIds.add(decision.alert.id);
            groupSizes.set(decision.alert.id, 1);
          }
          if (decision.kind === 'suppressed') groupSizes.set(decision.alertId, decision.count);
        }
      }
    }
  }
  return { alertIds, groupSizes, events: detector.stats.events, matched: detector.stats.matched };
}

/**
 * Runs the redrive every `stepMs` from `from` until nothing is due (or `maxRuns`), as its schedule would
 * after an outage; returns the time of the last run. Redrive failures are part of the faults under test.
 */
export async function redriveUntilQuiet(
  stack: Stack,
  from: number,
  options: { stepMs?: number; maxRuns?: number } = {},
): Promise<number> {
  const stepMs = options.stepMs ?? 5 * MINUTE;
  let now = from;
  for (let run = 0; run < (options.maxRuns ?? 30); run += 1) {
    await redrive(stack.redriveDeps(now)).catch(() => undefined);
    const pending = await stack.pending();
    if (pending.alerts === 0 && pending.applying === 0 && pending.digests === 0) return now;
    now += stepMs;
  }
  return now;
}

/** A deterministic PRNG (mulberry32), so a failing fast-check case replays the same fault schedule. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
