/**
 * Compiles a rule's KQL AST into Athena (Trino) SQL over the RAW tables, for the scheduled sweep and for
 * analysts who paste a retrospective query into the Athena console. It also owns the contract of those
 * tables (`SWEEP_TABLES`), because the SELECT list, the WHERE clause and the rebuilding of a record from a
 * result row (`recordFromRow`) must all agree with the columns the stack creates.
 *
 * The WHERE clause is a SOUND pre-filter, like the EventBridge pattern: every row whose rebuilt record the
 * rule's predicate accepts is selected; more may be, and the predicate decides. Everything it knows about raw
 * field names comes from the normalizers' `rawMatchesFor` and `RAW_FIELDS`:
 * - `field:value` → the raw conditions the catalog gives (equals, prefix, suffix; case-insensitive ones with
 *   `lower()` when the value is ASCII, else widened), OR-ed; `[]` → FALSE, `undefined` → TRUE;
 * - `and` / `or` → AND / OR; `not`, ranges, `exists`, nested queries, free text and wildcard field names →
 *   TRUE (widened: the negation of an over-approximation is not an over-approximation);
 * - a wildcard value → `LIKE` only on fields the catalog copies verbatim (probed, and checked against every
 *   catalogued value the wildcard matches); otherwise widened;
 * - a raw path the table cannot hold (CloudTrail `insightDetails`, which the trail's table never contains) is
 *   absent from every rebuilt record, so a condition on it is FALSE; a path into an array or map → TRUE.
 * Values are always SQL string literals with quotes doubled and control characters as `chr(n)`, and LIKE
 * patterns escape `\`, `%` and `_` with an explicit `ESCAPE '\'`: no rule value can end a literal or change
 * the query. Identifiers are checked against a strict pattern and double-quoted.
 *
 * Time: a row is selected when its event time (parsed with `try(from_iso8601_timestamp(…))` from the paths
 * `RAW_FIELDS['@timestamp']` names, first that parses) is in [start, end), or when it has none, or when that
 * time is implausible for its partition (before the partition start minus the delivery slack, or after its
 * end). Partitions are bounded to those that can hold a record of the window ([start, end + slack)). So every
 * row of a scanned partition is evaluated by at least one window: a plausible one by exactly the window of
 * its time, the others by every window that scans their partition (the store dedupes them).
 *
 * Pure: no AWS SDK, no I/O, no clock.
 */
import type { SourceName } from '../ecs';
import type { KqlIsNode, KqlNode, KqlWildcardPattern } from '../kql';
import {
  AWS_INSIGHTS,
  GCP_IAM_POLICY_WRITE,
  producibleActions,
  producibleValues,
  RAW_FIELDS,
  type RawMatch,
  rawMatchesFor,
} from '../normalizers';
import { parsePath } from './eventbridge-pattern';

// ---------------------------------------------------------------------------------------------------------
// The table contract

/** A Glue column type, structured so the stack can render it and the sweep can read rows back. */
export type GlueType =
  | { readonly kind: 'string' }
  | { readonly kind: 'struct'; readonly fields: readonly GlueField[] }
  | { readonly kind: 'array'; readonly element: GlueType }
  | { readonly kind: 'map'; readonly value: GlueType };

/** A column, or a field of a struct column. */
export interface GlueField {
  /** The Glue name: lower case, as the Hive JSON SerDe matches keys. */
  readonly name: string;
  /** The key in the vendor's JSON, restored when a result row is turned back into a record. */
  readonly json: string;
  readonly type: GlueType;
  /**
   * How a `string` value is restored: `json` when the SerDe keeps a nested object as its JSON text
   * (`requestParameters`), `boolean` when the record holds `true`/`false` (`readOnly`).
   */
  readonly decode?: 'json' | 'boolean';
}

/** A partition key and how the stack projects it (Athena partition projection). */
export interface SweepPartitionKey {
  readonly name: string;
  /** `enum` keys take their values from the deployment (accounts, regions); `date` keys are the time. */
  readonly projection: 'enum' | 'date';
  /** Projection `format` of a date key (Java `DateTimeFormatter`), e.g. `yyyy/MM/dd`. */
  readonly format?: string;
  /** Projection interval unit of a date key. */
  readonly intervalUnit?: 'DAYS' | 'HOURS';
  readonly comment: string;
}

/** One raw table the sweep reads: what the stack must create (see docs/sweep.md). */
export interface SweepTableSpec {
  readonly source: SourceName;
  /** Default Glue table name (the `CLOUDTRAIL_TABLE` / `AZURE_TABLE` / `GCP_TABLE` environment overrides it). */
  readonly tableName: string;
  readonly description: string;
  readonly columns: readonly GlueField[];
  readonly partitionKeys: readonly SweepPartitionKey[];
  /** The date partition key the sweep prunes on. */
  readonly timePartition: string;
  readonly serializationLibrary: string;
  readonly serdeParameters: Readonly<Record<string, string>>;
  readonly inputFormat: string;
  readonly outputFormat: string;
  /**
   * Object keys below the bucket, with `${prefix}` (the configured prefix, empty or ending in `/`),
   * `${orgPath}` (`<organization id>/` for an organization trail, else empty) and `${partition}` for each
   * partition key, as Athena's `storage.location.template` uses them.
   */
  readonly keyTemplate: string;
}

const STRING: GlueType = { kind: 'string' };
const struct = (fields: readonly GlueField[]): GlueType => ({ kind: 'struct', fields });
const arrayOf = (element: GlueType): GlueType => ({ kind: 'array', element });
const mapOf = (value: GlueType): GlueType => ({ kind: 'map', value });
const field = (json: string, type: GlueType = STRING, decode?: 'json' | 'boolean'): GlueField => ({
  name: json.toLowerCase(),
  json,
  type,
  ...(decode === undefined ? {} : { decode }),
});

