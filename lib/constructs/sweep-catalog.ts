import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import { Construct } from 'constructs';
import {
  SWEEP_DATABASE,
  SWEEP_TABLES,
  type SweepTableLocation,
  sweepTableInput,
} from '../../lambda/engine/compile/athena-sql';
import { SOURCE_NAMES, type SourceName } from '../../lambda/engine/ecs';

export interface SweepCatalogProps {
  /** The tables to create, by source, with where their objects are. At least one. */
  readonly tables: Readonly<Partial<Record<SourceName, SweepTableLocation>>>;
  /**
   * The Glue database (`ATHENA_DATABASE`); lower-case letters, digits and `_`.
   * @default SWEEP_DATABASE ('abnormal_cloud_api_calls')
   */
  readonly databaseName?: string;
}

const GLUE_NAME = /^[a-z0-9_]{1,255}$/;

/**
 * The Glue database and the raw tables the sweep queries. Each table is `sweepTableInput` of
 * `lambda/engine/compile/athena-sql.ts`, the same contract the sweep compiles its SQL against, with partition
 * projection: no crawler and no partition to add, ever.
 */
export class SweepCatalog extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  /** The tables, by source, in `SOURCE_NAMES` order. */
  public readonly tables: ReadonlyMap<SourceName, glue.CfnTable>;
  /** The Glue table names, by source. */
  public readonly tableNames: ReadonlyMap<SourceName, string>;
  /** The catalog, database and table ARNs: what reading the tables through Glue needs. */
  public readonly readArns: readonly string[];

  constructor(scope: Construct, id: string, props: SweepCatalogProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? SWEEP_DATABASE;
    if (!GLUE_NAME.test(this.databaseName)) {
      throw new Error('SweepCatalogProps.databaseName must be lower-case letters, digits and _');
    }
    const sources = SOURCE_NAMES.filter((source) => props.tables[source] !== undefined);
    if (sources.length === 0) throw new Error('SweepCatalogProps.tables must name at least one source');
    const stack = Stack.of(this);

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: {
        name: this.databaseName,
        description:
          'Abnormal Cloud API Calls: raw CloudTrail, Azure and GCP tables read by the scheduled sweep',
      },
    });

    const tables = new Map<SourceName, glue.CfnTable>();
    const names = new Map<SourceName, string>();
    for (const source of sources) {
      const location = props.tables[source] as SweepTableLocation;
      let tableInput: ReturnType<typeof sweepTableInput>;
      try {
        tableInput = sweepTableInput(source, location);
      } catch (error) {
        throw new Error(`SweepCatalogProps.tables.${source}: ${(error as Error).message}`, { cause: error });
      }
      if (!GLUE_NAME.test(tableInput.name)) {
        throw new Error(
          `SweepCatalogProps.tables.${source}.tableName must be lower-case letters, digits and _`,
        );
      }
      const table = new glue.CfnTable(this, SWEEP_TABLES[source].tableName, {
        catalogId: stack.account,
        databaseName: this.databaseName,
        tableInput,
      });
      table.addResourceDependency(this.database);
      tables.set(source, table);
      names.set(source, tableInput.name);
    }
    this.tables = tables;
    this.tableNames = names;
    this.readArns = [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
      ...[...names.values()].map((name) =>
        stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/${name}` }),
      ),
    ];
  }
}
