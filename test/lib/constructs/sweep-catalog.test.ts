import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { sweepTableInput } from '../../../lambda/engine/compile/athena-sql';
import { SweepCatalog, type SweepCatalogProps } from '../../../lib/constructs/sweep-catalog';
import { testStack } from '../helpers';

const TRAIL = {
  bucket: 'trail-bucket',
  accounts: ['111122223333'],
  regions: ['us-east-1'],
  projectionStart: '2025/01/01',
};

function build(props: SweepCatalogProps): { template: Template; catalog: SweepCatalog } {
  const stack = testStack();
  const catalog = new SweepCatalog(stack, 'Catalog', props);
  return { template: Template.fromStack(stack), catalog };
}

/** `sweepTableInput`'s camel case as CloudFormation's Pascal case, the way the CDK renders it. */
function pascal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascal);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key.charAt(0).toUpperCase() + key.slice(1),
      key === 'parameters' ? inner : pascal(inner),
    ]),
  );
}

describe('SweepCatalog', () => {
  it('creates the database and each table exactly as the sweep contract defines it', () => {
    const { template } = build({
      tables: {
        'aws-cloudtrail': TRAIL,
        'gcp-audit-logs': { bucket: 'lake-bucket', projectionStart: '2026-01-01-00' },
      },
    });

    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: '111122223333',
      DatabaseInput: { Name: 'abnormal_cloud_api_calls' },
    });
    template.resourceCountIs('AWS::Glue::Table', 2);
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'abnormal_cloud_api_calls',
      TableInput: pascal(sweepTableInput('aws-cloudtrail', TRAIL)),
    });
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: pascal(
        sweepTableInput('gcp-audit-logs', { bucket: 'lake-bucket', projectionStart: '2026-01-01-00' }),
      ),
    });
  });

  it('lists the catalog, database and table ARNs for readers, and the table names by source', () => {
    const { catalog } = build({
      databaseName: 'detector',
      tables: {
        'azure-activity-logs': { bucket: 'lake', projectionStart: '2026-01-01-00', tableName: 'azure' },
      },
    });
    const arns = catalog.readArns.map((arn) => JSON.stringify(catalog.database.stack.resolve(arn)));

    expect(arns).toHaveLength(3);
    expect(arns[0]).toContain(':glue:us-east-1:111122223333:catalog"');
    expect(arns[1]).toContain(':glue:us-east-1:111122223333:database/detector"');
    expect(arns[2]).toContain(':glue:us-east-1:111122223333:table/detector/azure"');
    expect([...catalog.tableNames]).toEqual([['azure-activity-logs', 'azure']]);
  });

  it.each([
    [{ tables: {} }, /tables must name at least one source/],
    [
      { databaseName: 'Bad-Name', tables: { 'gcp-audit-logs': { bucket: 'b', projectionStart: 'x' } } },
      /databaseName/,
    ],
    [
      {
        tables: { 'aws-cloudtrail': { bucket: 'b', regions: ['us-east-1'], projectionStart: '2025/01/01' } },
      },
      /SweepCatalogProps.tables.aws-cloudtrail: aws-cloudtrail: accounts are required/,
    ],
  ])('throws on %j', (props, message) => {
    expect(() => build(props as SweepCatalogProps)).toThrow(message);
  });
});
