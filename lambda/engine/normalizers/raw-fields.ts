/**
 * What the pre-filter compilers (EventBridge pattern, Athena WHERE clause, raw-byte filter) need to
 * know about raw records, derived from the normalizers' own tables and the catalog so there is one
 * place that knows that `eventName` becomes `event.action`. A pre-filter must accept every record
 * the predicate accepts; these functions only ever over-approximate.
 */
import type { SourceName } from '../ecs';
import { AZURE_ACTIVITY_FIELDS } from './azure-activity';
import {
  AWS_EVENT_SOURCE_SHAPE,
  AWS_INSIGHTS,
  AZURE_NAMESPACE_SHAPE,
  awsEventSourcesFor,
  awsService,
  azureNamespace,
  GCP_IAM_POLICY_WRITE,
  isSetIamPolicyMethod,
} from './catalog';
import { CLOUDTRAIL_FIELDS } from './cloudtrail';
import { CatalogError } from './errors';
import { type FieldRule, formatPath } from './fields';
import { GCP_AUDIT_FIELDS } from './gcp-audit';

function rawFieldsOf(rules: readonly FieldRule[]): Record<string, string[]> {
  const out: Record<string, string[]> = { 'event.dataset': [], 'event.kind': [], 'cloud.provider': [] };
  for (const rule of rules) {
    const paths = out[rule.ecs] ?? [];
    for (const path of rule.raw) {
      const formatted = formatPath(path);
      if (!paths.includes(formatted)) paths.push(formatted);
    }
    out[rule.ecs] = paths;
  }
  return out;
}

/**
 * For each source, ECS field → the raw JSON paths it is read from, relative to the record (for
 * EventBridge, relative to `detail`). Paths are dot-separated; a key containing a dot is written
 * `["..."]` (Azure claim URIs). A field below one whose raw value is kept whole (e.g.
 * `aws.cloudtrail.user_identity.type`) comes from the same path below it (`userIdentity.type`).
 * Constant fields (`event.dataset`, `event.kind`, `cloud.provider`) map to `[]`.
 */
export const RAW_FIELDS: Record<SourceName, Record<string, string[]>> = {
  'aws-cloudtrail': rawFieldsOf(CLOUDTRAIL_FIELDS),
  'azure-activity-logs': rawFieldsOf(AZURE_ACTIVITY_FIELDS),
  'gcp-audit-logs': rawFieldsOf(GCP_AUDIT_FIELDS),
};

/** How a raw string is compared with `RawMatch.value`. */
export type RawMatchOp = 'equals' | 'equalsIgnoreCase' | 'prefix' | 'prefixIgnoreCase' | 'suffixIgnoreCase';

/** One raw condition: the string at `path` (formatted as in `RAW_FIELDS`) compared with `value`. */
export interface RawMatch {
  readonly path: string;
  readonly op: RawMatchOp;
  readonly value: string;
  /**
   * Set when the records this condition accounts for all normalize to this `event.provider`: CloudTrail
   * Insights records take `event.action` from `insightDetails.insightType`, and their provider is always
   * `AWS CloudTrail Insights`. Where a query also requires another provider, a compiler may leave the
   * condition out (`lambda/engine/compile/providers.ts`; the literal pre-filter and the EventBridge pattern
   * do, so `event.provider:"AWS IAM" and event.action:X` looks for no insight); ignoring the tag is sound
   * too (the Athena SQL has no need: the trail table holds no insights).
   */
  readonly provider?: string;
}

/** Reference semantics of `RawMatchOp`, for compilers' tests and the raw-byte filter. */
export function rawMatchHolds(match: RawMatch, raw: string): boolean {
  switch (match.op) {
    case 'equals':
      return raw === match.value;
    case 'equalsIgnoreCase':
      return raw.toLowerCase() === match.value.toLowerCase();
    case 'prefix':
      return raw.startsWith(match.value);
    case 'prefixIgnoreCase':
      return raw.toLowerCase().startsWith(match.value.toLowerCase());
    case 'suffixIgnoreCase':
      return raw.toLowerCase().endsWith(match.value.toLowerCase());
  }
}

const AZURE_OPERATION_PATHS = ['operationName', 'operationName.value'];
const GCP_SERVICE = 'protoPayload.serviceName';
const GCP_METHOD = 'protoPayload.methodName';
const SOURCE_CLOUD: Record<SourceName, string> = {
  'aws-cloudtrail': 'aws',
  'azure-activity-logs': 'azure',
  'gcp-audit-logs': 'gcp',
};

const setIamPolicyMatches: readonly RawMatch[] = [
  { path: GCP_METHOD, op: 'equalsIgnoreCase', value: GCP_IAM_POLICY_WRITE.action },
  { path: GCP_METHOD, op: 'suffixIgnoreCase', value: `.${GCP_IAM_POLICY_WRITE.action}` },
];

