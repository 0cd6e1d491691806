/**
 * Athena on DuckDB, for tests: the sweep's tables created from `SWEEP_TABLES`, rows written the way the
 * Hive JSON SerDe (CloudTrail) and the one-column text SerDe (lake) would present them, and a few macros
 * standing in for the Athena (Trino) functions the generated SQL uses. The SQL under test runs unchanged.
 *
 * Shims (each one mirrors Trino's documented behaviour on the inputs the sweep produces):
 * - `from_iso8601_timestamp(s)` → `CAST(s AS TIMESTAMPTZ)`, an error on bad input like Trino (the SQL wraps
 *   it in `try`, which DuckDB has too); the session time zone is UTC, as in Athena;
 * - `date_parse(s, f)` → `strptime(s, f)`: both read `%Y %m %d %H` alike;
 * - `json_extract_scalar(j, p)` → NULL for invalid JSON, a missing path, an object or an array, else the
 *   scalar's text; the JSONPath's `["key"]` steps are rewritten to DuckDB's `."key"`;
 * - `json_format(j)` → the JSON's text; `CAST(struct AS JSON)` is native (an object keyed by field name);
 * - `"$path"` is a real column holding the object key each fixture row came from.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import type { GlueType, SweepRow, SweepTableNames } from '../../lambda/engine/compile/athena-sql';
import {
  CLOUDTRAIL_COLUMNS,
  DEFAULT_SWEEP_TABLE_NAMES,
  LAKE_RECORD_COLUMN,
  SWEEP_TABLES,
} from '../../lambda/engine/compile/athena-sql';
import type { SourceName } from '../../lambda/engine/ecs';

const JSONPATH_BRACKETS = String.raw`regexp_replace(p, '\["([^"]*)"\]', '."\1"', 'g')`;

export const DUCKDB_SHIMS: readonly string[] = [
  "SET TimeZone = 'UTC'",
  'CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)',
  'CREATE MACRO date_parse(s, f) AS strptime(s, f)',
  `CREATE MACRO json_extract_scalar(j, p) AS CASE WHEN json_valid(j) AND json_type(j, ${JSONPATH_BRACKETS}) NOT IN ('OBJECT', 'ARRAY') THEN json_extract_string(j, ${JSONPATH_BRACKETS}) END`,
  'CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)',
];

/** The DuckDB type of a Glue type. */
export function duckType(type: GlueType): string {
  switch (type.kind) {
    case 'string':
      return 'VARCHAR';
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `"${f.name}" ${duckType(f.type)}`).join(', ')})`;
    case 'array':
      return `${duckType(type.element)}[]`;
    case 'map':
      return `MAP(VARCHAR, ${duckType(type.value)})`;
  }
}

/**
 * A JSON value as the Hive JSON SerDe maps it onto a Glue type: keys matched without case, a nested
 * object in a `string` column kept as its JSON text, scalars as their text, anything else NULL.
 */
export function serdeValue(value: unknown, type: GlueType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'string':
      return typeof value === 'string'
        ? value
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
    case 'array':
      return Array.isArray(value) ? value.map((item) => serdeValue(item, type.element)) : null;
    case 'map':
      return typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serdeValue(v, type.value)]))
        : null;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return null;
      const byLowerKey = new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
      return Object.fromEntries(type.fields.map((f) => [f.name, serdeValue(byLowerKey.get(f.name), f.type)]));
    }
  }
}

const CLOUDTRAIL_ROW: GlueType = {
  kind: 'struct',
  fields: [
    { name: '$path', json: '$path', type: { kind: 'string' } },
    ...CLOUDTRAIL_COLUMNS,
    { name: 'account', json: 'account', type: { kind: 'string' } },
    { name: 'region', json: 'region', type: { kind: 'string' } },
    { name: 'timestamp', json: 'timestamp', type: { kind: 'string' } },
  ],
};

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly SweepRow[];
}

export class AthenaOnDuckDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly names: SweepTableNames,
  ) {}

  static async create(names: SweepTableNames = DEFAULT_SWEEP_TABLE_NAMES): Promise<AthenaOnDuckDb> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    for (const statement of DUCKDB_SHIMS) await connection.run(statement);
    await connection.run(`CREATE SCHEMA "${names.database}"`);
    const columns = (CLOUDTRAIL_ROW as { fields: readonly { name: string; type: GlueType }[] }).fields
      .map((f) => `"${f.name}" ${duckType(f.type)}`)
      .join(', ');
    await connection.run(`CREATE TABLE ${table(names, 'aws-cloudtrail')} (${columns})`);
    for (const source of ['azure-activity-logs', 'gcp-audit-logs'] as const) {
      const partition = SWEEP_TABLES[source].timePartition;
      await connection.run(
        `CREATE TABLE ${table(names, source)} ("$path" VARCHAR, "${LAKE_RECORD_COLUMN.name}" VARCHAR, "${partition}" VARCHAR)`,
      );
    }
    return new AthenaOnDuckDb(instance, connection, names);
  }

  /** A CloudTrail record as the trail's table presents it, in partition `yyyy/MM/dd`. */
  async insertCloudTrail(
    record: unknown,
    partition: { readonly timestamp: string; readonly account?: string; readonly region?: string },
    objectPath: string,
  ): Promise<void> {
    const row = serdeValue(
      {
        ...(typeof record === 'object' && record !== null ? record : {}),
        $path: objectPath,
        account: partition.account ?? '111122223333',
        region: partition.region ?? 'us-east-1',
        timestamp: partition.timestamp,
      },
      CLOUDTRAIL_ROW,
    );
    await this.connection.run(
      `INSERT INTO ${table(this.names, 'aws-cloudtrail')} SELECT r.* FROM (SELECT CAST(CAST($1 AS JSON) AS ${duckType(CLOUDTRAIL_ROW)}) AS r)`,
      [JSON.stringify(row)],
    );
  }

  /** One line of a lake table, in partition `yyyy-MM-dd-HH`. */
  async insertLine(source: SourceName, line: string, dt: string, objectPath: string): Promise<void> {
    await this.connection.run(`INSERT INTO ${table(this.names, source)} VALUES ($1, $2, $3)`, [
      objectPath,
      line,
      dt,
    ]);
  }

  async clear(): Promise<void> {
    for (const source of Object.keys(SWEEP_TABLES) as SourceName[]) {
      await this.connection.run(`DELETE FROM ${table(this.names, source)}`);
    }
  }

  /** Runs one statement; every column comes back as text or NULL, like Athena's `VarCharValue`. */
  async query(sql: string): Promise<QueryResult> {
    const reader = await this.connection.runAndReadAll(sql);
    const columns = reader.columnNames();
    const rows = reader
      .getRowsJson()
      .map((values) => Object.fromEntries(columns.map((name, i) => [name, stringOrNull(values[i])])));
    return { columns, rows };
  }

  /** How many statements DuckDB's parser finds in `sql`. */
  async statementCount(sql: string): Promise<number> {
    return (await this.connection.extractStatements(sql)).count;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function table(names: SweepTableNames, source: SourceName): string {
  return `"${names.database}"."${names.tables[source]}"`;
}

function stringOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The partition of an instant: `yyyy/MM/dd` (CloudTrail) or `yyyy-MM-dd-HH` (lake). */
export function partitionOf(source: SourceName, ms: number): string {
  const iso = new Date(ms).toISOString();
  return source === 'aws-cloudtrail'
    ? iso.slice(0, 10).replaceAll('-', '/')
    : `${iso.slice(0, 10)}-${iso.slice(11, 13)}`;
}
