import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { privateBucket } from './private-bucket';

/** Athena's smallest accepted `BytesScannedCutoffPerQuery`. */
export const MIN_BYTES_SCANNED_CUTOFF = 10_000_000;

export interface QueryWorkgroupProps {
  /** Encrypts the query results (SSE-KMS): they are raw log records, as sensitive as the logs. */
  readonly encryptionKey: kms.IKey;
  /** Receives the results bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Key prefix of the results bucket's access logs in `accessLogsBucket`.
   * @default 'athena-results/'
   */
  readonly accessLogsPrefix?: string;
  /**
   * The workgroup name (`ATHENA_WORKGROUP`).
   * @default 'abnormal-cloud-api-calls'
   */
  readonly workGroupName?: string;
  /**
   * A query that would scan more fails instead (and the sweep retries its window next run): a cost ceiling
   * per query. At least 10 MB.
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
  /**
   * How long query results are kept. At least one day: a run that resumes a query started by an earlier
   * run reads that query's results.
   * @default Duration.days(7)
   */
  readonly resultRetention?: Duration;
  /**
   * What happens to the results bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Athena workgroup the sweep's queries run in, with its settings enforced so no client can override
 * them: engine version 3, results in a bucket of their own encrypted with SSE-KMS, a bytes-scanned cutoff per
 * query, CloudWatch metrics. The results bucket is versioned, TLS-only, never public, logged, and expires
 * results after a week.
 */
export class QueryWorkgroup extends Construct {
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly workGroupName: string;
  public readonly workGroupArn: string;
  public readonly resultsBucket: s3.Bucket;
  /** The key prefix query results are written under. */
  public readonly resultsPrefix = 'results/';
  /** The cutoff in bytes, as the workgroup has it. */
  public readonly bytesScannedCutoffPerQuery: number;

  constructor(scope: Construct, id: string, props: QueryWorkgroupProps) {
    super(scope, id);
    this.workGroupName = props.workGroupName ?? 'abnormal-cloud-api-calls';
    if (!/^[a-zA-Z0-9._-]{1,128}$/.test(this.workGroupName)) {
      throw new Error('QueryWorkgroupProps.workGroupName must be 1 to 128 letters, digits, ".", "_" or "-"');
    }
    this.bytesScannedCutoffPerQuery = (props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10)).toBytes();
    if (
      !Number.isSafeInteger(this.bytesScannedCutoffPerQuery) ||
      this.bytesScannedCutoffPerQuery < MIN_BYTES_SCANNED_CUTOFF
    ) {
      throw new Error(
        'QueryWorkgroupProps.bytesScannedCutoffPerQuery must be at least 10 MB (10,000,000 bytes)',
      );
    }
    const resultRetention = props.resultRetention ?? Duration.days(7);
    if (resultRetention.toSeconds() < 86_400) {
      throw new Error('QueryWorkgroupProps.resultRetention must be at least one day');
    }
    const accessLogsPrefix = props.accessLogsPrefix ?? 'athena-results/';
    if (accessLogsPrefix !== '' && !accessLogsPrefix.endsWith('/')) {
      throw new Error('QueryWorkgroupProps.accessLogsPrefix must be empty or end in "/"');
    }
    const stack = Stack.of(this);

    this.resultsBucket = privateBucket(this, 'Results', {
      encryptionKey: props.encryptionKey,
      accessLogs: { bucket: props.accessLogsBucket, prefix: accessLogsPrefix },
      expiration: resultRetention,
      cleanup: { noncurrentVersions: Duration.days(1), incompleteUploads: Duration.days(1) },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description:
        'Abnormal Cloud API Calls: the scheduled sweep and retrospective queries over the raw tables',
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        bytesScannedCutoffPerQuery: this.bytesScannedCutoffPerQuery,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject(this.resultsPrefix),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn },
          expectedBucketOwner: stack.account,
        },
      },
    });
    this.workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: this.workGroupName,
    });

    acknowledge(
      this.resultsBucket,
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      'Query results are a transient by-product, expired after days and recomputable from the tables; a replica ' +
        'in a second region would be one more copy of raw log records.',
    );
  }
}