/**
 * The columns of the standard CloudTrail table of the Athena documentation ("Create the table for CloudTrail
 * logs in Athena using partition projection"), with the record's own key spelling kept beside each lower-case
 * Glue name so a row can be turned back into a CloudTrail record.
 */
export const CLOUDTRAIL_COLUMNS: readonly GlueField[] = [
  field('eventVersion'),
  field(
    'userIdentity',
    struct([
      field('type'),
      field('principalId'),
      field('arn'),
      field('accountId'),
      field('invokedBy'),
      field('accessKeyId'),
      field('userName'),
      field('onBehalfOf', struct([field('userId'), field('identityStoreArn')])),
      field(
        'sessionContext',
        struct([
          field('attributes', struct([field('mfaAuthenticated'), field('creationDate')])),
          field(
            'sessionIssuer',
            struct([
              field('type'),
              field('principalId'),
              field('arn'),
              field('accountId'),
              field('userName'),
            ]),
          ),
          field('ec2RoleDelivery'),
          field(
            'webIdFederationData',
            struct([field('federatedProvider'), field('attributes', mapOf(STRING))]),
          ),
        ]),
      ),
    ]),
  ),
  field('eventTime'),
  field('eventSource'),
  field('eventName'),
  field('awsRegion'),
  field('sourceIPAddress'),
  field('userAgent'),
  field('errorCode'),
  field('errorMessage'),
  field('requestParameters', STRING, 'json'),
  field('responseElements', STRING, 'json'),
  field('additionalEventData', STRING, 'json'),
  field('requestID'),
  field('eventID'),
  field('readOnly', STRING, 'boolean'),
  field('resources', arrayOf(struct([field('ARN'), field('accountId'), field('type')]))),
  field('eventType'),
  field('apiVersion'),
  field('recipientAccountId'),
  field('serviceEventDetails', STRING, 'json'),
  field('sharedEventID'),
  field('vpcEndpointId'),
  field('vpcEndpointAccountId'),
  field('eventCategory'),
  field(
    'addendum',
    struct([field('reason'), field('updatedFields'), field('originalRequestID'), field('originalEventID')]),
  ),
  field('sessionCredentialFromConsole'),
  field('edgeDeviceDetails', STRING, 'json'),
  field('tlsDetails', struct([field('tlsVersion'), field('cipherSuite'), field('clientProvidedHostHeader')])),
];

/** The one column of the Azure and GCP lake tables: a raw record, one JSON document per line. */
export const LAKE_RECORD_COLUMN: GlueField = { name: 'record', json: 'record', type: STRING };

/** The lake tables' hourly partition, the Firehose prefix `dt=!{timestamp:yyyy-MM-dd-HH}/`. */
const LAKE_PARTITION: SweepPartitionKey = {
  name: 'dt',
  projection: 'date',
  format: 'yyyy-MM-dd-HH',
  intervalUnit: 'HOURS',
  comment: 'Hour (UTC) Firehose received the record',
};

const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

function lakeTable(source: SourceName, tableName: string, description: string): SweepTableSpec {
  return {
    source,
    tableName,
    description,
    columns: [LAKE_RECORD_COLUMN],
    partitionKeys: [LAKE_PARTITION],
    timePartition: 'dt',
    // One column, and a field delimiter (U+0001) that valid JSON text never contains: the line is the column.
    serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
    serdeParameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' },
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: TEXT_OUTPUT_FORMAT,
    keyTemplate: `\${prefix}${source}/dt=\${dt}/`,
  };
}

/**
 * The raw tables the sweep reads, as data: the stack builds its Glue tables (and Firehose prefixes) from
 * this, the sweep compiles its queries against it, and docs/sweep.md describes it.
 */
export const SWEEP_TABLES: Readonly<Record<SourceName, SweepTableSpec>> = {
  'aws-cloudtrail': {
    source: 'aws-cloudtrail',
    tableName: 'cloudtrail_logs',
    description: 'CloudTrail management events as delivered by the trail to S3 (read by the sweep)',
    columns: CLOUDTRAIL_COLUMNS,
    partitionKeys: [
      { name: 'account', projection: 'enum', comment: 'Account id in the object key' },
      { name: 'region', projection: 'enum', comment: 'Region in the object key' },
      {
        name: 'timestamp',
        projection: 'date',
        format: 'yyyy/MM/dd',
        intervalUnit: 'DAYS',
        comment: 'Delivery date (UTC) in the object key',
      },
    ],
    timePartition: 'timestamp',
    serializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe',
    serdeParameters: {},
    inputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
    outputFormat: TEXT_OUTPUT_FORMAT,
    keyTemplate: `\${prefix}AWSLogs/\${orgPath}\${account}/CloudTrail/\${region}/\${timestamp}/`,
  },
  'azure-activity-logs': lakeTable(
    'azure-activity-logs',
    'azure_activity_logs',
    'Azure Activity Log records, one raw JSON record per line, delivered by Firehose (read by the sweep)',
  ),
  'gcp-audit-logs': lakeTable(
    'gcp-audit-logs',
    'gcp_audit_logs',
    'GCP Cloud Audit Log entries, one raw JSON LogEntry per line, delivered by Firehose (read by the sweep)',
  ),
};

/** The default Glue database; `ATHENA_DATABASE` overrides it. */
export const SWEEP_DATABASE = 'abnormal_cloud_api_calls';

/** Where the sweep's tables live. */
export interface SweepTableNames {
  readonly database: string;
  readonly tables: Readonly<Record<SourceName, string>>;
}

