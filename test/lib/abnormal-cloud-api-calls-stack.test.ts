import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUDTRAIL_COLUMNS, glueTypeString, SWEEP_TABLES } from '../../lambda/engine/compile/athena-sql';
import { compileEventPattern } from '../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../lambda/engine/rules';
import { loadRules } from '../../lambda/engine/rules';
import {
  AbnormalCloudApiCallsStack,
  type AbnormalCloudApiCallsStackProps,
} from '../../lib/abnormal-cloud-api-calls-stack';
import { RULES_DIRECTORY } from '../../lib/project';
import {
  ACCOUNT,
  actionsOf,
  identityStatements,
  loadRepositoryRules,
  logicalIdsOf,
  makeRule,
  type RuleOptions,
  resourcesOf,
  ruleText,
  testApp,
} from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-webhook-AbCdEf';
const TENANT = '11111111-2222-3333-4444-555555555555';
const TRAIL_KEY = 'arn:aws:kms:eu-west-1:999988887777:key/11111111-2222-3333-4444-555555555555';
const TRAIL = {
  bucket: 'org-trail-logs',
  prefix: 'trail/',
  organizationId: 'o-abcdefghij',
  accounts: ['111122223333', '444455556666'],
  regions: ['us-east-1', 'eu-west-1'],
  kmsKeyArn: TRAIL_KEY,
  startDate: '2025-06-01',
};

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes rule files into a fresh folder, as a user would edit `rules/`, and loads them. */
async function rulesFolder(...files: RuleOptions[]): Promise<{ rules: Rule[]; rulesDirectory: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rules-'));
  tempDirs.push(dir);
  for (const file of files) writeFileSync(path.join(dir, `${file.id}.yaml`), `${ruleText(file)}\n`);
  return { rules: await loadRules(dir), rulesDirectory: dir };
}

const AZURE_RULE = { query: 'event.provider:"Microsoft.Authorization"', index: ['azure-activity-logs-*'] };
const AWS_RULE = { query: 'event.provider:"AWS IAM"', index: ['aws-cloudtrail-*'] };

/** The properties of the one resource of `type` whose logical id starts with `prefix`. */
function propertiesOf(template: Template, type: string, prefix: string): Record<string, unknown> {
  const matches = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`${matches.length} ${type} resources start with ${prefix}`);
  return (matches[0] as [string, { Properties: Record<string, unknown> }])[1].Properties;
}

/** A Glue `TableInput` as the template has it. */
interface TableInputJson {
  readonly Name: string;
  readonly Parameters: Record<string, unknown>;
  readonly PartitionKeys: ReadonlyArray<{ readonly Name: string }>;
  readonly StorageDescriptor: Record<string, unknown> & {
    readonly Columns: ReadonlyArray<{ readonly Name: string; readonly Type: string }>;
  };
}

/** The Glue table input of the table named `name`. */
function tableInput(template: Template, name: string): TableInputJson {
  const tables = Object.values(template.findResources('AWS::Glue::Table')).filter(
    (table) => table.Properties.TableInput.Name === name,
  );
  if (tables.length !== 1) throw new Error(`${tables.length} tables are named ${name}`);
  return (tables[0] as { Properties: { TableInput: TableInputJson } }).Properties.TableInput;
}

/** Sid → actions of the sweep function's role. */
function sweepGrants(template: Template): Map<string, { actions: string[]; resources: unknown[] }> {
  const grants = new Map<string, { actions: string[]; resources: unknown[] }>();
  for (const { logicalId, statement } of identityStatements(template)) {
    if (!logicalId.startsWith('SweepFunctionRole') || statement.Sid === undefined) continue;
    grants.set(statement.Sid, { actions: actionsOf(statement), resources: resourcesOf(statement) });
  }
  return grants;
}

/** The EventBridge rules that filter events (not schedules). */
function patternRules(template: Template): ReturnType<Template['findResources']> {
  return template.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.anyValue() } });
}

function synth(rules: readonly Rule[], props: Partial<AbnormalCloudApiCallsStackProps> = {}): Template {
  const stack = new AbnormalCloudApiCallsStack(testApp(), 'Detector', {
    env: { account: ACCOUNT, region: 'eu-west-1' },
    rules,
    rulesDirectory: RULES_DIRECTORY,
    bundling: false,
    ...props,
  });
  return Template.fromStack(stack);
}

