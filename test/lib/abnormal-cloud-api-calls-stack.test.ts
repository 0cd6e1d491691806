import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileEventPattern } from '../../lambda/engine/compile/eventbridge-pattern';
import type { Rule } from '../../lambda/engine/rules';
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
  resourcesOf,
  testApp,
} from './helpers';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack-webhook-AbCdEf';
const TENANT = '11111111-2222-3333-4444-555555555555';

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
    });
    minimal = synth(rules);
  });

  describe('ingest', () => {
    it('filters CloudTrail events with the pattern compiled from the rule, on the default and organization buses', () => {
      const pattern = compileEventPattern((rules[0] as Rule).ast).pattern;

      full.resourceCountIs('AWS::Events::Rule', 3);
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
      minimal.resourceCountIs('AWS::Lambda::Function', 2);
      minimal.resourceCountIs('AWS::Events::Rule', 2);
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
      template.resourceCountIs('AWS::Events::Rule', 2);
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
            POWERTOOLS_SERVICE_NAME: 'abnormal-cloud-api-calls',
            POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
          }),
        },
      });
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
      expect(byType('AWS::Logs::LogGroup')).toHaveLength(3);
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
      // The one exception: the detect function writes new objects under keys it generates in its bucket.
      expect(objectWildcards).toEqual([
        expect.stringMatching(
          /^KeepBadRecords:\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["DeadLetterBucket\w+","Arn"\]\},"\/\*"\]\]\}$/,
        ),
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

      expect(viaService.length).toBe(3);
      for (const { statement } of viaService) {
        expect(statement.Condition).toMatchObject({ StringEquals: { 'kms:ViaService': expect.anything() } });
      }
    });
  });

  describe('operations', () => {
    it('alarms on each function, the dead-letter queue and each stream, to the operations topic', () => {
      full.resourceCountIs('AWS::CloudWatch::Alarm', 6);
      const alarms = Object.values(full.findResources('AWS::CloudWatch::Alarm'));
      const metrics = alarms
        .map((alarm) => `${alarm.Properties.Namespace}:${alarm.Properties.MetricName}`)
        .sort();

      expect(metrics).toEqual([
        'AWS/Kinesis:GetRecords.IteratorAgeMilliseconds',
        'AWS/Kinesis:GetRecords.IteratorAgeMilliseconds',
        'AWS/Lambda:Errors',
        'AWS/Lambda:Errors',
        'AWS/Lambda:Errors',
        'AWS/SQS:ApproximateNumberOfMessagesVisible',
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