export const DEFAULT_SWEEP_TABLE_NAMES: SweepTableNames = {
  database: SWEEP_DATABASE,
  tables: {
    'aws-cloudtrail': SWEEP_TABLES['aws-cloudtrail'].tableName,
    'azure-activity-logs': SWEEP_TABLES['azure-activity-logs'].tableName,
    'gcp-audit-logs': SWEEP_TABLES['gcp-audit-logs'].tableName,
  },
};

/** The Glue type string of a column (`struct<type:string,…>`). */
export function glueTypeString(type: GlueType): string {
  switch (type.kind) {
    case 'string':
      return 'string';
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.name}:${glueTypeString(f.type)}`).join(',')}>`;
    case 'array':
      return `array<${glueTypeString(type.element)}>`;
    case 'map':
      return `map<string,${glueTypeString(type.value)}>`;
  }
}

/** Deployment values a Glue table needs beyond `SWEEP_TABLES`. */
export interface SweepTableLocation {
  /** The bucket holding the objects (the trail's bucket, or the lake bucket). */
  readonly bucket: string;
  /** Key prefix, empty or ending in `/`. @default '' */
  readonly prefix?: string;
  /** Organization id for an organization trail's `AWSLogs/<org id>/<account>/…` keys (CloudTrail only). */
  readonly organizationId?: string;
  /** The accounts whose logs the trail delivers (CloudTrail only; projected as an enum). */
  readonly accounts?: readonly string[];
  /** The regions the trail records (CloudTrail only; projected as an enum). */
  readonly regions?: readonly string[];
  /** First partition that can exist, in the partition's format (`2026/01/01`, `2026-01-01-00`). */
  readonly projectionStart: string;
  /** @default SWEEP_TABLES[source].tableName */
  readonly tableName?: string;
}

/**
 * A Glue `TableInput` (in the camel-case shape of CDK's `CfnTable.TableInputProperty`) for a sweep table,
 * partition projection included, so the stack creates exactly the tables the queries are compiled against.
 * Throws a `TypeError` naming the missing value.
 */
export function sweepTableInput(source: SourceName, location: SweepTableLocation) {
  const spec = SWEEP_TABLES[source];
  const prefix = location.prefix ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) throw new TypeError(`prefix must be empty or end in "/"`);
  const parameters: Record<string, string> = {
    EXTERNAL: 'TRUE',
    'projection.enabled': 'true',
    classification: source === 'aws-cloudtrail' ? 'cloudtrail' : 'json',
  };
  const values: Record<string, string> = {
    prefix,
    orgPath: location.organizationId ? `${location.organizationId}/` : '',
  };
  for (const key of spec.partitionKeys) {
    values[key.name] = `\${${key.name}}`;
    if (key.projection === 'enum') {
      const list = key.name === 'account' ? location.accounts : location.regions;
      if (list === undefined || list.length === 0) {
        throw new TypeError(`${source}: ${key.name === 'account' ? 'accounts' : 'regions'} are required`);
      }
      parameters[`projection.${key.name}.type`] = 'enum';
      parameters[`projection.${key.name}.values`] = list.join(',');
    } else {
      parameters[`projection.${key.name}.type`] = 'date';
      parameters[`projection.${key.name}.format`] = key.format ?? '';
      parameters[`projection.${key.name}.range`] = `${location.projectionStart},NOW`;
      parameters[`projection.${key.name}.interval`] = '1';
      parameters[`projection.${key.name}.interval.unit`] = key.intervalUnit ?? 'DAYS';
    }
  }
  const key = spec.keyTemplate.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
  parameters['storage.location.template'] = `s3://${location.bucket}/${key}`;
  const root = source === 'aws-cloudtrail' ? `${prefix}AWSLogs/` : `${prefix}${source}/`;
  return {
    name: location.tableName ?? spec.tableName,
    description: spec.description,
    tableType: 'EXTERNAL_TABLE',
    parameters,
    partitionKeys: spec.partitionKeys.map((k) => ({ name: k.name, type: 'string', comment: k.comment })),
    storageDescriptor: {
      columns: spec.columns.map((c) => ({ name: c.name, type: glueTypeString(c.type) })),
      location: `s3://${location.bucket}/${root}`,
      inputFormat: spec.inputFormat,
      outputFormat: spec.outputFormat,
      serdeInfo: { serializationLibrary: spec.serializationLibrary, parameters: { ...spec.serdeParameters } },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// SQL text: literals, identifiers, LIKE patterns

/** Characters written as `chr(n)`: no raw control or line-breaking character ever sits in the SQL text. */
function isUnprintable(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Replaces every control or line-breaking character (as `isUnprintable`) with `replacement`. */
function replaceUnprintable(value: string, replacement: (char: string) => string): string {
  let out = '';
  for (const char of value) out += isUnprintable(char) ? replacement(char) : char;
  return out;
}

/** Thrown for a value or name that cannot be written into SQL with its meaning intact. */
export class SqlValueError extends Error {
  override readonly name = 'SqlValueError';
}

/**
 * A SQL string literal with exactly the characters of `value`: quotes doubled, control characters as
 * `chr(n)` concatenated (Trino and DuckDB alike), nothing else interpreted. Throws `SqlValueError` for a
 * string with a lone surrogate, which has no UTF-8 form and so no equivalent literal.
 */
export function sqlString(value: string): string {
  if (LONE_SURROGATE.test(value)) throw new SqlValueError('a string with a lone surrogate has no SQL form');
  if (![...value].some(isUnprintable)) return `'${value.replaceAll("'", "''")}'`;
  const parts: string[] = [];
  let run = '';
  for (const char of value) {
    if (isUnprintable(char)) {
      if (run !== '') parts.push(`'${run.replaceAll("'", "''")}'`);
      run = '';
      parts.push(`chr(${char.codePointAt(0)})`);
    } else {
      run += char;
    }
  }
  if (run !== '') parts.push(`'${run.replaceAll("'", "''")}'`);
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' || ')})`;
}

/** The LIKE escape character; `ESCAPE '\'` follows every pattern. */
export const LIKE_ESCAPE = '\\';

/** A LIKE pattern's text for a literal: `\`, `%` and `_` escaped with `LIKE_ESCAPE`. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `${LIKE_ESCAPE}${char}`);
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** A double-quoted identifier; only lower-case Glue names are accepted, so quoting never has to escape. */
export function sqlIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new SqlValueError(`"${name}" is not a Glue name (lower-case letters, digits and _)`);
  }
  return `"${name}"`;
}

