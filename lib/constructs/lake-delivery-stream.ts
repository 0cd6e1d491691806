import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SWEEP_TABLES } from '../../lambda/engine/compile/athena-sql';
import type { SourceName } from '../../lambda/engine/ecs';
import { acknowledge, acknowledgeWildcardResource } from '../nag';

/** The sources that reach AWS through a Kinesis stream, and so through the lake. */
export type LakeSource = Exclude<SourceName, 'aws-cloudtrail'>;
export const LAKE_SOURCES: readonly LakeSource[] = ['azure-activity-logs', 'gcp-audit-logs'];

export interface LakeDeliveryStreamProps {
  /** The source the stream carries; it names the lake prefix and the Glue table that reads it. */
  readonly source: LakeSource;
  /** The ingest stream to copy. */
  readonly stream: kinesis.IStream;
  /** The stream's encryption key: Firehose may decrypt with it, through Kinesis only. */
  readonly streamKey: kms.IKey;
  /** The lake bucket. */
  readonly bucket: s3.IBucket;
  /** The lake bucket's key: objects are written with SSE-KMS under it. */
  readonly bucketKey: kms.IKey;
  /** Encrypts the delivery error log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Key prefix of the lake inside the bucket, empty or ending in `/`; the Glue tables must use the same.
   * @default ''
   */
  readonly prefix?: string;
  /**
   * How long Firehose buffers records before writing an object (0 to 900 s). The sweep's lag must be at
   * least this long, or it sweeps hours whose objects are not written yet.
   * @default Duration.seconds(300)
   */
  readonly bufferInterval?: Duration;
  /**
   * How much Firehose buffers before writing an object (1 to 128 MiB), whichever of size and interval comes first.
   * @default Size.mebibytes(5)
   */
  readonly bufferSize?: Size;
  /**
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the error log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The Firehose timestamp expression for each Glue partition of a lake table (`dt` → `!{timestamp:yyyy-MM-dd-HH}`). */
function partitionExpression(source: LakeSource): string {
  const spec = SWEEP_TABLES[source];
  const key = spec.partitionKeys.find((candidate) => candidate.name === spec.timePartition);
  if (key?.format === undefined) throw new Error(`SWEEP_TABLES.${source} has no date partition format`);
  return `!{timestamp:${key.format}}`;
}

/**
 * The object key prefix Firehose writes `source` to: the lake table's key template (`SWEEP_TABLES`) with the
 * arrival hour (UTC) in place of its date partition, so the table's projection finds every object.
 */
export function lakeDataPrefix(source: LakeSource, prefix = ''): string {
  const spec = SWEEP_TABLES[source];
  const text = spec.keyTemplate
    .replace(`\${prefix}`, prefix)
    .replace(`\${${spec.timePartition}}`, partitionExpression(source));
  if (text.includes('${'))
    throw new Error(`SWEEP_TABLES.${source}.keyTemplate has a key Firehose cannot fill`);
  return text;
}

/** Where Firehose puts what it could not deliver or process: outside every table's location. */
export function lakeErrorPrefix(source: LakeSource, prefix = ''): string {
  return `${prefix}errors/${source}/!{firehose:error-output-type}/dt=${partitionExpression(source)}/`;
}

/**
 * Copies one ingest stream into the lake with Amazon Data Firehose: one raw record per line (the
 * `AppendDelimiterToRecord` processor ends every Kinesis record with a newline), GZIP objects under
 * `<prefix><source>/dt=<arrival hour>/`, SSE-KMS with the lake key, delivery errors logged to an encrypted log
 * group. Built on the L1 resource: the L2 `DeliveryStream`'s destination grants wildcard S3 and KMS actions
 * (`s3:GetObject*`, `kms:GenerateDataKey*`), and this role lists its actions one by one.
 */
export class LakeDeliveryStream extends Construct {
  public readonly deliveryStream: firehose.CfnDeliveryStream;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;
  /** The object key prefix records are written under (with the Firehose timestamp expression). */
  public readonly dataPrefix: string;
  /** The object key prefix of failed deliveries. */
  public readonly errorPrefix: string;
  /** How long records may wait in Firehose before they are written. */
  public readonly bufferInterval: Duration;

