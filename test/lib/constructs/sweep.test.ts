import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../../lib/constructs/dead-letter-queue';
import { QueryWorkgroup } from '../../../lib/constructs/query-workgroup';
import { Sweep, type SweepProps } from '../../../lib/constructs/sweep';
import { SweepCatalog } from '../../../lib/constructs/sweep-catalog';
import { RULES_DIRECTORY } from '../../../lib/project';
import { actionsOf, identityStatements, makeRule, resourcesOf, testStack } from '../helpers';

const RULES = [
  makeRule({ id: 'r', query: 'event.action:x', index: ['gcp-audit-logs-*', 'aws-cloudtrail-*'] }),
];

function build(overrides: Partial<SweepProps> = {}, withTrail = false): { template: Template; sweep: Sweep } {
  const stack = testStack();
  const dataKey = new kms.Key(stack, 'DataKey');
  const lake = new s3.Bucket(stack, 'Lake');
  const catalog = new SweepCatalog(stack, 'Catalog', {
    tables: {
      'gcp-audit-logs': { bucket: lake.bucketName, projectionStart: '2026-01-01-00' },
      ...(withTrail
        ? {
            'aws-cloudtrail': {
              bucket: 'trail',
              accounts: ['111122223333'],
              regions: ['us-east-1'],
              projectionStart: '2025/01/01',
            },
          }
        : {}),
    },
  });
  const sweep = new Sweep(stack, 'Sweep', {
    rules: RULES,
    rulesDirectory: RULES_DIRECTORY,
    catalog,
    workgroup: new QueryWorkgroup(stack, 'Queries', {
      encryptionKey: dataKey,
      accessLogsBucket: new s3.Bucket(stack, 'Logs'),
    }),
    stateTable: new dynamodb.Table(stack, 'State', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    }),
    alertTopic: new sns.Topic(stack, 'Alerts'),
    alertTopicKey: new kms.Key(stack, 'TopicKey'),
    dataKey,
    deadLetterQueue: new DeadLetterQueue(stack, 'Dlq', { encryptionKey: dataKey }),
    lake: { bucket: lake, key: new kms.Key(stack, 'LakeKey'), sources: ['gcp-audit-logs'] },
    bundling: false,
    ...(withTrail ? { trail: { bucket: 'trail' } } : {}),
    ...overrides,
  });
  return { template: Template.fromStack(stack), sweep };
}

describe('Sweep', () => {
  it('configures the handler from the catalog, the workgroup and the lag', () => {
    const { template, sweep } = build({ lag: Duration.minutes(20), maxWindow: Duration.minutes(30) });

    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 600,
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          ATHENA_WORKGROUP: 'abnormal-cloud-api-calls',
          ATHENA_DATABASE: 'abnormal_cloud_api_calls',
          GCP_TABLE: 'gcp_audit_logs',
          SWEEP_SOURCES: 'gcp-audit-logs',
          SWEEP_LAG_MINUTES: '20',
          SWEEP_MAX_WINDOW_MINUTES: '30',
          RULES_DIR: '/var/task/rules',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    expect(sweep.sources).toEqual(['gcp-audit-logs']);
    expect(sweep.schedule.cadence.interval.toMinutes()).toBe(5);
  });

  it('reads only the lake prefixes of its sources, and the trail only when it has a table', () => {
    const lakeOnly = identityStatements(build().template).map(({ statement }) => statement.Sid);
    const withTrail = identityStatements(build({}, true).template);
    const trailRead = withTrail.find(({ statement }) => statement.Sid === 'ReadTheTrail')?.statement;

    expect(lakeOnly).toContain('ReadTheLake');
    expect(lakeOnly).not.toContain('ReadTheTrail');
    expect(lakeOnly).not.toContain('DecryptTheTrail');
    expect(trailRead && actionsOf(trailRead)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(trailRead && resourcesOf(trailRead))).toContain(':s3:::trail/AWSLogs/*');
    const lakeRead = withTrail.find(({ statement }) => statement.Sid === 'ReadTheLake')?.statement;
    expect(JSON.stringify(lakeRead && resourcesOf(lakeRead))).toMatch(/"\/gcp-audit-logs\/\*"\]\]\}\]$/);
  });

  it.each([
    [{ timeout: Duration.minutes(4) }, false, /timeout must be 5 to 15 minutes/],
    [{ lag: Duration.seconds(90) }, false, /lag must be a whole number of minutes/],
    [{ maxWindow: Duration.seconds(0) }, false, /maxWindow must be a whole number of minutes, at least one/],
    [
      { trail: { bucket: 'trail' } },
      false,
      /trail must be given exactly when the catalog has a CloudTrail table/,
    ],
    [{ trail: undefined }, true, /trail must be given exactly when/],
    [{ lake: undefined }, false, /lake must give access to the lake of gcp-audit-logs/],
  ])('throws on %j', (overrides, withTrail, message) => {
    expect(() => build(overrides as Partial<SweepProps>, withTrail)).toThrow(message);
  });
});