// ---------------------------------------------------------------------------------------------------------
// Conditions: a small boolean algebra that keeps SQL readable and only ever widens

type Cond =
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'atom'; readonly sql: string }
  /** `expr` equals one of `values` (raw strings, rendered as literals). */
  | { readonly kind: 'in'; readonly expr: string; readonly values: readonly string[] }
  | { readonly kind: 'and' | 'or'; readonly children: readonly Cond[] };

const TRUE: Cond = { kind: 'const', value: true };
const FALSE: Cond = { kind: 'const', value: false };

function and(children: readonly Cond[]): Cond {
  const flat: Cond[] = [];
  for (const child of children) {
    if (child.kind === 'const') {
      if (!child.value) return FALSE;
      continue;
    }
    if (child.kind === 'and') flat.push(...child.children);
    else flat.push(child);
  }
  // Equalities on one expression intersect exactly.
  const merged: Cond[] = [];
  for (const child of flat) {
    const index =
      child.kind === 'in'
        ? merged.findIndex((other) => other.kind === 'in' && other.expr === child.expr)
        : -1;
    const other = merged[index];
    if (child.kind === 'in' && other !== undefined && other.kind === 'in') {
      const values = other.values.filter((value) => child.values.includes(value));
      if (values.length === 0) return FALSE;
      merged[index] = { kind: 'in', expr: child.expr, values };
    } else {
      merged.push(child);
    }
  }
  const unique = dedupe(merged);
  if (unique.length === 0) return TRUE;
  return unique.length === 1 ? (unique[0] as Cond) : { kind: 'and', children: unique };
}

function or(children: readonly Cond[]): Cond {
  const flat: Cond[] = [];
  for (const child of children) {
    if (child.kind === 'const') {
      if (child.value) return TRUE;
      continue;
    }
    if (child.kind === 'or') flat.push(...child.children);
    else flat.push(child);
  }
  const merged: Cond[] = [];
  for (const child of flat) {
    const index =
      child.kind === 'in'
        ? merged.findIndex((other) => other.kind === 'in' && other.expr === child.expr)
        : -1;
    const other = merged[index];
    if (child.kind === 'in' && other !== undefined && other.kind === 'in') {
      merged[index] = {
        kind: 'in',
        expr: child.expr,
        values: [...other.values, ...child.values.filter((value) => !other.values.includes(value))],
      };
    } else {
      merged.push(child);
    }
  }
  const unique = dedupe(merged);
  if (unique.length === 0) return FALSE;
  return unique.length === 1 ? (unique[0] as Cond) : { kind: 'or', children: unique };
}

