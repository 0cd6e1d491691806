import { CfnOutput, type CfnResource, Duration, Size, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { SweepTableLocation } from '../lambda/engine/compile/athena-sql';
import type { SourceName } from '../lambda/engine/ecs';
import type { Rule } from '../lambda/engine/rules';
import { CloudTrailIngest } from './constructs/cloudtrail-ingest';
import { DataKey } from './constructs/data-key';
import { DeadLetterBucket } from './constructs/dead-letter-bucket';
import { DeadLetterQueue } from './constructs/dead-letter-queue';
import { ForwarderRole } from './constructs/forwarder-role';
import { HandlerFunction } from './constructs/handler-function';
import { IngestStream } from './constructs/ingest-stream';
import { LakeBucket } from './constructs/lake-bucket';
import { LAKE_SOURCES, LakeDeliveryStream, type LakeSource } from './constructs/lake-delivery-stream';
import { NotificationTopic } from './constructs/notification-topic';
import { OperationsAlarms, type SweepAlarmOptions, type Watched } from './constructs/operations-alarms';
import { OrganizationEventBus } from './constructs/organization-event-bus';
import { QueryWorkgroup } from './constructs/query-workgroup';
import { STATE_TABLE_SCHEMA, StateTable } from './constructs/state-table';
import { Sweep } from './constructs/sweep';
import { SweepCatalog } from './constructs/sweep-catalog';
import { IAM_EVENTS_REGION } from './iam-event-forwarder-stack';
import { acknowledge } from './nag';
import {
  type AzureFederationSettings,
  type CloudTrailLogsSettings,
  type GcpFederationSettings,
  SWEEP_SETTING_DEFAULTS,
} from './settings';

/** Where the sweep's CloudTrail table reads the trail's files; see `CloudTrailLogsSettings`. */
export type CloudTrailLogsLocation = Omit<CloudTrailLogsSettings, 'prefix' | 'startDate'> & {
  /** @default '' */
  readonly prefix?: string;
  /** First day the table's date projection covers (`YYYY-MM-DD`). @default '2025-01-01' */
  readonly startDate?: string;
};

/** The first hour of the lake tables' date projection: nothing was delivered to a lake before this release. */
const LAKE_PROJECTION_START = '2026-01-01-00';

export interface AbnormalCloudApiCallsStackProps extends StackProps {
  /** The detection rules as loaded from `rules/`; the enabled ones are wired. */
  readonly rules: readonly Rule[];
  /** The folder the rules were loaded from; its rule files are copied into the detect and sweep bundles. */
  readonly rulesDirectory: string;
  /**
   * Who receives alerts by e-mail.
   * @default - nobody (alerts still reach Slack, if configured, and the topic)
   */
  readonly alertEmails?: readonly string[];
  /**
   * Who receives operational alarms by e-mail.
   * @default - nobody
   */
  readonly opsEmails?: readonly string[];
  /**
   * The Secrets Manager secret holding the Slack webhook URL.
   * @default - no Slack notifier
   */
  readonly slackWebhookSecretArn?: string;
  /**
   * Accept CloudTrail events forwarded by the accounts of this AWS Organization on a bus of its own.
   * @default - no organization bus
   */
  readonly organizationId?: string;
  /**
   * Trust for the Azure forwarder.
   * @default - the Azure stream (if a rule needs it) has no forwarder role
   */
  readonly azureFederation?: AzureFederationSettings;
  /**
   * Trust for the GCP forwarder.
   * @default - the GCP stream (if a rule needs it) has no forwarder role
   */
  readonly gcpFederation?: GcpFederationSettings;
  /**
   * Where the organization's existing trail delivers its log files: the sweep's CloudTrail table reads them.
   * @default - no CloudTrail table and no CloudTrail sweep (the EventBridge path still runs)
   */
  readonly cloudTrailLogs?: CloudTrailLogsLocation;
  /**
   * How far behind now the sweep stays (`SWEEP_LAG_MINUTES`): at least the lake's Firehose buffer interval
   * (5 minutes), and more than CloudTrail's delivery delay. Whole minutes.
   * @default Duration.minutes(15)
   */
  readonly sweepLag?: Duration;
  /**
   * The Athena workgroup's `BytesScannedCutoffPerQuery`.
   * @default Size.gibibytes(10)
   */
  readonly athenaBytesScannedCutoff?: Size;
  /**
   * Let the detect function skip Kinesis payloads that contain none of the literals the enabled rules need,
   * without parsing them (`LITERAL_PREFILTER=on`). The alerts are the same; the difference is that a payload
   * that would not parse but holds no such literal is skipped (counted in `RecordsSkipped`) instead of
   * dead-lettered. Worth it only at very high Kinesis volumes.
   * @default false
   */
  readonly literalPrefilter?: boolean;
  /**
   * Bundle the handlers with esbuild; `false` deploys inline stubs (tests, infrastructure-only synth).
   * @default true
   */
  readonly bundling?: boolean;
}

/**
 * The detector in its home region: ingest (EventBridge for CloudTrail, Kinesis for Azure and GCP), the
 * detect, redrive and Slack functions, state, notifications and alarms. Composition only: each piece is a
 * construct of `lib/constructs/`.
 */
export class AbnormalCloudApiCallsStack extends Stack {
  public readonly detectFunction: HandlerFunction;
  public readonly redriveFunction: HandlerFunction;
  public readonly slackNotifierFunction?: HandlerFunction;
  public readonly stateTable: StateTable;
  public readonly alertTopic: NotificationTopic;
  public readonly operationsTopic: NotificationTopic;
  public readonly deadLetterQueue: DeadLetterQueue;
  public readonly deadLetterBucket: DeadLetterBucket;
  public readonly cloudTrailIngest: CloudTrailIngest;
  public readonly organizationEventBus?: OrganizationEventBus;
  public readonly azureStream?: IngestStream;
  public readonly gcpStream?: IngestStream;
  public readonly azureForwarderRole?: ForwarderRole;
  public readonly gcpForwarderRole?: ForwarderRole;
  /** The lake, its delivery streams, the Glue tables, the workgroup, the sweep and its schedule: present when some enabled rule reads a source with a table. */
  public readonly lakeBucket?: LakeBucket;
  public readonly lakeDeliveryStreams: ReadonlyMap<LakeSource, LakeDeliveryStream>;
  public readonly sweepCatalog?: SweepCatalog;
  public readonly queryWorkgroup?: QueryWorkgroup;
  public readonly sweep?: Sweep;
  public readonly alarms: OperationsAlarms;

  constructor(scope: Construct, id: string, props: AbnormalCloudApiCallsStackProps) {
    super(scope, id, props);
    const enabledRules = props.rules.filter((rule) => rule.schedule.enabled);
    const selects = (source: Rule['sources'][number]): boolean =>
      enabledRules.some((rule) => rule.sources.includes(source));
    if (props.azureFederation !== undefined && !selects('azure-activity-logs')) {
      throw new Error(
        'azureFederation is set but no enabled rule reads azure-activity-logs: there is no stream to write to',
      );
    }
    if (props.gcpFederation !== undefined && !selects('gcp-audit-logs')) {
      throw new Error(
        'gcpFederation is set but no enabled rule reads gcp-audit-logs: there is no stream to write to',
      );
    }
    if (props.cloudTrailLogs !== undefined && !selects('aws-cloudtrail')) {
      throw new Error(
        'cloudTrailLogs is set but no enabled rule reads aws-cloudtrail: there is nothing to sweep it for',
      );
    }
    const sweepLag = props.sweepLag ?? Duration.minutes(15);

    // State, dead letters, notifications
    const dataKey = new DataKey(this, 'DataKey', { allowCloudWatchLogs: true });
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetterQueue', { encryptionKey: dataKey.key });
    this.stateTable = new StateTable(this, 'StateTable', { encryptionKey: dataKey.key });
    this.deadLetterBucket = new DeadLetterBucket(this, 'DeadLetterBucket', { encryptionKey: dataKey.key });
    this.alertTopic = new NotificationTopic(this, 'AlertTopic', {
      displayName: 'Abnormal Cloud API Calls alerts',
      emails: props.alertEmails ?? [],
    });
    this.operationsTopic = new NotificationTopic(this, 'OperationsTopic', {
      displayName: 'Abnormal Cloud API Calls operations',
      emails: props.opsEmails ?? [],
      allowCloudWatchAlarms: true,
    });

    // Functions
    const table = this.stateTable.table;
    const common = {
      logEncryptionKey: dataKey.key,
      deadLetterQueue: this.deadLetterQueue,
      bundling: props.bundling ?? true,
    };
    this.detectFunction = new HandlerFunction(this, 'DetectFunction', {
      ...common,
      entry: 'lambda/handlers/detect.ts',
      description: 'Evaluates CloudTrail, Azure Activity and GCP Audit events against the detection rules',
      timeout: Duration.minutes(2),
      memorySize: 1024,
      rulesDirectory: props.rulesDirectory,
      environment: {
        TABLE_NAME: table.tableName,
        TOPIC_ARN: this.alertTopic.topic.topicArn,
        DEAD_LETTER_BUCKET: this.deadLetterBucket.bucket.bucketName,
        LITERAL_PREFILTER: props.literalPrefilter === true ? 'on' : 'off',
      },
    });
    this.redriveFunction = new HandlerFunction(this, 'RedriveFunction', {
      ...common,
      entry: 'lambda/handlers/redrive.ts',
      description: 'Re-publishes outbox alerts whose lease expired and publishes digests of closed windows',
      timeout: Duration.minutes(4),
      environment: { TABLE_NAME: table.tableName, TOPIC_ARN: this.alertTopic.topic.topicArn },
    });

    const itemActions = [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ];
    // DynamoDB and S3 use the data key on the caller's behalf; the condition keeps these KMS rights to
    // requests made through those services.
    const viaServices = {
      StringEquals: {
        'kms:ViaService': [`dynamodb.${this.region}.amazonaws.com`, `s3.${this.region}.amazonaws.com`],
      },
    };
    const dataKeyActions = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
    const publishers = [this.detectFunction, this.redriveFunction];
    for (const fn of publishers) {
      fn.allow('ReadWriteStateItems', itemActions, [table.tableArn]);
      fn.allow('UseDataKeyThroughDynamoDbAndS3', dataKeyActions, [dataKey.key.keyArn], viaServices);
      fn.allow('PublishAlerts', ['sns:Publish'], [this.alertTopic.topic.topicArn]);
      fn.allow('EncryptAlerts', ['kms:GenerateDataKey', 'kms:Decrypt'], [this.alertTopic.key.keyArn]);
    }
    this.redriveFunction.allow(
      'QueryTheOutbox',
      ['dynamodb:Query'],
      [`${table.tableArn}/index/${STATE_TABLE_SCHEMA.pendingIndex}`],
    );
    this.detectFunction.allow(
      'KeepBadRecords',
      ['s3:PutObject'],
      [this.deadLetterBucket.bucket.arnForObjects('*')],
    );
    const bucketLogicalId = this.resolve(
      this.getLogicalId(this.deadLetterBucket.bucket.node.defaultChild as CfnResource),
    ) as string;
    acknowledge(
      this.detectFunction.role,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/*]`,
      'The detect function writes one new object per bad record under a key it generates, so it needs PutObject ' +
        'on the objects of this one bucket; it has no read, list or delete rights on it.',
    );

    const redriveSchedule = new events.Rule(this, 'RedriveSchedule', {
      description: 'Runs the redrive function every 5 minutes',
      schedule: events.Schedule.rate(Duration.minutes(5)),
    });
    redriveSchedule.addTarget(
      new targets.LambdaFunction(this.redriveFunction.function, {
        deadLetterQueue: this.deadLetterQueue.queue,
        maxEventAge: Duration.minutes(10),
        retryAttempts: 2,
      }),
    );
    this.deadLetterQueue.allowEventBridgeRules();

    if (props.slackWebhookSecretArn !== undefined) {
      const slack = new HandlerFunction(this, 'SlackNotifierFunction', {
        ...common,
        entry: 'lambda/handlers/slack-notifier.ts',
        description: 'Posts alerts and digests from the alert topic to Slack',
        timeout: Duration.seconds(30),
        environment: { SLACK_WEBHOOK_SECRET_ARN: props.slackWebhookSecretArn, TABLE_NAME: table.tableName },
      });
      slack.allow('ReadTheWebhookSecret', ['secretsmanager:GetSecretValue'], [props.slackWebhookSecretArn]);
      slack.allow('ReadWriteDeliveryItems', itemActions, [table.tableArn]);
      slack.allow('UseDataKeyThroughDynamoDb', dataKeyActions, [dataKey.key.keyArn], {
        StringEquals: { 'kms:ViaService': `dynamodb.${this.region}.amazonaws.com` },
      });
      this.alertTopic.topic.addSubscription(new subscriptions.LambdaSubscription(slack.function));
      this.slackNotifierFunction = slack;
    }

    // Ingest
    if (props.organizationId !== undefined) {
      this.organizationEventBus = new OrganizationEventBus(this, 'OrganizationEventBus', {
        organizationId: props.organizationId,
      });
    }
    this.cloudTrailIngest = new CloudTrailIngest(this, 'CloudTrailIngest', {
      rules: enabledRules,
      detectFunction: this.detectFunction.function,
      deadLetterQueue: this.deadLetterQueue,
      ...(this.organizationEventBus === undefined
        ? {}
        : { organizationEventBus: this.organizationEventBus.eventBus }),
    });

    const streamProps = {
      detectFunction: this.detectFunction.function,
      onFailureQueue: this.deadLetterQueue,
    };
    if (selects('azure-activity-logs')) {
      this.azureStream = new IngestStream(this, 'AzureActivityStream', {
        ...streamProps,
        description: 'Azure Activity Log',
      });
      new CfnOutput(this, 'AzureActivityStreamName', { value: this.azureStream.stream.streamName });
      if (props.azureFederation !== undefined) {
        this.azureForwarderRole = new ForwarderRole(this, 'AzureForwarderRole', {
          identity: { provider: 'azure', ...props.azureFederation },
          stream: this.azureStream.stream,
          streamKey: this.azureStream.key,
        });
        new CfnOutput(this, 'AzureForwarderRoleArn', { value: this.azureForwarderRole.role.roleArn });
      }
    }
    if (selects('gcp-audit-logs')) {
      this.gcpStream = new IngestStream(this, 'GcpAuditStream', {
        ...streamProps,
        description: 'GCP Audit Logs',
      });
      new CfnOutput(this, 'GcpAuditStreamName', { value: this.gcpStream.stream.streamName });
      if (props.gcpFederation !== undefined) {
        this.gcpForwarderRole = new ForwarderRole(this, 'GcpForwarderRole', {
          identity: { provider: 'gcp', ...props.gcpFederation },
          stream: this.gcpStream.stream,
          streamKey: this.gcpStream.key,
        });
        new CfnOutput(this, 'GcpForwarderRoleArn', { value: this.gcpForwarderRole.role.roleArn });
      }
    }

    // The sweep: lake, tables, workgroup, function and schedule
    const streams = new Map<LakeSource, IngestStream>();
    if (this.azureStream !== undefined) streams.set('azure-activity-logs', this.azureStream);
    if (this.gcpStream !== undefined) streams.set('gcp-audit-logs', this.gcpStream);
    const lakeDeliveryStreams = new Map<LakeSource, LakeDeliveryStream>();
    const tables: Partial<Record<SourceName, SweepTableLocation>> = {};
    if (streams.size > 0) {
      const lake = new LakeBucket(this, 'LakeBucket', {
        accessLogsBucket: this.deadLetterBucket.accessLogsBucket,
      });
      this.lakeBucket = lake;
      for (const source of LAKE_SOURCES) {
        const stream = streams.get(source);
        if (stream === undefined) continue;
        const delivery = new LakeDeliveryStream(
          this,
          `${source === 'azure-activity-logs' ? 'Azure' : 'Gcp'}LakeDelivery`,
          {
            source,
            stream: stream.stream,
            streamKey: stream.key,
            bucket: lake.bucket,
            bucketKey: lake.key,
            logEncryptionKey: dataKey.key,
          },
        );
        if (sweepLag.toSeconds() < delivery.bufferInterval.toSeconds()) {
          throw new Error(
            `sweepLag (${sweepLag.toHumanString()}) must be at least the lake's Firehose buffer interval ` +
              `(${delivery.bufferInterval.toSeconds()} s), or the sweep passes hours before their records are written`,
          );
        }
        lakeDeliveryStreams.set(source, delivery);
        tables[source] = { bucket: lake.bucket.bucketName, projectionStart: LAKE_PROJECTION_START };
      }
    }
    this.lakeDeliveryStreams = lakeDeliveryStreams;
    const trail = props.cloudTrailLogs;
    if (trail !== undefined) {
      tables['aws-cloudtrail'] = {
        bucket: trail.bucket,
        prefix: trail.prefix ?? '',
        ...(trail.organizationId === undefined ? {} : { organizationId: trail.organizationId }),
        accounts: trail.accounts ?? [this.account],
        regions: trail.regions ?? [...new Set([IAM_EVENTS_REGION, this.region])],
        projectionStart: (trail.startDate ?? SWEEP_SETTING_DEFAULTS.trailStartDate).replaceAll('-', '/'),
      };
    }
    const sweptSources = (Object.keys(tables) as SourceName[]).sort();
    let sweepAlarms: SweepAlarmOptions | undefined;
    if (sweptSources.length > 0) {
      const catalog = new SweepCatalog(this, 'SweepCatalog', { tables });
      const workgroup = new QueryWorkgroup(this, 'QueryWorkgroup', {
        encryptionKey: dataKey.key,
        accessLogsBucket: this.deadLetterBucket.accessLogsBucket,
        bytesScannedCutoffPerQuery: props.athenaBytesScannedCutoff ?? Size.gibibytes(10),
      });
      const sweep = new Sweep(this, 'Sweep', {
        rules: enabledRules,
        rulesDirectory: props.rulesDirectory,
        catalog,
        workgroup,
        stateTable: table,
        alertTopic: this.alertTopic.topic,
        alertTopicKey: this.alertTopic.key,
        dataKey: dataKey.key,
        deadLetterQueue: this.deadLetterQueue,
        lag: sweepLag,
        bundling: props.bundling ?? true,
        ...(this.lakeBucket === undefined
          ? {}
          : {
              lake: {
                bucket: this.lakeBucket.bucket,
                key: this.lakeBucket.key,
                sources: [...lakeDeliveryStreams.keys()],
              },
            }),
        ...(trail === undefined ? {} : { trail }),
      });
      sweepAlarms = { interval: sweep.schedule.cadence.interval, lag: sweepLag };
      this.sweepCatalog = catalog;
      this.queryWorkgroup = workgroup;
      this.sweep = sweep;
      new CfnOutput(this, 'AthenaWorkGroupName', { value: workgroup.workGroupName });
      new CfnOutput(this, 'SweepDatabaseName', { value: catalog.databaseName });
      new CfnOutput(this, 'SweepFunctionRoleArn', {
        value: sweep.handler.role.roleArn,
        description:
          'Allow this role to read the trail bucket (and decrypt with its key) when they are in another account',
      });
    }
    if (this.lakeBucket !== undefined) {
      new CfnOutput(this, 'LakeBucketName', { value: this.lakeBucket.bucket.bucketName });
    }

    // Operations
    const functions: Watched<HandlerFunction['function']>[] = [
      { label: 'Detect', resource: this.detectFunction.function },
      { label: 'Redrive', resource: this.redriveFunction.function },
    ];
    if (this.slackNotifierFunction !== undefined) {
      functions.push({ label: 'SlackNotifier', resource: this.slackNotifierFunction.function });
    }
    if (this.sweep !== undefined) {
      functions.push({ label: 'Sweep', resource: this.sweep.handler.function });
    }
    const watchedStreams = [
      ...(this.azureStream === undefined
        ? []
        : [{ label: 'AzureActivity', resource: this.azureStream.stream }]),
      ...(this.gcpStream === undefined ? [] : [{ label: 'GcpAudit', resource: this.gcpStream.stream }]),
    ];
    this.alarms = new OperationsAlarms(this, 'Alarms', {
      topic: this.operationsTopic.topic,
      functions,
      deadLetterQueues: [{ label: 'DeadLetterQueue', resource: this.deadLetterQueue.queue }],
      streams: watchedStreams,
      deliveryStreams: [...lakeDeliveryStreams].map(([source, delivery]) => ({
        label: source === 'azure-activity-logs' ? 'AzureLake' : 'GcpLake',
        resource: delivery.deliveryStream.ref,
      })),
      // A record later than the lag may land in an hour the sweep has passed (the lake makes the lag ≥ 5 min).
      ...(lakeDeliveryStreams.size === 0 ? {} : { maxDeliveryAge: sweepLag }),
      ...(sweepAlarms === undefined ? {} : { sweep: sweepAlarms }),
    });

    new CfnOutput(this, 'AlertTopicArn', { value: this.alertTopic.topic.topicArn });
    new CfnOutput(this, 'OperationsTopicArn', { value: this.operationsTopic.topic.topicArn });
    new CfnOutput(this, 'StateTableName', { value: table.tableName });
    new CfnOutput(this, 'DeadLetterBucketName', { value: this.deadLetterBucket.bucket.bucketName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queue.queueUrl });
    if (this.organizationEventBus !== undefined) {
      new CfnOutput(this, 'OrganizationEventBusArn', {
        value: this.organizationEventBus.eventBus.eventBusArn,
      });
    }
  }
}