/**
 * The raw conditions under which a record of `source` can normalize to `field = ecsValue`: the
 * record can only produce that value if at least one condition holds, so a pre-filter that accepts
 * exactly the records satisfying one of them is sound. `[]` means no record of this source can
 * produce the value (e.g. `event.provider: "iam.amazonaws.com"`, which the catalog always renames);
 * `undefined` means the catalog does not constrain the field and the pre-filter must accept all.
 */
export function rawMatchesFor(
  source: SourceName,
  field: string,
  ecsValue: string,
): readonly RawMatch[] | undefined {
  if (field === 'event.dataset') return ecsValue === source ? undefined : [];
  if (field === 'cloud.provider') return ecsValue === SOURCE_CLOUD[source] ? undefined : [];
  if (field === 'event.kind') return ecsValue === 'event' ? undefined : [];
  switch (source) {
    case 'aws-cloudtrail':
      return awsMatches(field, ecsValue);
    case 'azure-activity-logs':
      return azureMatches(field, ecsValue);
    case 'gcp-audit-logs':
      return gcpMatches(field, ecsValue);
  }
}

function awsMatches(field: string, value: string): readonly RawMatch[] | undefined {
  if (field === 'event.action') {
    return [
      { path: 'eventName', op: 'equals', value },
      { path: 'insightDetails.insightType', op: 'equals', value, provider: AWS_INSIGHTS.provider },
    ];
  }
  if (field !== 'event.provider') return undefined;
  const matches: RawMatch[] = awsEventSourcesFor(value).map((eventSource) => ({
    path: 'eventSource',
    op: 'equals',
    value: eventSource,
  }));
  if (value === AWS_INSIGHTS.provider)
    matches.push({ path: 'eventType', op: 'equals', value: AWS_INSIGHTS.eventType });
  if (awsService(value) === undefined && AWS_EVENT_SOURCE_SHAPE.test(value)) {
    matches.push({ path: 'eventSource', op: 'equals', value });
  }
  return matches;
}

function azureMatches(field: string, value: string): readonly RawMatch[] | undefined {
  if (field === 'event.provider') {
    const entry = azureNamespace(value);
    if (entry !== undefined) {
      if (entry.namespace !== value) return [];
      return AZURE_OPERATION_PATHS.map((path) => ({ path, op: 'prefixIgnoreCase', value: `${value}/` }));
    }
    if (!AZURE_NAMESPACE_SHAPE.test(value)) return [];
    return AZURE_OPERATION_PATHS.map((path) => ({ path, op: 'prefix', value: `${value}/` }));
  }
  if (field === 'event.action') {
    if (value.length === 0) return [];
    return AZURE_OPERATION_PATHS.flatMap((path): RawMatch[] => [
      { path, op: 'suffixIgnoreCase', value: `/${value}` },
      { path, op: 'suffixIgnoreCase', value: `/${value}/action` },
    ]);
  }
  return undefined;
}

function gcpMatches(field: string, value: string): readonly RawMatch[] | undefined {
  if (field === 'event.action') {
    if (value === GCP_IAM_POLICY_WRITE.action) return setIamPolicyMatches;
    if (isSetIamPolicyMethod(value)) return [];
    return [{ path: GCP_METHOD, op: 'equals', value }];
  }
  if (field !== 'event.provider') return undefined;
  if (!value.startsWith('gcp.')) return [];
  const label = value.slice(4);
  if (label.length === 0 || label.includes('.')) return [];
  const byService: RawMatch[] = [
    { path: GCP_SERVICE, op: 'equals', value: label },
    { path: GCP_SERVICE, op: 'prefix', value: `${label}.` },
  ];
  return value === GCP_IAM_POLICY_WRITE.provider ? [...byService, ...setIamPolicyMatches] : byService;
}

/**
 * Every raw value that normalizes to `ecsValue`, for fields mapped by exact equality (CloudTrail's
 * `eventSource`/`eventName`, GCP method names): `('aws-cloudtrail', 'event.provider', 'AWS IAM')` →
 * `['iam.amazonaws.com']`. Azure operation names and GCP IAM-policy writes are matched without
 * regard to case or by prefix/suffix, and no finite list is complete for them; rather than return a
 * list a pre-filter would silently under-accept with, this throws a `CatalogError` pointing to
 * `rawMatchesFor`. It also throws for fields the catalog does not constrain.
 */
export function rawValuesFor(source: SourceName, field: string, ecsValue: string): string[] {
  const matches = rawMatchesFor(source, field, ecsValue);
  if (matches === undefined) {
    throw new CatalogError(
      field,
      `not constrained by the catalog for ${source}; a pre-filter must accept every record`,
    );
  }
  const inexact = matches.find((match) => match.op !== 'equals');
  if (inexact !== undefined) {
    throw new CatalogError(
      field,
      `${source} "${ecsValue}" is matched by ${inexact.op} on ${inexact.path}, not by a list of values; use rawMatchesFor`,
    );
  }
  return [...new Set(matches.map((match) => match.value))];
}