function dedupe(conds: readonly Cond[]): Cond[] {
  const seen = new Set<string>();
  return conds.filter((cond) => {
    const key = renderCond(cond, '');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function renderCond(cond: Cond, indent: string): string {
  switch (cond.kind) {
    case 'const':
      return cond.value ? 'TRUE' : 'FALSE';
    case 'atom':
      return cond.sql;
    case 'in':
      return cond.values.length === 1
        ? `${cond.expr} = ${sqlString(cond.values[0] as string)}`
        : `${cond.expr} IN (${cond.values.map(sqlString).join(', ')})`;
    case 'and':
    case 'or': {
      const inner = `${indent}  `;
      const operator = cond.kind === 'and' ? 'AND' : 'OR';
      return cond.children
        .map((child) =>
          child.kind === 'and' || child.kind === 'or'
            ? `(\n${inner}${renderCond(child, inner)}\n${indent})`
            : renderCond(child, indent),
        )
        .join(`\n${indent}${operator} `);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raw paths → SQL expressions

type PathExpr =
  | { readonly kind: 'sql'; readonly sql: string }
  /** No rebuilt record ever holds a string there: a condition on it never holds. */
  | { readonly kind: 'absent' }
  /** The path exists but SQL over this table cannot read it as a string: widen. */
  | { readonly kind: 'unsupported'; readonly reason: string };

const JSON_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A key `["…"]` can hold: no quote, backslash, bracket or control character. */
function isBracketKey(segment: string): boolean {
  return segment.length > 0 && !/["\\\]]/.test(segment) && ![...segment].some(isUnprintable);
}

/** A Trino JSONPath for `segments`: `$.a.b`, with `["x.y"]` for keys that are not plain names. */
function jsonPath(segments: readonly string[]): string | undefined {
  let path = '$';
  for (const segment of segments) {
    if (JSON_KEY.test(segment)) path += `.${segment}`;
    else if (isBracketKey(segment)) path += `["${segment}"]`;
    else return undefined;
  }
  return path;
}

function jsonScalar(column: string, segments: readonly string[]): PathExpr {
  const path = jsonPath(segments);
  if (path === undefined)
    return { kind: 'unsupported', reason: `key ${JSON.stringify(segments)} has no JSONPath` };
  return { kind: 'sql', sql: `json_extract_scalar(${sqlIdentifier(column)}, ${sqlString(path)})` };
}

/** The SQL for the string at a raw path (formatted as in `RAW_FIELDS`) of the records of `source`. */
function rawPathExpr(source: SourceName, path: string): PathExpr {
  let segments: string[];
  try {
    segments = parsePath(path);
  } catch {
    return { kind: 'unsupported', reason: `unreadable raw path ${path}` };
  }
  if (source !== 'aws-cloudtrail') return jsonScalar(LAKE_RECORD_COLUMN.name, segments);
  const [first, ...rest] = segments;
  const column = CLOUDTRAIL_COLUMNS.find((c) => c.json === first);
  if (column === undefined) return { kind: 'absent' };
  let sql = sqlIdentifier(column.name);
  let current: GlueField = column;
  for (let i = 0; i < rest.length; i += 1) {
    const segment = rest[i] as string;
    const type: GlueType = current.type;
    if (type.kind === 'string') {
      // Below a string column only JSON text has keys (requestParameters.userName).
      return current.decode === 'json' && i === 0 ? jsonScalar(column.name, rest) : { kind: 'absent' };
    }
    if (type.kind !== 'struct') return { kind: 'unsupported', reason: `${path} is inside a ${type.kind}` };
    const next = type.fields.find((f) => f.json === segment);
    if (next === undefined) return { kind: 'absent' };
    sql += `.${sqlIdentifier(next.name)}`;
    current = next;
  }
  if (current.type.kind !== 'string') return { kind: 'absent' };
  if (current.decode === 'boolean')
    return { kind: 'unsupported', reason: `${path} is read back as a boolean` };
  return { kind: 'sql', sql };
}

// ---------------------------------------------------------------------------------------------------------
// AST → condition

/** What a compiled pre-filter cannot express exactly (it accepts more there), for reviewers. */
type Widen = (reason: string) => Cond;

function compileNode(node: KqlNode, source: SourceName, widen: Widen): Cond {
  switch (node.type) {
    case 'and':
      return and(node.children.map((child) => compileNode(child, source, widen)));
    case 'or':
      return or(node.children.map((child) => compileNode(child, source, widen)));
    case 'not':
      return widen('negation (not …)');
    case 'is':
      return compileIs(node, source, widen);
    case 'range':
      return widen(`range on ${node.field.value}`);
    case 'exists':
      return widen(`exists (${node.field.value}:*)`);
    case 'nested':
      return widen(`nested query on ${node.path}`);
    case 'all':
      return TRUE;
  }
}

function compileIs(node: KqlIsNode, source: SourceName, widen: Widen): Cond {
  if (node.field === null) return widen('free text (a value without a field)');
  if (node.field.kind === 'wildcard') return widen(`wildcard field name ${node.field.value}`);
  const fieldName = node.field.value;
  if (node.value.kind === 'wildcard') return compileWildcard(source, fieldName, node.value, widen);
  const matches = rawMatchesFor(source, fieldName, node.value.value);
  if (matches === undefined) return widen(`${fieldName} (no raw mapping in the catalog)`);
  return or(matches.map((match) => compileMatch(source, match, widen)));
}

function compileMatch(source: SourceName, match: RawMatch, widen: Widen): Cond {
  const expr = rawPathExpr(source, match.path);
  if (expr.kind === 'absent') return FALSE;
  if (expr.kind === 'unsupported') return widen(expr.reason);
  if (LONE_SURROGATE.test(match.value)) return widen(`${match.path}: a value with a lone surrogate`);
  const ignoreCase = match.op.endsWith('IgnoreCase');
  if (ignoreCase && !isAscii(match.value)) {
    // JavaScript's and Trino's lower-casing differ outside ASCII (İ, final sigma): no sound translation.
    return widen(`${match.path} compared without case to a non-ASCII value`);
  }
  const subject = ignoreCase ? `lower(${expr.sql})` : expr.sql;
  const value = ignoreCase ? match.value.toLowerCase() : match.value;
  switch (match.op) {
    case 'equals':
      return { kind: 'in', expr: expr.sql, values: [value] };
    case 'equalsIgnoreCase':
      return { kind: 'in', expr: subject, values: [value] };
    case 'prefix':
    case 'prefixIgnoreCase':
      return like(subject, `${escapeLike(value)}%`);
    case 'suffixIgnoreCase':
      return like(subject, `%${escapeLike(value)}`);
    default:
      return widen(`${match.path} compared by ${String((match as RawMatch).op)}`);
  }
}

function like(subject: string, pattern: string): Cond {
  return { kind: 'atom', sql: `${subject} LIKE ${sqlString(pattern)} ESCAPE ${sqlString(LIKE_ESCAPE)}` };
}

/**
 * A wildcard value becomes `LIKE` on the raw paths only where the catalog copies the field verbatim: every
 * probe instantiating the wildcard maps to exact, verbatim raw values on the same paths, and so does every
 * catalogued value the wildcard matches (which catches special cases such as GCP's `SetIamPolicy`).
 */
function compileWildcard(
  source: SourceName,
  fieldName: string,
  value: KqlWildcardPattern,
  widen: Widen,
): Cond {
  const paths = verbatimPaths(source, fieldName, value.parts);
  if (paths === undefined)
    return widen(`${fieldName}:${value.value} (the catalog does not copy it verbatim)`);
  if (value.parts.some((part) => LONE_SURROGATE.test(part))) return widen(`${fieldName}: a lone surrogate`);
  const pattern = value.parts.map(escapeLike).join('%');
  return or(
    paths.map((path) => {
      const expr = rawPathExpr(source, path);
      if (expr.kind === 'absent') return FALSE;
      if (expr.kind === 'unsupported') return widen(expr.reason);
      return like(expr.sql, pattern);
    }),
  );
}

function verbatimPaths(
  source: SourceName,
  fieldName: string,
  parts: readonly string[],
): string[] | undefined {
  const probes = ['a', 'Z9', '-x.y', '/q', 'é', ''].map((extra) => parts.join(extra)).filter((p) => p !== '');
  const matcher = globMatcher(parts);
  const known = catalogValues(fieldName).filter(matcher);
  let paths: string | undefined;
  for (const [value, mayBeImpossible] of [
    ...probes.map((probe): [string, boolean] => [probe, false]),
    ...known.map((value): [string, boolean] => [value, true]),
  ]) {
    const found = verbatimOn(source, fieldName, value);
    if (found === undefined) return undefined;
    if (found.length === 0) {
      if (!mayBeImpossible) return undefined;
      continue;
    }
    const key = found.join('\n');
    if (paths === undefined) paths = key;
    else if (key !== paths) return undefined;
  }
  return paths === undefined ? undefined : paths.split('\n');
}

/** The paths holding `value` verbatim (`[]`: no record can produce it), or undefined when not verbatim. */
function verbatimOn(source: SourceName, fieldName: string, value: string): string[] | undefined {
  const matches = rawMatchesFor(source, fieldName, value);
  if (matches === undefined) return undefined;
  if (matches.some((match) => match.op !== 'equals' || match.value !== value)) return undefined;
  return [...new Set(matches.map((match) => match.path))].sort();
}

/** Every value the catalog names for a field: its closed domain, and for actions every closed action list. */
function catalogValues(fieldName: string): string[] {
  const values = new Set(producibleValues(fieldName)?.values ?? []);
  if (fieldName === 'event.action') {
    for (const provider of producibleValues('event.provider')?.values ?? []) {
      for (const action of producibleActions(provider)?.values ?? []) values.add(action);
    }
    values.add(GCP_IAM_POLICY_WRITE.action);
    for (const action of AWS_INSIGHTS.actions) values.add(action);
  }
  return [...values];
}

/** KQL's anchored `*` glob over literal parts, without a RegExp. */
function globMatcher(parts: readonly string[]): (value: string) => boolean {
  return (value) => {
    const first = parts[0] ?? '';
    const last = parts[parts.length - 1] ?? '';
    if (!value.startsWith(first)) return false;
    let position = first.length;
    for (let i = 1; i < parts.length - 1; i += 1) {
      const found = value.indexOf(parts[i] as string, position);
      if (found === -1) return false;
      position = found + (parts[i] as string).length;
    }
    return value.length - last.length >= position && value.endsWith(last);
  };
}

/** A rule's pre-filter for one source, before time and partitions are added. */
export interface CompiledSweepFilter {
  readonly source: SourceName;
  /** The condition, as SQL (`TRUE` when nothing narrows it). */
  readonly sql: string;
  /** No record of this source can match: the sweep need not query it at all. */
  readonly impossible: boolean;
  /** What the filter does not express (it accepts more there); empty when exact up to the catalog. */
  readonly widened: readonly string[];
}

/** Compiles a rule's AST to the WHERE condition over the raw table of `source`. */
export function compileSweepFilter(ast: KqlNode, source: SourceName): CompiledSweepFilter {
  const { cond, widened } = filterCondition(ast, source);
  return {
    source,
    sql: renderCond(cond, ''),
    impossible: cond.kind === 'const' && !cond.value,
    widened,
  };
}

function filterCondition(ast: KqlNode, source: SourceName): { cond: Cond; widened: string[] } {
  const widened: string[] = [];
  const widen: Widen = (reason) => {
    if (!widened.includes(reason)) widened.push(reason);
    return TRUE;
  };
  return { cond: compileNode(ast, source, widen), widened };
}

// ---------------------------------------------------------------------------------------------------------
// The whole query

/** A half-open window of event time, epoch milliseconds or dates. */
export interface SweepWindow {
  readonly start: Date | number;
  readonly end: Date | number;
}

export interface SweepQueryOptions {
  readonly names?: SweepTableNames;
  /**
   * How long after its event a record can land in its partition (CloudTrail delivery, Firehose arrival).
   * Partitions up to `end + slack` are scanned, and a row whose time lies more than this before its
   * partition is treated as having no usable time. The sweep passes its lag.
   * @default 15 minutes
   */
  readonly deliverySlackMs?: number;
}

/** What the sweep needs of a rule to query for it; the rules module's `Rule` satisfies it. */
export interface SweepSqlRule {
  readonly id: string;
  readonly name?: string;
  readonly query?: string;
  readonly sources: readonly SourceName[];
  readonly ast: KqlNode;
}

export interface SweepQuery {
  readonly ruleId: string;
  readonly source: SourceName;
  readonly start: number;
  readonly end: number;
  /** The statement, without comments or a trailing semicolon (what StartQueryExecution receives). */
  readonly sql: string;
  /** No record of this source can match the rule: nothing to query. */
  readonly impossible: boolean;
  readonly widened: readonly string[];
}

export const DEFAULT_DELIVERY_SLACK_MS = 15 * 60 * 1000;

/** The column of every result row holding the object the row was read from (Athena's `"$path"`). */
export const SOURCE_PATH_COLUMN = 'source_path';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Compiles the sweep's statement for one rule, source and window. */
export function compileSweepQuery(
  rule: SweepSqlRule,
  source: SourceName,
  window: SweepWindow,
  options: SweepQueryOptions = {},
): SweepQuery {
  const start = toMs(window.start);
  const end = toMs(window.end);
  if (!(end > start)) throw new RangeError(`the window must end after it starts (${start} … ${end})`);
  const slack = options.deliverySlackMs ?? DEFAULT_DELIVERY_SLACK_MS;
  if (!(slack >= 0)) throw new RangeError('deliverySlackMs must not be negative');
  const names = options.names ?? DEFAULT_SWEEP_TABLE_NAMES;
  const spec = SWEEP_TABLES[source];
  const filter = filterCondition(rule.ast, source);
  const impossible = filter.cond.kind === 'const' && !filter.cond.value;
  const partition = spec.partitionKeys.find((key) => key.name === spec.timePartition) as SweepPartitionKey;
  const granularity = partition.intervalUnit === 'HOURS' ? HOUR_MS : DAY_MS;
  const firstPartition = formatPartition(partition, start);
  const lastPartition = formatPartition(partition, end + slack - 1);
  const partitionColumn = sqlIdentifier(partition.name);
  const partitionStart = `date_parse(${partitionColumn}, ${sqlString(trinoDateFormat(partition))})`;

  const select =
    source === 'aws-cloudtrail'
      ? CLOUDTRAIL_COLUMNS.map((column) =>
          column.type.kind === 'string'
            ? sqlIdentifier(column.name)
            : `json_format(CAST(${sqlIdentifier(column.name)} AS JSON)) AS ${sqlIdentifier(column.name)}`,
        )
      : [sqlIdentifier(LAKE_RECORD_COLUMN.name)];
  // A lake line without the field every record of the source must have is not a bare record (a batch
  // wrapper, an array): it is kept whatever the rule says, and decoded as the real-time path does.
  const ruleCondition = source === 'aws-cloudtrail' ? filter.cond : or([notABareRecord(source), filter.cond]);

  const sql = [
    `SELECT ${SOURCE_PATH_COLUMN},`,
    `  ${select.join(',\n  ')}`,
    'FROM (',
    `  SELECT *, "$path" AS ${SOURCE_PATH_COLUMN},`,
    `    ${eventTimeExpression(source)} AS sweep_event_time,`,
    `    ${partitionStart} AS sweep_partition_start`,
    `  FROM ${sqlIdentifier(names.database)}.${sqlIdentifier(names.tables[source])}`,
    `  WHERE ${partitionColumn} BETWEEN ${sqlString(firstPartition)} AND ${sqlString(lastPartition)}`,
    ') AS swept',
    'WHERE (',
    '    sweep_event_time IS NULL',
    `    OR (sweep_event_time >= ${timestampLiteral(start)} AND sweep_event_time < ${timestampLiteral(end)})`,
    `    OR sweep_event_time < sweep_partition_start - ${interval(slack)}`,
    `    OR sweep_event_time >= sweep_partition_start + ${interval(granularity)}`,
    '  )',
    '  AND (',
    `    ${renderCond(ruleCondition, '    ')}`,
    '  )',
  ].join('\n');
  return {
    ruleId: rule.id,
    source,
    start,
    end,
    sql,
    impossible,
    widened: filter.widened,
  };
}

/**
 * True for a line that cannot be a bare record of `source`: no string at any path `event.action` is read
 * from (Azure `operationName`, `operationName.value`; GCP `protoPayload.methodName`), which the normalizer
 * requires. TRUE (keep every line) when there is no such path.
 */
function notABareRecord(source: SourceName): Cond {
  const paths = RAW_FIELDS[source]['event.action'] ?? [];
  const tests: Cond[] = [];
  for (const path of paths) {
    const expr = rawPathExpr(source, path);
    if (expr.kind !== 'sql') return TRUE;
    tests.push({ kind: 'atom', sql: `${expr.sql} IS NULL` });
  }
  return tests.length === 0 ? TRUE : and(tests);
}

/** The event time as the normalizer reads it: the first of `RAW_FIELDS['@timestamp']` that parses. */
function eventTimeExpression(source: SourceName): string {
  const parsed = (RAW_FIELDS[source]['@timestamp'] ?? []).flatMap((path) => {
    const expr = rawPathExpr(source, path);
    return expr.kind === 'sql' ? [`try(from_iso8601_timestamp(${expr.sql}))`] : [];
  });
  if (parsed.length === 0) return 'CAST(NULL AS timestamp)';
  return parsed.length === 1 ? (parsed[0] as string) : `coalesce(${parsed.join(', ')})`;
}

function timestampLiteral(ms: number): string {
  return `from_iso8601_timestamp(${sqlString(new Date(ms).toISOString())})`;
}

function interval(ms: number): string {
  if (ms > 0 && ms % DAY_MS === 0) return `INTERVAL '${ms / DAY_MS}' DAY`;
  if (ms > 0 && ms % HOUR_MS === 0) return `INTERVAL '${ms / HOUR_MS}' HOUR`;
  if (ms % 60_000 === 0) return `INTERVAL '${ms / 60_000}' MINUTE`;
  return `INTERVAL '${Math.ceil(ms / 1000)}' SECOND`;
}

/** The partition value holding instant `ms` (UTC). */
function formatPartition(key: SweepPartitionKey, ms: number): string {
  const iso = new Date(ms).toISOString();
  const [date = '', time = ''] = iso.split('T');
  const [year, month, day] = date.split('-');
  return key.format === 'yyyy-MM-dd-HH'
    ? `${year}-${month}-${day}-${time.slice(0, 2)}`
    : `${year}/${month}/${day}`;
}

/** The partition format in `date_parse`'s (MySQL) notation. */
function trinoDateFormat(key: SweepPartitionKey): string {
  return key.format === 'yyyy-MM-dd-HH' ? '%Y-%m-%d-%H' : '%Y/%m/%d';
}

function toMs(value: Date | number): number {
  return typeof value === 'number' ? value : value.getTime();
}

// ---------------------------------------------------------------------------------------------------------
// For people: the statements of a retrospective, ready to paste

export interface RenderedSweepSql {
  readonly ruleId: string;
  readonly source: SourceName;
  /** The statement with its explanatory comment header and a trailing `;`. */
  readonly sql: string;
  /** No record of this source can match: the statement is only a comment saying so. */
  readonly impossible: boolean;
  readonly widened: readonly string[];
}

/**
 * Per rule and source, the sweep's own statement for `[start, end)`, commented for the Athena console (the
 * seed's 30-day retrospective, auditors). Comment text is flattened to one line per comment so no rule
 * name or query can break out of it.
 */
export function renderSweepSql(
  rules: readonly SweepSqlRule[],
  window: SweepWindow,
  options: SweepQueryOptions = {},
): RenderedSweepSql[] {
  const out: RenderedSweepSql[] = [];
  for (const rule of rules) {
    for (const source of rule.sources) {
      const query = compileSweepQuery(rule, source, window, options);
      const header = [
        `${rule.name ?? rule.id} (${rule.id}): ${source}`,
        `Event time [${new Date(query.start).toISOString()}, ${new Date(query.end).toISOString()})`,
        ...(rule.query === undefined ? [] : [`Rule query: ${rule.query.trim()}`]),
        'The WHERE clause is a pre-filter: it keeps every record the rule matches and may keep more;',
        'run the selected records through the detector (or read them) to decide.',
        ...query.widened.map((reason) => `Not narrowed by: ${reason}`),
      ].map((line) => `-- ${commentText(line)}`);
      const body = query.impossible
        ? `-- No ${source} record can match this rule: nothing to query.`
        : `${query.sql};`;
      out.push({
        ruleId: rule.id,
        source,
        sql: `${header.join('\n')}\n${body}\n`,
        impossible: query.impossible,
        widened: query.widened,
      });
    }
  }
  return out;
}

function commentText(text: string): string {
  return replaceUnprintable(text, () => ' ').slice(0, 2000);
}

// ---------------------------------------------------------------------------------------------------------
// Result rows → raw records

/** One result row by column name; `null` is SQL NULL. */
export type SweepRow = Readonly<Record<string, string | null | undefined>>;

/** A row turned back into what the normalizers read. */
export interface RowRecord {
  /** A CloudTrail record, or the parsed lake line (a bare record, or a wrapper `recordsFromDocument` unwraps). */
  readonly document: unknown;
  /** The S3 object the row came from, when the query selected it. */
  readonly objectPath?: string;
}

/** A result row that cannot be turned into a record. */
export class SweepRowError extends Error {
  override readonly name = 'SweepRowError';
  readonly column: string;

  constructor(column: string, message: string, options?: { cause?: unknown }) {
    super(`${column}: ${message}`, options);
    this.column = column;
  }
}

/**
 * Rebuilds a raw record from a result row of `compileSweepQuery`. CloudTrail rows become a record with the
 * vendor's key spelling (`sourceIPAddress`, `userIdentity.sessionContext.sessionIssuer.userName`), nested
 * JSON text parsed back (`requestParameters`), `readOnly` a boolean again and SQL NULLs left out. Struct
 * columns arrive as JSON objects (Trino) or positional arrays (older engines); both are read. A lake row is
 * its parsed line. Throws `SweepRowError`.
 */
export function recordFromRow(source: SourceName, row: SweepRow): RowRecord {
  const objectPath = row[SOURCE_PATH_COLUMN] ?? undefined;
  const located = objectPath === undefined ? {} : { objectPath };
  if (source !== 'aws-cloudtrail') {
    const line = row[LAKE_RECORD_COLUMN.name];
    if (line === null || line === undefined) throw new SweepRowError(LAKE_RECORD_COLUMN.name, 'is NULL');
    try {
      return { document: JSON.parse(line), ...located };
    } catch (error) {
      throw new SweepRowError(LAKE_RECORD_COLUMN.name, 'is not JSON', { cause: error });
    }
  }
  const entries: [string, unknown][] = [];
  for (const column of CLOUDTRAIL_COLUMNS) {
    const text = row[column.name];
    if (text === null || text === undefined) continue;
    const value = column.type.kind === 'string' ? decodeText(column, text) : decodeComplex(column, text);
    if (value !== undefined) entries.push([column.json, value]);
  }
  return { document: Object.fromEntries(entries), ...located };
}

function decodeText(column: GlueField, text: string): unknown {
  if (column.decode === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  if (column.decode === 'json') {
    const first = text.trimStart()[0];
    if (first === '{' || first === '[') {
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
  }
  return text;
}

function decodeComplex(column: GlueField, text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SweepRowError(column.name, 'is not the JSON of its struct', { cause: error });
  }
  return fromJson(parsed, column.type);
}

/** A value of a complex column, with the record's key spelling and without nulls. */
function fromJson(value: unknown, type: GlueType): unknown {
  if (value === null || value === undefined) return undefined;
  switch (type.kind) {
    case 'string':
      return typeof value === 'string'
        ? value
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
    case 'array':
      return Array.isArray(value) ? value.map((item) => fromJson(item, type.element) ?? null) : undefined;
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) return undefined;
      const entries = Object.entries(value).flatMap(([key, item]): [string, unknown][] => {
        const converted = fromJson(item, type.value);
        return converted === undefined ? [] : [[key, converted]];
      });
      return Object.fromEntries(entries);
    }
    case 'struct': {
      if (typeof value !== 'object') return undefined;
      const entries: [string, unknown][] = [];
      type.fields.forEach((f, index) => {
        const item = Array.isArray(value)
          ? value[index]
          : Object.hasOwn(value, f.name)
            ? (value as Record<string, unknown>)[f.name]
            : undefined;
        const converted = fromJson(item, f.type);
        if (converted !== undefined) entries.push([f.json, converted]);
      });
      return Object.fromEntries(entries);
    }
  }
}