describe('AbnormalCloudApiCallsStack', () => {
  let rules: Rule[];
  let full: Template;
  let minimal: Template;

  beforeAll(async () => {
    rules = await loadRepositoryRules();
    full = synth(rules, {
      alertEmails: ['soc@example.com'],
      opsEmails: ['ops@example.com'],
      slackWebhookSecretArn: SECRET_ARN,
      organizationId: 'o-abcdefghij',
      azureFederation: { tenantId: TENANT, audience: 'api://forwarder', subject: 'object-id-1' },
      gcpFederation: { audience: 'aws-forwarder', subject: '112233445566778899001' },
      cloudTrailLogs: TRAIL,
    });
    minimal = synth(rules);
  });

  describe('ingest', () => {
    it('filters CloudTrail events with the pattern compiled from the rule, on the default and organization buses', () => {
      const pattern = compileEventPattern((rules[0] as Rule).ast).pattern;

      expect(Object.keys(patternRules(full))).toHaveLength(2);
      full.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: pattern,
        EventBusName: Match.absent(),
      });
      full.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: pattern,
        EventBusName: { Ref: Match.stringLikeRegexp('^OrganizationEventBus') },
      });
      expect(pattern).toMatchObject({ source: ['aws.iam'], detail: { eventSource: ['iam.amazonaws.com'] } });
    });

    it('reads one encrypted stream each for Azure and GCP with bounded, bisecting, partial-failure mappings', () => {
      full.resourceCountIs('AWS::Kinesis::Stream', 2);
      full.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
      for (const prefix of ['^AzureActivityStream', '^GcpAuditStream']) {
        full.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(prefix), 'Arn'] },
          FunctionName: { Ref: Match.stringLikeRegexp('^DetectFunction') },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          BisectBatchOnFunctionError: true,
          MaximumRetryAttempts: 5,
          MaximumRecordAgeInSeconds: 21_600,
          StartingPosition: 'TRIM_HORIZON',
          DestinationConfig: {
            OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
          },
        });
      }
    });

    it('creates the forwarder roles and outputs them with the stream names', () => {
      const outputs = full.toJSON().Outputs as Record<string, unknown>;

      expect(Object.keys(outputs)).toEqual(
        expect.arrayContaining([
          'AzureActivityStreamName',
          'AzureForwarderRoleArn',
          'GcpAuditStreamName',
          'GcpForwarderRoleArn',
        ]),
      );
      full.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Action: 'sts:AssumeRoleWithWebIdentity',
              Principal: { Federated: 'accounts.google.com' },
            }),
          ],
        },
      });
    });

    it('creates no forwarder role, OIDC provider, organization bus or Slack notifier unless configured', () => {
      minimal.resourceCountIs('AWS::IAM::OIDCProvider', 0);
      minimal.resourceCountIs('AWS::Events::EventBus', 0);
      // detect, redrive and sweep; one pattern rule, and the redrive and sweep schedules
      minimal.resourceCountIs('AWS::Lambda::Function', 3);
      minimal.resourceCountIs('AWS::Events::Rule', 3);
      expect(Object.keys(patternRules(minimal))).toHaveLength(1);
      expect(JSON.stringify(minimal.toJSON())).not.toContain('AssumeRoleWithWebIdentity');
      expect(Object.keys(minimal.toJSON().Outputs)).toEqual(
        expect.arrayContaining(['AzureActivityStreamName', 'GcpAuditStreamName']),
      );
    });

    it('wires each rule from its own fields: sources decide streams, a disabled rule gets no EventBridge rule', () => {
      const awsOnlyRule = makeRule({
        id: 'aws-only',
        query: 'event.provider:"AWS STS"',
        index: ['aws-cloudtrail-*'],
      });
      const template = synth([
        awsOnlyRule,
        makeRule({
          id: 'azure-only',
          query: 'event.provider:"Microsoft.Authorization"',
          index: ['azure-activity-logs-*'],
        }),
        makeRule({
          id: 'switched-off',
          query: 'event.provider:"AWS KMS"',
          index: ['aws-cloudtrail-*'],
          enabled: false,
        }),
      ]);

      template.resourceCountIs('AWS::Kinesis::Stream', 1);
      template.hasResourceProperties('AWS::Kinesis::Stream', {
        StreamEncryption: { EncryptionType: 'KMS', KeyId: Match.anyValue() },
      });
      expect(logicalIdsOf(template, 'AWS::Kinesis::Stream')[0]).toMatch(/^AzureActivityStream/);
      const patterns = Object.values(template.findResources('AWS::Events::Rule'))
        .map((rule) => rule.Properties.EventPattern)
        .filter((pattern) => pattern !== undefined);
      expect(patterns).toEqual([compileEventPattern((awsOnlyRule as Rule).ast).pattern]);
      expect(Object.keys(patternRules(template))).toHaveLength(1);
    });

    it('throws when a federation is set for a source no enabled rule reads', () => {
      const awsOnly = [
        makeRule({ id: 'aws-only', query: 'event.provider:"AWS STS"', index: ['aws-cloudtrail-*'] }),
      ];

      expect(() =>
        synth(awsOnly, { azureFederation: { tenantId: TENANT, audience: 'a', subject: 's' } }),
      ).toThrow(/azureFederation is set but no enabled rule reads azure-activity-logs/);
      expect(() =>
        synth(awsOnly, { gcpFederation: { audience: 'a', subject: '112233445566778899001' } }),
      ).toThrow(/gcpFederation is set/);
    });
  });

  describe('functions', () => {
    it('gives the detect function the contract environment and the bundled rules', () => {
      full.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: Match.objectLike({
            TABLE_NAME: { Ref: Match.stringLikeRegexp('^StateTable') },
            TOPIC_ARN: { Ref: Match.stringLikeRegexp('^AlertTopic') },
            DEAD_LETTER_BUCKET: { Ref: Match.stringLikeRegexp('^DeadLetterBucket') },
            RULES_DIR: '/var/task/rules',
            LITERAL_PREFILTER: 'off',
            POWERTOOLS_SERVICE_NAME: 'abnormal-cloud-api-calls',
            POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
          }),
        },
      });
    });

    it('turns the literal pre-filter on only when asked', () => {
      const detectEnvironment = (template: Template): Record<string, unknown> => {
        const functions = template.findResources('AWS::Lambda::Function', {
          Properties: {
            Environment: { Variables: Match.objectLike({ DEAD_LETTER_BUCKET: Match.anyValue() }) },
          },
        });
        const [detect] = Object.values(functions) as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }[];
        return detect?.Properties.Environment.Variables ?? {};
      };
      expect(detectEnvironment(synth(rules, { literalPrefilter: true })).LITERAL_PREFILTER).toBe('on');
      expect(detectEnvironment(synth(rules, { literalPrefilter: false })).LITERAL_PREFILTER).toBe('off');
    });

    it('runs the redrive function every five minutes', () => {
      full.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RedriveFunction'), 'Arn'] } }),
        ],
      });
    });

    it('subscribes the Slack notifier to the alert topic and lets it read that one secret', () => {
      full.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'lambda',
        TopicArn: { Ref: Match.stringLikeRegexp('^AlertTopic') },
        Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SlackNotifierFunction'), 'Arn'] },
      });
      full.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ SLACK_WEBHOOK_SECRET_ARN: SECRET_ARN }) },
      });
      const secretStatements = identityStatements(full).filter(({ statement }) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      );
      expect(secretStatements.map(({ statement }) => [statement.Action, statement.Resource])).toEqual([
        ['secretsmanager:GetSecretValue', SECRET_ARN],
      ]);
    });
  });

  describe('sweep: tables', () => {
    it('creates one Glue database and a projected table for each swept source', () => {
      full.resourceCountIs('AWS::Glue::Database', 1);
      full.hasResourceProperties('AWS::Glue::Database', {
        CatalogId: ACCOUNT,
        DatabaseInput: { Name: 'abnormal_cloud_api_calls' },
      });
      full.resourceCountIs('AWS::Glue::Table', 3);
      full.resourceCountIs('AWS::Glue::Crawler', 0);
      for (const table of Object.values(full.findResources('AWS::Glue::Table'))) {
        expect(table.Properties).toMatchObject({
          CatalogId: ACCOUNT,
          DatabaseName: 'abnormal_cloud_api_calls',
        });
        expect(table.DependsOn).toEqual([expect.stringMatching(/^SweepCatalogDatabase/)]);
        expect(table.Properties.TableInput).toMatchObject({
          TableType: 'EXTERNAL_TABLE',
          Parameters: { EXTERNAL: 'TRUE', 'projection.enabled': 'true' },
        });
      }
    });

    it('reads the organization trail with the standard CloudTrail table, its accounts, regions and days projected', () => {
      const input = tableInput(full, 'cloudtrail_logs');

      expect(input.Parameters).toEqual({
        EXTERNAL: 'TRUE',
        'projection.enabled': 'true',
        classification: 'cloudtrail',
        'projection.account.type': 'enum',
        'projection.account.values': '111122223333,444455556666',
        'projection.region.type': 'enum',
        'projection.region.values': 'us-east-1,eu-west-1',
        'projection.timestamp.type': 'date',
        'projection.timestamp.format': 'yyyy/MM/dd',
        'projection.timestamp.range': '2025/06/01,NOW',
        'projection.timestamp.interval': '1',
        'projection.timestamp.interval.unit': 'DAYS',
        'storage.location.template': `s3://org-trail-logs/trail/AWSLogs/o-abcdefghij/\${account}/CloudTrail/\${region}/\${timestamp}/`,
      });
      expect(input.PartitionKeys.map((key) => key.Name)).toEqual(['account', 'region', 'timestamp']);
      expect(input.StorageDescriptor).toMatchObject({
        Location: 's3://org-trail-logs/trail/AWSLogs/',
        InputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
      });
      expect(input.StorageDescriptor.Columns).toEqual(
        CLOUDTRAIL_COLUMNS.map((column) => ({ Name: column.name, Type: glueTypeString(column.type) })),
      );
      expect(input.StorageDescriptor.Columns[1].Type).toMatch(/^struct<type:string,principalid:string,/);
    });

    it.each([
      ['azure_activity_logs', 'azure-activity-logs'],
      ['gcp_audit_logs', 'gcp-audit-logs'],
    ])(
      'reads the %s lake table as one raw line per record, in hourly projected partitions',
      (name, source) => {
        const input = tableInput(full, name);
        const lake = { Ref: expect.stringMatching(/^LakeBucket[0-9A-F]{8}$/) };

        expect(input.Parameters).toEqual({
          EXTERNAL: 'TRUE',
          'projection.enabled': 'true',
          classification: 'json',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd-HH',
          'projection.dt.range': '2026-01-01-00,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'HOURS',
          'storage.location.template': { 'Fn::Join': ['', ['s3://', lake, `/${source}/dt=\${dt}/`]] },
        });
        expect(input.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string', Comment: expect.any(String) }]);
        expect(input.StorageDescriptor).toEqual({
          Columns: [{ Name: 'record', Type: 'string' }],
          Location: { 'Fn::Join': ['', ['s3://', lake, `/${source}/`]] },
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
            Parameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' },
          },
        });
      },
    );

    it('delivers each lake source where its table projects it: the Firehose prefix is the table template', () => {
      for (const source of ['azure-activity-logs', 'gcp-audit-logs'] as const) {
        const spec = SWEEP_TABLES[source];
        const input = tableInput(full, spec.tableName);
        const join = input.Parameters['storage.location.template'] as { 'Fn::Join': [string, unknown[]] };
        const template = join['Fn::Join'][1][2];
        const streams = Object.values(full.findResources('AWS::KinesisFirehose::DeliveryStream')).filter(
          (stream) => stream.Properties.ExtendedS3DestinationConfiguration.Prefix.startsWith(source),
        );

        expect(streams).toHaveLength(1);
        const prefix = streams[0]?.Properties.ExtendedS3DestinationConfiguration.Prefix as string;
        expect(`/${prefix.replace('!{timestamp:yyyy-MM-dd-HH}', `\${dt}`)}`).toBe(template);
      }
    });

    it('defaults the trail table to the deployment account and to us-east-1 plus the home region', async () => {
      const awsOnly = [makeRule({ id: 'aws-only', ...AWS_RULE })];
      const template = synth(awsOnly, { cloudTrailLogs: { bucket: 'trail-bucket' } });
      const input = tableInput(template, 'cloudtrail_logs');

      expect(input.Parameters).toMatchObject({
        'projection.account.values': ACCOUNT,
        'projection.region.values': 'us-east-1,eu-west-1',
        'projection.timestamp.range': '2025/01/01,NOW',
        'storage.location.template': `s3://trail-bucket/AWSLogs/\${account}/CloudTrail/\${region}/\${timestamp}/`,
      });
      // Only CloudTrail is read: no lake, no Firehose.
      template.resourceCountIs('AWS::Glue::Table', 1);
      template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
      expect(logicalIdsOf(template, 'AWS::S3::Bucket').some((id) => id.startsWith('LakeBucket'))).toBe(false);
    });

    it('creates no CloudTrail table and does not sweep CloudTrail when no trail bucket is configured', () => {
      minimal.resourceCountIs('AWS::Glue::Table', 2);
      expect(() => tableInput(minimal, 'cloudtrail_logs')).toThrow(/0 tables/);
      minimal.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            SWEEP_SOURCES: 'azure-activity-logs,gcp-audit-logs',
            CLOUDTRAIL_TABLE: Match.absent(),
          }),
        },
      });
      expect([...sweepGrants(minimal).keys()].filter((sid) => sid.includes('Trail'))).toEqual([]);
    });

    it('creates no sweep at all when no enabled rule reads a source that has a table', () => {
      const template = synth([makeRule({ id: 'aws-only', ...AWS_RULE })]);

      template.resourceCountIs('AWS::Glue::Database', 0);
      template.resourceCountIs('AWS::Athena::WorkGroup', 0);
      template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
      template.resourceCountIs('AWS::Lambda::Function', 2);
      expect(template.toJSON().Outputs.AthenaWorkGroupName).toBeUndefined();
    });

    it('throws when a trail is configured but no enabled rule reads aws-cloudtrail', () => {
      const azureOnly = [makeRule({ id: 'azure-only', ...AZURE_RULE })];

      expect(() => synth(azureOnly, { cloudTrailLogs: { bucket: 'trail-bucket' } })).toThrow(
        /cloudTrailLogs is set but no enabled rule reads aws-cloudtrail/,
      );
    });
  });

  describe('sweep: lake delivery', () => {
    it('copies each stream into the lake with one record per line, GZIP and the lake key', () => {
      full.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
      for (const [source, stream] of [
        ['azure-activity-logs', '^AzureActivityStream'],
        ['gcp-audit-logs', '^GcpAuditStream'],
      ] as const) {
        full.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
          DeliveryStreamType: 'KinesisStreamAsSource',
          KinesisStreamSourceConfiguration: {
            KinesisStreamARN: { 'Fn::GetAtt': [Match.stringLikeRegexp(stream), 'Arn'] },
          },
          ExtendedS3DestinationConfiguration: Match.objectLike({
            BucketARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucket[0-9A-F]{8}$'), 'Arn'] },
            Prefix: `${source}/dt=!{timestamp:yyyy-MM-dd-HH}/`,
            ErrorOutputPrefix: `errors/${source}/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd-HH}/`,
            BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 5 },
            CompressionFormat: 'GZIP',
            ProcessingConfiguration: {
              Enabled: true,
              Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [] }],
            },
            EncryptionConfiguration: {
              KMSEncryptionConfig: {
                AWSKMSKeyARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LakeBucketKey'), 'Arn'] },
              },
            },
          }),
        });
      }
    });

    it('keeps the lake encrypted, versioned, TLS-only, private, logged and expiring after 400 days', () => {
      const lake = propertiesOf(full, 'AWS::S3::Bucket', 'LakeBucket');

      expect(lake).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^LakeBucketKey/), 'Arn'] },
              },
            },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: expect.stringMatching(/^DeadLetterBucketAccessLogs/) },
          LogFilePrefix: 'lake/',
        },
      });
      expect(JSON.stringify(lake.LifecycleConfiguration)).toContain('"ExpirationInDays":400');
      full.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('^LakeBucket[0-9A-F]{8}$') },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('throws when the sweep lag is shorter than the Firehose buffer interval', () => {
      expect(() => synth(rules, { sweepLag: Duration.minutes(4) })).toThrow(
        /sweepLag \(4 minutes\) must be at least the lake's Firehose buffer interval \(300 s\)/,
      );
    });
  });

  describe('sweep: Athena', () => {
    it('runs queries in an enforced, engine-3 workgroup with KMS-encrypted results and a 10 GiB cutoff', () => {
      full.resourceCountIs('AWS::Athena::WorkGroup', 1);
      full.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: 'abnormal-cloud-api-calls',
        State: 'ENABLED',
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
          PublishCloudWatchMetricsEnabled: true,
          RequesterPaysEnabled: false,
          ResultConfiguration: {
            OutputLocation: {
              'Fn::Join': [
                '',
                ['s3://', { Ref: Match.stringLikeRegexp('^QueryWorkgroupResults') }, '/results/'],
              ],
            },
            EncryptionConfiguration: {
              EncryptionOption: 'SSE_KMS',
              KmsKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
            },
            ExpectedBucketOwner: ACCOUNT,
          },
        },
      });
    });

    it('takes the cutoff from the props', () => {
      const template = synth(rules, { athenaBytesScannedCutoff: Size.gibibytes(2) });

      template.hasResourceProperties('AWS::Athena::WorkGroup', {
        WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 2 * 1024 ** 3 }),
      });
    });
  });

  describe('sweep: function', () => {
    it('gives the sweep function the sweep environment, a 10-minute timeout and no asynchronous retries', () => {
      const fn = propertiesOf(full, 'AWS::Lambda::Function', 'SweepFunction');

      expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 600 });
      expect((fn.Environment as { Variables: unknown }).Variables).toEqual({
        TABLE_NAME: { Ref: expect.stringMatching(/^StateTable/) },
        TOPIC_ARN: { Ref: expect.stringMatching(/^AlertTopic/) },
        ATHENA_WORKGROUP: 'abnormal-cloud-api-calls',
        ATHENA_DATABASE: 'abnormal_cloud_api_calls',
        CLOUDTRAIL_TABLE: 'cloudtrail_logs',
        AZURE_TABLE: 'azure_activity_logs',
        GCP_TABLE: 'gcp_audit_logs',
        SWEEP_SOURCES: 'aws-cloudtrail,azure-activity-logs,gcp-audit-logs',
        SWEEP_LAG_MINUTES: '15',
        SWEEP_MAX_WINDOW_MINUTES: '60',
        RULES_DIR: '/var/task/rules',
        POWERTOOLS_SERVICE_NAME: 'abnormal-cloud-api-calls',
        POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
      full.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: Match.stringLikeRegexp('^SweepFunction') },
        MaximumRetryAttempts: 0,
      });
    });

    it('allows the sweep function exactly what docs/sweep.md lists, on named resources', () => {
      const grants = sweepGrants(full);
      const actions = Object.fromEntries([...grants].map(([sid, grant]) => [sid, grant.actions]));

      expect(actions).toEqual({
        WriteItsOwnLogGroup: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        SendToDeadLetterQueue: ['sqs:SendMessage'],
        EncryptDeadLetters: ['kms:GenerateDataKey', 'kms:Decrypt'],
        RunSweepQueries: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
        ReadSweepTables: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        ReadWriteStateItems: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        QueryTheOutbox: ['dynamodb:Query'],
        UseDataKeyThroughDynamoDbAndS3: [
          'kms:Decrypt',
          'kms:Encrypt',
          'kms:GenerateDataKey',
          'kms:DescribeKey',
        ],
        PublishAlerts: ['sns:Publish'],
        EncryptAlerts: ['kms:GenerateDataKey', 'kms:Decrypt'],
        LocateQueryResults: ['s3:GetBucketLocation', 's3:ListBucket'],
        ReadWriteQueryResults: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        LocateTheLake: ['s3:GetBucketLocation', 's3:ListBucket'],
        ReadTheLake: ['s3:GetObject'],
        DecryptTheLake: ['kms:Decrypt'],
        LocateTheTrail: ['s3:GetBucketLocation', 's3:ListBucket'],
        ReadTheTrail: ['s3:GetObject'],
        DecryptTheTrail: ['kms:Decrypt'],
      });
      expect(grants.get('DecryptTheTrail')?.resources).toEqual([TRAIL_KEY]);
      expect(JSON.stringify(grants.get('RunSweepQueries')?.resources)).toContain(
        ':athena:eu-west-1:111122223333:workgroup/abnormal-cloud-api-calls',
      );
      const glue = JSON.stringify(grants.get('ReadSweepTables')?.resources);
      for (const arn of [
        ':glue:eu-west-1:111122223333:catalog"',
        ':database/abnormal_cloud_api_calls"',
        ':table/abnormal_cloud_api_calls/cloudtrail_logs"',
        ':table/abnormal_cloud_api_calls/azure_activity_logs"',
        ':table/abnormal_cloud_api_calls/gcp_audit_logs"',
      ]) {
        expect(glue).toContain(arn);
      }
      expect(grants.get('QueryTheOutbox')?.resources).toEqual([
        {
          'Fn::Join': [
            '',
            [{ 'Fn::GetAtt': [expect.stringMatching(/^StateTable/), 'Arn'] }, '/index/pending'],
          ],
        },
      ]);
    });

    it('outputs the sweep role, for the trail bucket policy of a log-archive account', () => {
      const outputs = full.toJSON().Outputs as Record<string, unknown>;

      expect(Object.keys(outputs)).toEqual(
        expect.arrayContaining([
          'SweepFunctionRoleArn',
          'AthenaWorkGroupName',
          'SweepDatabaseName',
          'LakeBucketName',
        ]),
      );
    });
  });

  describe('sweep: schedule', () => {
    /** The schedule expressions of the rules that target the sweep function. */
    function sweepSchedules(template: Template): unknown[] {
      return Object.values(template.findResources('AWS::Events::Rule'))
        .filter((rule) => JSON.stringify(rule.Properties.Targets ?? []).includes('"SweepFunction'))
        .map((rule) => rule.Properties.ScheduleExpression);
    }

    it('runs the sweep every five minutes for the repository rule, with no input', () => {
      expect(sweepSchedules(full)).toEqual(['rate(5 minutes)']);
      full.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepFunction'), 'Arn'] },
            Input: Match.absent(),
            RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 2 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
          }),
        ],
      });
    });

    it('follows the rule files: a 15m rule sets rate(15 minutes), a disabled 5m rule does not count', async () => {
      const folder = await rulesFolder(
        { id: 'every-quarter-hour', ...AZURE_RULE, interval: '15m' },
        { id: 'switched-off', ...AZURE_RULE, interval: '5m', enabled: false },
      );

      const template = synth(folder.rules, { rulesDirectory: folder.rulesDirectory });

      expect(sweepSchedules(template)).toEqual(['rate(15 minutes)']);
      expect(Object.keys(patternRules(template))).toHaveLength(0);
      // The lag alarm follows the cadence: 15 min lag + 2 x 15 min + 5 min.
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SweepCheckpointLag',
        Threshold: 3000,
      });
    });

    it('turns a rule on again when its file says enabled: true', async () => {
      const folder = await rulesFolder(
        { id: 'every-quarter-hour', ...AZURE_RULE, interval: '15m' },
        { id: 'switched-on', ...AZURE_RULE, interval: '5m', enabled: true },
      );

      expect(sweepSchedules(synth(folder.rules, { rulesDirectory: folder.rulesDirectory }))).toEqual([
        'rate(5 minutes)',
      ]);
    });

    it.each([
      ['90s', 'rate(2 minutes)'],
      ['30s', 'rate(1 minute)'],
      ['1h', 'rate(1 hour)'],
    ])('rounds a %s interval up to whole minutes: %s', async (interval, expression) => {
      const folder = await rulesFolder({ id: 'odd-interval', ...AZURE_RULE, interval });

      expect(sweepSchedules(synth(folder.rules, { rulesDirectory: folder.rulesDirectory }))).toEqual([
        expression,
      ]);
    });

    it('creates no sweep when every rule is disabled', async () => {
      const folder = await rulesFolder({ id: 'switched-off', ...AZURE_RULE, enabled: false });

      const template = synth(folder.rules, { rulesDirectory: folder.rulesDirectory });

      expect(sweepSchedules(template)).toEqual([]);
      template.resourceCountIs('AWS::Athena::WorkGroup', 0);
    });
  });

  describe('sweep: alarms', () => {
    it('alarms on sweep-created alerts, failed windows and checkpoint lag, on the handler metrics', () => {
      const sweepAlarm = (metricName: string) => ({
        Namespace: 'AbnormalCloudApiCalls',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: 'abnormal-cloud-api-calls' }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^OperationsTopic') }],
      });

      full.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...sweepAlarm('SweepCreatedAlerts'),
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        Period: 300,
      });
      full.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...sweepAlarm('SweepWindowsFailed'),
        Threshold: 0,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
      });
      full.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...sweepAlarm('SweepCheckpointLag'),
        Statistic: 'Maximum',
        Threshold: 1800,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
      full.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^SweepFunction') } }],
      });
      full.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Firehose',
        MetricName: 'DeliveryToS3.DataFreshness',
        Threshold: 900,
      });
    });
  });

  describe('security', () => {
    it('encrypts every queue, topic, bucket, table, stream and log group', () => {
      const resources = full.toJSON().Resources as Record<
        string,
        { Type: string; Properties: Record<string, unknown> }
      >;
      const byType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);

      for (const queue of byType('AWS::SQS::Queue')) expect(queue.Properties.KmsMasterKeyId).toBeDefined();
      for (const topic of byType('AWS::SNS::Topic')) expect(topic.Properties.KmsMasterKeyId).toBeDefined();
      for (const bucket of byType('AWS::S3::Bucket'))
        expect(bucket.Properties.BucketEncryption).toBeDefined();
      for (const table of byType('AWS::DynamoDB::Table')) {
        expect(table.Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
      }
      for (const stream of byType('AWS::Kinesis::Stream')) {
        expect(stream.Properties.StreamEncryption).toMatchObject({ EncryptionType: 'KMS' });
      }
      for (const group of byType('AWS::Logs::LogGroup')) {
        expect(group.Properties).toMatchObject({ KmsKeyId: expect.anything(), RetentionInDays: 365 });
      }
      for (const key of byType('AWS::KMS::Key')) expect(key.Properties.EnableKeyRotation).toBe(true);
      for (const stream of byType('AWS::KinesisFirehose::DeliveryStream')) {
        expect(stream.Properties.ExtendedS3DestinationConfiguration).toMatchObject({
          EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: expect.anything() } },
        });
      }
      for (const workGroup of byType('AWS::Athena::WorkGroup')) {
        expect(workGroup.Properties.WorkGroupConfiguration).toMatchObject({
          EnforceWorkGroupConfiguration: true,
          ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' } },
        });
      }
      // detect, redrive, Slack notifier and sweep functions; the two Firehose delivery-error groups
      expect(byType('AWS::Logs::LogGroup')).toHaveLength(6);
    });

    it('grants no wildcard action and no wildcard resource in any identity policy', () => {
      const statements = identityStatements(full);
      const objectWildcards: string[] = [];

      expect(statements.length).toBeGreaterThan(20);
      for (const { logicalId, statement } of statements) {
        expect(statement.Effect).toBe('Allow');
        for (const action of actionsOf(statement)) {
          expect(action, `${logicalId} ${statement.Sid ?? ''}`).not.toContain('*');
          expect(action).not.toContain('?');
        }
        for (const resource of resourcesOf(statement)) {
          expect(resource, `${logicalId} ${statement.Sid ?? ''}`).not.toBe('*');
          const text = JSON.stringify(resource);
          if (text.includes('*')) objectWildcards.push(`${statement.Sid}:${text}`);
        }
      }
      // Object rights below fixed prefixes, where someone else generates the object keys (logical ids
      // without their hash, `Bucket.Arn/prefix/*` shortened to `Bucket/prefix/*`):
      const short = objectWildcards
        .map((text) =>
          text
            .replace(
              /\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["([A-Za-z]+?)[0-9A-F]{8}","Arn"\]\},"([^"]*)"\]\]\}/,
              '$1$2',
            )
            .replace(/\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},"([^"]*)"\]\]\}/, 'arn:aws$1'),
        )
        .sort();
      expect(short).toEqual([
        // the detect function writes one new object per bad record, under a key it generates;
        'KeepBadRecords:DeadLetterBucket/*',
        // the sweep reads the lake's hourly objects (named by Firehose) and the trail's files (named by
        // CloudTrail) through Athena, read only;
        'ReadTheLake:LakeBucket/azure-activity-logs/*',
        'ReadTheLake:LakeBucket/gcp-audit-logs/*',
        'ReadTheTrail:arn:aws:s3:::org-trail-logs/trail/AWSLogs/o-abcdefghij/*',
        // Athena writes and reads each query's results under a key named after the query execution id;
        'ReadWriteQueryResults:QueryWorkgroupResults/results/*',
        // Firehose writes under its source's prefix and its error prefix, one role per source.
        'WriteItsPrefixes:LakeBucket/azure-activity-logs/*',
        'WriteItsPrefixes:LakeBucket/errors/azure-activity-logs/*',
        'WriteItsPrefixes:LakeBucket/errors/gcp-audit-logs/*',
        'WriteItsPrefixes:LakeBucket/gcp-audit-logs/*',
      ]);
    });

    it('attaches no AWS managed policy and creates no IAM user or access key', () => {
      full.resourceCountIs('AWS::IAM::User', 0);
      full.resourceCountIs('AWS::IAM::AccessKey', 0);
      const roles = Object.values(full.findResources('AWS::IAM::Role'));
      for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    });

    it('scopes the data key to DynamoDB and S3 requests for the functions', () => {
      const viaService = identityStatements(full).filter(({ statement }) =>
        statement.Sid?.startsWith('UseDataKey'),
      );

      expect(viaService.length).toBe(4);
      for (const { statement } of viaService) {
        expect(statement.Condition).toMatchObject({ StringEquals: { 'kms:ViaService': expect.anything() } });
      }
    });
  });

  describe('operations', () => {
    it('alarms on each function, the dead-letter queue, each stream, each delivery stream and the sweep, to the operations topic', () => {
      full.resourceCountIs('AWS::CloudWatch::Alarm', 12);
      const alarms = Object.values(full.findResources('AWS::CloudWatch::Alarm'));
      const metrics = alarms
        .map((alarm) => `${alarm.Properties.Namespace}:${alarm.Properties.MetricName}`)
        .sort();

      expect(metrics).toEqual([
        'AWS/Firehose:DeliveryToS3.DataFreshness',
        'AWS/Firehose:DeliveryToS3.DataFreshness',
        'AWS/Kinesis:GetRecords.IteratorAgeMilliseconds',
        'AWS/Kinesis:GetRecords.IteratorAgeMilliseconds',
        'AWS/Lambda:Errors',
        'AWS/Lambda:Errors',
        'AWS/Lambda:Errors',
        'AWS/Lambda:Errors',
        'AWS/SQS:ApproximateNumberOfMessagesVisible',
        'AbnormalCloudApiCalls:SweepCheckpointLag',
        'AbnormalCloudApiCalls:SweepCreatedAlerts',
        'AbnormalCloudApiCalls:SweepWindowsFailed',
      ]);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^OperationsTopic/) }]);
      }
    });

    it('subscribes the alert and operations addresses to their own topics', () => {
      full.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'soc@example.com',
        TopicArn: { Ref: Match.stringLikeRegexp('^AlertTopic') },
      });
      full.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: Match.stringLikeRegexp('^OperationsTopic') },
      });
    });
  });
});
