import { Arn, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { SourceName } from '../../lambda/engine/ecs';
import type { Rule } from '../../lambda/engine/rules';
import { acknowledgeWildcardResource } from '../nag';
import type { DeadLetterQueue } from './dead-letter-queue';
import { HandlerFunction } from './handler-function';
import type { LakeSource } from './lake-delivery-stream';
import type { QueryWorkgroup } from './query-workgroup';
import { STATE_TABLE_SCHEMA } from './state-table';
import type { SweepCatalog } from './sweep-catalog';
import { SweepSchedule } from './sweep-schedule';

/** The lake objects the sweep reads. */
export interface SweepLakeAccess {
  readonly bucket: s3.IBucket;
  /** The lake bucket's key; the sweep decrypts through S3 only. */
  readonly key: kms.IKey;
  /** The sources with a prefix in the lake. */
  readonly sources: readonly LakeSource[];
  /**
   * Key prefix of the lake inside the bucket, empty or ending in `/`.
   * @default ''
   */
  readonly prefix?: string;
}

/** The trail's log files the sweep reads (the bucket is usually in a log-archive account). */
export interface SweepTrailAccess {
  readonly bucket: string;
  /**
   * The trail's key prefix, empty or ending in `/`.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * The organization id of an organization trail: reads are limited to `AWSLogs/<org id>/`.
   * @default - not an organization trail: `AWSLogs/`
   */
  readonly organizationId?: string;
  /**
   * The key the trail encrypts its files with.
   * @default - SSE-S3: no key to decrypt with
   */
  readonly kmsKeyArn?: string;
}

export interface SweepProps {
  /** The detection rules; the enabled ones that read a swept source set the schedule. */
  readonly rules: readonly Rule[];
  /** The folder the rules were loaded from; its rule files are copied into the bundle. An absolute path. */
  readonly rulesDirectory: string;
  /** The Glue tables; the sweep reads the sources it has tables for. */
  readonly catalog: SweepCatalog;
  /** Where the queries run. */
  readonly workgroup: QueryWorkgroup;
  /** The state table (dedupe, outbox, checkpoints). */
  readonly stateTable: dynamodb.ITable;
  readonly alertTopic: sns.ITopic;
  /** The alert topic's key: publishing to an encrypted topic needs it. */
  readonly alertTopicKey: kms.IKey;
  /**
   * The key of the state table, of the query results (through S3) and of the function's log group.
   */
  readonly dataKey: kms.IKey;
  /** Receives failed asynchronous invocations and undeliverable schedule events. */
  readonly deadLetterQueue: DeadLetterQueue;
  /**
   * The lake, when the catalog has Azure or GCP tables.
   * @default - no lake access
   */
  readonly lake?: SweepLakeAccess;
  /**
   * The trail's files, when the catalog has a CloudTrail table.
   * @default - no trail access
   */
  readonly trail?: SweepTrailAccess;
  /**
   * How far behind now the sweep stays (`SWEEP_LAG_MINUTES`). Whole minutes.
   * @default Duration.minutes(15)
   */
  readonly lag?: Duration;
  /**
   * The most event time one query covers while catching up (`SWEEP_MAX_WINDOW_MINUTES`). Whole minutes.
   * @default Duration.minutes(60)
   */
  readonly maxWindow?: Duration;
  /**
   * The function timeout, 5 to 15 minutes; the handler stops cleanly before it.
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
  /**
   * Bundle the handler with esbuild; `false` deploys an inline stub (tests only).
   * @default true
   */
  readonly bundling?: boolean;
}

/**
 * The scheduled sweep (docs/sweep.md): the `lambda/handlers/sweep.ts` function, with exactly the permissions a
 * run needs (Athena on one workgroup, Glue on the database and its tables, reads of the lake and the trail
 * prefixes, the results prefix, the state table, the alert topic), and its schedule from the rule files.
 * Asynchronous retries are off: a failed window stays at its checkpoint and the next run retries it.
 */
export class Sweep extends Construct {
  public readonly handler: HandlerFunction;
  public readonly schedule: SweepSchedule;
  /** The sources swept (those the catalog has tables for), as `SWEEP_SOURCES` lists them. */
  public readonly sources: readonly SourceName[];
  public readonly lag: Duration;

  constructor(scope: Construct, id: string, props: SweepProps) {
    super(scope, id);
    this.lag = props.lag ?? Duration.minutes(15);
    const maxWindow = props.maxWindow ?? Duration.minutes(60);
    const timeout = props.timeout ?? Duration.minutes(10);
    const lagMinutes = this.lag.toMinutes({ integral: false });
    const maxWindowMinutes = maxWindow.toMinutes({ integral: false });
    if (!Number.isInteger(lagMinutes) || lagMinutes < 0) {
      throw new Error('SweepProps.lag must be a whole number of minutes');
    }
    if (!Number.isInteger(maxWindowMinutes) || maxWindowMinutes < 1) {
      throw new Error('SweepProps.maxWindow must be a whole number of minutes, at least one');
    }
    if (timeout.toSeconds() < 300 || timeout.toSeconds() > 900) {
      throw new Error('SweepProps.timeout must be 5 to 15 minutes');
    }
    this.sources = [...props.catalog.tableNames.keys()];
    const lakeSources = this.sources.filter((source) => source !== 'aws-cloudtrail');
    const missing = lakeSources.filter((source) => !props.lake?.sources.includes(source));
    if (missing.length > 0) {
      throw new Error(`SweepProps.lake must give access to the lake of ${missing.join(', ')}`);
    }
    if (this.sources.includes('aws-cloudtrail') !== (props.trail !== undefined)) {
      throw new Error('SweepProps.trail must be given exactly when the catalog has a CloudTrail table');
    }
    const stack = Stack.of(this);

    const tableVariable: Record<SourceName, string> = {
      'aws-cloudtrail': 'CLOUDTRAIL_TABLE',
      'azure-activity-logs': 'AZURE_TABLE',
      'gcp-audit-logs': 'GCP_TABLE',
    };
    this.handler = new HandlerFunction(this, 'Function', {
      entry: 'lambda/handlers/sweep.ts',
      description:
        'Sweeps the raw CloudTrail, Azure and GCP tables with Athena for events the real-time path missed',
      logEncryptionKey: props.dataKey,
      deadLetterQueue: props.deadLetterQueue,
      timeout,
      memorySize: 1024,
      rulesDirectory: props.rulesDirectory,
      bundling: props.bundling ?? true,
      environment: {
        TABLE_NAME: props.stateTable.tableName,
        TOPIC_ARN: props.alertTopic.topicArn,
        ATHENA_WORKGROUP: props.workgroup.workGroupName,
        ATHENA_DATABASE: props.catalog.databaseName,
        ...Object.fromEntries(
          [...props.catalog.tableNames].map(([source, name]) => [tableVariable[source], name]),
        ),
        SWEEP_SOURCES: this.sources.join(','),
        SWEEP_LAG_MINUTES: String(lagMinutes),
        SWEEP_MAX_WINDOW_MINUTES: String(maxWindowMinutes),
      },
    });
    this.handler.function.configureAsyncInvoke({ retryAttempts: 0 });

    const fn = this.handler;
    fn.allow(
      'RunSweepQueries',
      ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
      [props.workgroup.workGroupArn],
    );
    fn.allow(
      'ReadSweepTables',
      ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      [...props.catalog.readArns],
    );
    const tableArn = props.stateTable.tableArn;
    fn.allow(
      'ReadWriteStateItems',
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [tableArn],
    );
    fn.allow('QueryTheOutbox', ['dynamodb:Query'], [`${tableArn}/index/${STATE_TABLE_SCHEMA.pendingIndex}`]);
    // DynamoDB (state) and S3 (query results) use the data key on the function's behalf, and only they may.
    fn.allow(
      'UseDataKeyThroughDynamoDbAndS3',
      ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      [props.dataKey.keyArn],
      {
        StringEquals: {
          'kms:ViaService': [`dynamodb.${stack.region}.amazonaws.com`, `s3.${stack.region}.amazonaws.com`],
        },
      },
    );
    fn.allow('PublishAlerts', ['sns:Publish'], [props.alertTopic.topicArn]);
    fn.allow('EncryptAlerts', ['kms:GenerateDataKey', 'kms:Decrypt'], [props.alertTopicKey.keyArn]);

    // Athena reads and writes S3 with the caller's credentials: object rights below fixed prefixes.
    const objectGrants: Array<{ resource: string; reason: string }> = [];
    const results = props.workgroup.resultsBucket;
    const resultObjects = results.arnForObjects(`${props.workgroup.resultsPrefix}*`);
    fn.allow('LocateQueryResults', ['s3:GetBucketLocation', 's3:ListBucket'], [results.bucketArn]);
    fn.allow(
      'ReadWriteQueryResults',
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      [resultObjects],
    );
    objectGrants.push({
      resource: resultObjects,
      reason:
        "Athena writes each query's results, on the caller's behalf, under an object key named after the query " +
        "execution id, which is not known in advance; the sweep reads them back. Only the workgroup's results " +
        'prefix of its own bucket, no delete.',
    });
    if (props.lake !== undefined && lakeSources.length > 0) {
      const { bucket, key } = props.lake;
      const lakeObjects = lakeSources.map((source) =>
        bucket.arnForObjects(`${props.lake?.prefix ?? ''}${source}/*`),
      );
      fn.allow('LocateTheLake', ['s3:GetBucketLocation', 's3:ListBucket'], [bucket.bucketArn]);
      fn.allow('ReadTheLake', ['s3:GetObject'], lakeObjects);
      fn.allow('DecryptTheLake', ['kms:Decrypt'], [key.keyArn], {
        StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
      });
      for (const resource of lakeObjects) {
        objectGrants.push({
          resource,
          reason:
            "Athena reads, on the caller's behalf, every object of the hourly partitions a query selects, under keys " +
            'Firehose generated: read only, one source prefix of the lake.',
        });
      }
    }
    if (props.trail !== undefined) {
      const trail = props.trail;
      const bucketArn = Arn.format({ service: 's3', region: '', account: '', resource: trail.bucket }, stack);
      const orgPath = trail.organizationId === undefined ? '' : `${trail.organizationId}/`;
      const trailObjects = `${bucketArn}/${trail.prefix ?? ''}AWSLogs/${orgPath}*`;
      fn.allow('LocateTheTrail', ['s3:GetBucketLocation', 's3:ListBucket'], [bucketArn]);
      fn.allow('ReadTheTrail', ['s3:GetObject'], [trailObjects]);
      // The trail key may live in another account or region, so no kms:ViaService condition: Decrypt only.
      if (trail.kmsKeyArn !== undefined) fn.allow('DecryptTheTrail', ['kms:Decrypt'], [trail.kmsKeyArn]);
      objectGrants.push({
        resource: trailObjects,
        reason:
          "Athena reads, on the caller's behalf, the trail's log files of the days a query selects, under keys " +
          "CloudTrail generated (account, region, date, file name): read only, the trail's AWSLogs prefix.",
      });
    }
    for (const { resource, reason } of objectGrants) acknowledgeWildcardResource(fn.role, resource, reason);

    this.schedule = new SweepSchedule(this, 'Schedule', {
      rules: props.rules,
      sources: this.sources,
      sweepFunction: fn.function,
      deadLetterQueue: props.deadLetterQueue,
    });
  }
}