  constructor(scope: Construct, id: string, props: LakeDeliveryStreamProps) {
    super(scope, id);
    const prefix = props.prefix ?? '';
    if (prefix !== '' && !/^([A-Za-z0-9_.=-]+\/)+$/.test(prefix)) {
      throw new Error('LakeDeliveryStreamProps.prefix must be empty or /-separated parts ending in "/"');
    }
    if (!LAKE_SOURCES.includes(props.source)) {
      throw new Error(`LakeDeliveryStreamProps.source: ${String(props.source)} is not a lake source`);
    }
    this.bufferInterval = props.bufferInterval ?? Duration.seconds(300);
    const bufferSize = props.bufferSize ?? Size.mebibytes(5);
    const intervalSeconds = this.bufferInterval.toSeconds();
    const sizeMiB = bufferSize.toMebibytes();
    if (!Number.isInteger(intervalSeconds) || intervalSeconds < 0 || intervalSeconds > 900) {
      throw new Error('LakeDeliveryStreamProps.bufferInterval must be whole seconds from 0 to 900');
    }
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 128) {
      throw new Error('LakeDeliveryStreamProps.bufferSize must be whole MiB from 1 to 128');
    }
    this.dataPrefix = lakeDataPrefix(props.source, prefix);
    this.errorPrefix = lakeErrorPrefix(props.source, prefix);
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.logEncryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const logStream = new logs.LogStream(this, 'DeliveryErrors', {
      logGroup: this.logGroup,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // Firehose passes the account id as the external id: only this account's delivery streams assume it.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
      description: `Copies the ${props.source} stream into the lake`,
    });
    const allow = (
      sid: string,
      actions: string[],
      resources: string[],
      conditions?: Record<string, Record<string, unknown>>,
    ): void => {
      this.role.addToPolicy(
        new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
      );
    };
    allow(
      'ReadTheStream',
      ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
      [props.stream.streamArn],
    );
    allow('DecryptTheStream', ['kms:Decrypt'], [props.streamKey.keyArn], {
      StringEquals: { 'kms:ViaService': `kinesis.${stack.region}.amazonaws.com` },
    });
    allow(
      'LocateTheLake',
      ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      [props.bucket.bucketArn],
    );
    const objectPrefixes = [`${prefix}${props.source}/`, `${prefix}errors/${props.source}/`];
    const objects = objectPrefixes.map((path) => props.bucket.arnForObjects(`${path}*`));
    allow('WriteItsPrefixes', ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], objects);
    allow('EncryptObjectsWithTheLakeKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [props.bucketKey.keyArn], {
      StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
    });
    // The log group ARN ends in `:*`, which covers its log streams and nothing else.
    allow('LogDeliveryErrors', ['logs:PutLogEvents'], [this.logGroup.logGroupArn]);

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: {
        kinesisStreamArn: props.stream.streamArn,
        roleArn: this.role.roleArn,
      },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: this.dataPrefix,
        errorOutputPrefix: this.errorPrefix,
        bufferingHints: { intervalInSeconds: intervalSeconds, sizeInMBs: sizeMiB },
        compressionFormat: 'GZIP',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.bucketKey.keyArn } },
        processingConfiguration: {
          enabled: true,
          // No parameters: the default delimiter is a newline, so each Kinesis record becomes one line.
          processors: [{ type: 'AppendDelimiterToRecord', parameters: [] }],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
        s3BackupMode: 'Disabled',
      },
    });
    // Firehose checks its access to the stream when the delivery stream is created.
    this.deliveryStream.node.addDependency(this.role);

    acknowledge(
      this.role,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      'The policy belongs to this one Firehose role, is created and deleted with it and lists explicit actions on ' +
        'named resources; an inline policy keeps it from being attached to any other principal.',
    );
    for (const resource of objects) {
      acknowledgeWildcardResource(
        this.role,
        resource,
        'Firehose writes objects under keys it generates (hour, stream name, timestamp, UUID) below this one ' +
          "source's prefix, so it needs object actions on that prefix; no other prefix, no delete.",
      );
    }
    acknowledge(
      this.deliveryStream,
      'AwsSolutions-KDF1',
      'Firehose does not accept server-side encryption for a delivery stream whose source is a Kinesis data ' +
        'stream: records stay encrypted in the source stream under its KMS key and are written to S3 with the ' +
        'lake key (SSE-KMS).',
    );
  }
}
