/**
 * Typed access to `catalog.json`, the reviewed vocabulary that turns vendor names into the values the
 * rules are written against (`iam.amazonaws.com` → `AWS IAM`, `MICROSOFT.AUTHORIZATION` →
 * `Microsoft.Authorization`, `*.SetIamPolicy` → `gcp.iam`/`SetIamPolicy`). The JSON is checked once at
 * load and indexed into maps, so the per-event lookups are a single `Map.get`.
 */
import catalog from './catalog.json';
import { CatalogError } from './errors';

/** One `aws.services[]` entry: a CloudTrail `eventSource` and its display name. */
export interface AwsServiceEntry {
  readonly id: string;
  readonly eventSource: string;
  readonly provider: string;
}

/** One `azure.namespaces[]` entry, indexed for case-insensitive lookups. */
export interface AzureNamespaceEntry {
  readonly id: string;
  /** Canonical casing, e.g. `Microsoft.Authorization`. */
  readonly namespace: string;
  /** Lower-cased action path (trailing `/action` already dropped) → canonical casing. */
  readonly actions: ReadonlyMap<string, string>;
  readonly actionsClosed: boolean;
}

/** One `gcp.services[]` entry: a `serviceName` and its `gcp.*` provider. */
export interface GcpServiceEntry {
  readonly id: string;
  readonly serviceName: string;
  readonly provider: string;
}

/** CloudTrail Insights: records about call rates, not calls. */
export const AWS_INSIGHTS: {
  readonly id: string;
  readonly eventType: string;
  readonly provider: string;
  readonly actions: readonly string[];
} = catalog.aws.insights;

/** The GCP rule that makes every IAM-policy write an IAM event, whatever service logged it. */
export const GCP_IAM_POLICY_WRITE: {
  readonly id: string;
  readonly provider: string;
  readonly action: string;
  /** Lower-cased, compared against the lower-cased last dotted component of `methodName`. */
  readonly lastComponentLower: string;
} = {
  id: catalog.gcp.iamPolicyWrite.id,
  provider: catalog.gcp.iamPolicyWrite.provider,
  action: catalog.gcp.iamPolicyWrite.action,
  lastComponentLower: catalog.gcp.iamPolicyWrite.methodLastComponent.toLowerCase(),
};

/**
 * What a CloudTrail `eventSource` must look like to be passed through: a host name, so a raw value
 * can never collide with a display name such as `AWS IAM`.
 */
export const AWS_EVENT_SOURCE_SHAPE = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;
/** What the first segment of an Azure resource-provider operation looks like (`Publisher.Service`). */
export const AZURE_NAMESPACE_SHAPE = /^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+$/;

/** Provenance value when no catalog entry produced the provider. */
export const FALLBACK_ENTRY = 'fallback';
/** Provenance value when the action is the raw vendor value, unchanged. */
export const PASSTHROUGH_ENTRY = 'passthrough';

// Load and check ------------------------------------------------------------------------------------

const ids = new Set<string>();
function claimId(id: string): void {
  if (ids.has(id)) throw new CatalogError(id, 'duplicate catalog entry id');
  ids.add(id);
}

const awsByEventSource = new Map<string, AwsServiceEntry>();
for (const entry of catalog.aws.services) {
  claimId(entry.id);
  if (awsByEventSource.has(entry.eventSource))
    throw new CatalogError(entry.id, `duplicate ${entry.eventSource}`);
  if (!AWS_EVENT_SOURCE_SHAPE.test(entry.eventSource))
    throw new CatalogError(entry.id, 'eventSource is not a host name');
  // A display name shaped like a host could also arrive raw and be passed through: keep them apart.
  if (AWS_EVENT_SOURCE_SHAPE.test(entry.provider))
    throw new CatalogError(entry.id, 'display name looks like an eventSource');
  awsByEventSource.set(entry.eventSource, entry);
}
claimId(AWS_INSIGHTS.id);
const awsEventSourcesByProvider = new Map<string, string[]>();
for (const entry of awsByEventSource.values()) {
  const list = awsEventSourcesByProvider.get(entry.provider) ?? [];
  list.push(entry.eventSource);
  awsEventSourcesByProvider.set(entry.provider, list);
}

const azureByLowerNamespace = new Map<string, AzureNamespaceEntry>();
for (const entry of catalog.azure.namespaces) {
  claimId(entry.id);
  const key = entry.namespace.toLowerCase();
  if (azureByLowerNamespace.has(key))
    throw new CatalogError(entry.id, `duplicate namespace ${entry.namespace}`);
  if (!AZURE_NAMESPACE_SHAPE.test(entry.namespace)) {
    throw new CatalogError(entry.id, `not a resource-provider namespace: ${entry.namespace}`);
  }
  const actions = new Map<string, string>();
  for (const action of entry.actions) {
    const lower = action.toLowerCase();
    if (actions.has(lower)) throw new CatalogError(entry.id, `duplicate action ${action}`);
    if (lower.endsWith('/action'))
      throw new CatalogError(entry.id, `${action}: list actions without /action`);
    actions.set(lower, action);
    claimId(`azure.action.${entry.namespace}/${action}`);
  }
  azureByLowerNamespace.set(key, {
    id: entry.id,
    namespace: entry.namespace,
    actions,
    actionsClosed: entry.actionsClosed,
  });
}

const gcpByServiceName = new Map<string, GcpServiceEntry>();
for (const entry of catalog.gcp.services) {
  claimId(entry.id);
  if (gcpByServiceName.has(entry.serviceName))
    throw new CatalogError(entry.id, `duplicate ${entry.serviceName}`);
  if (entry.provider !== gcpProviderFromServiceName(entry.serviceName)) {
    throw new CatalogError(entry.id, `provider must be gcp. + the first label of ${entry.serviceName}`);
  }
  gcpByServiceName.set(entry.serviceName, entry);
}
claimId(GCP_IAM_POLICY_WRITE.id);

/** Providers whose action list the catalog knows completely (the lint's closed domains). */
const closedActions = new Map<string, { id: string; actions: ReadonlySet<string> }>();
function addClosed(id: string, provider: string, actions: readonly string[]): void {
  if (closedActions.has(provider)) throw new CatalogError(id, `second action set for ${provider}`);
  closedActions.set(provider, { id, actions: new Set(actions) });
}
for (const set of [...catalog.aws.actionSets, ...catalog.gcp.actionSets]) {
  claimId(set.id);
  if (set.actionsClosed) addClosed(set.id, set.provider, set.actions);
}
addClosed(AWS_INSIGHTS.id, AWS_INSIGHTS.provider, AWS_INSIGHTS.actions);
for (const entry of azureByLowerNamespace.values()) {
  if (entry.actionsClosed) addClosed(entry.id, entry.namespace, [...entry.actions.values()]);
}
for (const set of catalog.gcp.actionSets) {
  for (const action of set.actions) {
    if (action !== GCP_IAM_POLICY_WRITE.action && isSetIamPolicyMethod(action)) {
      throw new CatalogError(
        set.id,
        `${action} is normalized to ${GCP_IAM_POLICY_WRITE.action}; list that instead`,
      );
    }
  }
}

// Lookups used by the normalizers ---------------------------------------------------------------------

/** The catalog entry for a CloudTrail `eventSource`, exact match (CloudTrail writes them in lower case). */
export function awsService(eventSource: string): AwsServiceEntry | undefined {
  return awsByEventSource.get(eventSource);
}

/** Every `eventSource` the catalog renames to `provider` (usually one). */
export function awsEventSourcesFor(provider: string): readonly string[] {
  return awsEventSourcesByProvider.get(provider) ?? [];
}

/** The catalog entry for an Azure resource-provider namespace, in any casing. */
export function azureNamespace(namespace: string): AzureNamespaceEntry | undefined {
  return azureByLowerNamespace.get(namespace.toLowerCase());
}

/** Provenance id of an Azure action; derived rather than stored so the JSON stays a readable list. */
export function azureActionEntryId(namespace: AzureNamespaceEntry, canonicalAction: string): string {
  return `azure.action.${namespace.namespace}/${canonicalAction}`;
}

/** The catalog entry for a GCP `serviceName`, exact match. */
export function gcpService(serviceName: string): GcpServiceEntry | undefined {
  return gcpByServiceName.get(serviceName);
}

/**
 * `gcp.` + the first DNS label of the service (`iam.googleapis.com` → `gcp.iam`, `k8s.io` → `gcp.k8s`);
 * undefined when there is no label to take.
 */
export function gcpProviderFromServiceName(serviceName: string): string | undefined {
  const dot = serviceName.indexOf('.');
  const label = dot === -1 ? serviceName : serviceName.slice(0, dot);
  return label.length > 0 ? `gcp.${label}` : undefined;
}

/**
 * True when the method writes an IAM policy: its last dotted component is `SetIamPolicy` in any
 * case (`google.iam.admin.v1.SetIAMPolicy`, `v1.compute.disks.setIamPolicy`). `setIamPermissions`
 * is a different, storage-specific method and does not count.
 */
export function isSetIamPolicyMethod(methodName: string): boolean {
  const last = methodName.slice(methodName.lastIndexOf('.') + 1);
  return (
    last.length === GCP_IAM_POLICY_WRITE.lastComponentLower.length &&
    last.toLowerCase() === GCP_IAM_POLICY_WRITE.lastComponentLower
  );
}

/** Every catalog entry id, so tests and tools can check that provenance names a real entry. */
export function catalogEntryIds(): ReadonlySet<string> {
  return ids;
}

// The lint API -----------------------------------------------------------------------------------------

/**
 * The values a normalized field can take. A rule literal that is in neither `values` nor any of
 * `patterns` can never match real data, which is how the seed's vocabulary bug (Elastic emits
 * `iam.amazonaws.com`, the seed asks for `AWS IAM`) is caught in CI instead of in an incident.
 * Patterns describe vendor-shaped values (`*.amazonaws.com`, `Publisher.Service`, `gcp.<label>`);
 * pre-filter soundness does not rely on them (see `rawMatchesFor`).
 */
export interface FieldDomain {
  values: ReadonlySet<string>;
  patterns: readonly RegExp[];
  description: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function alternation(values: Iterable<string>): string {
  return [...values].map(escapeRegExp).join('|');
}

const providerDomain: FieldDomain = {
  values: new Set([
    ...[...awsByEventSource.values()].map((e) => e.provider),
    AWS_INSIGHTS.provider,
    ...[...azureByLowerNamespace.values()].map((e) => e.namespace),
    ...[...gcpByServiceName.values()].map((e) => e.provider),
    GCP_IAM_POLICY_WRITE.provider,
  ]),
  patterns: [
    // CloudTrail eventSource passed through raw, except those the catalog renames.
    new RegExp(
      `^(?!(?:${alternation(awsByEventSource.keys())})$)[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.amazonaws\\.com$`,
    ),
    // Azure namespace not in the catalog, in the casing the record used (publisher.service).
    new RegExp(
      `^(?!(?:${alternation(azureByLowerNamespace.keys())}|gcp\\..*)$)[a-z][a-z0-9]*\\.[a-z][a-z0-9]*$`,
      'i',
    ),
    // GCP service not in the catalog: gcp. + first label of serviceName.
    /^gcp\.[a-z0-9-]+$/,
  ],
  description:
    'event.provider: AWS display names from the catalog or a raw *.amazonaws.com eventSource; an Azure ' +
    'resource-provider namespace (canonical casing when catalogued); gcp. + the first label of serviceName',
};

function closedDomain(values: readonly string[], description: string): FieldDomain {
  return { values: new Set(values), patterns: [], description };
}

const fieldDomains = new Map<string, FieldDomain>([
  ['event.provider', providerDomain],
  [
    'event.dataset',
    closedDomain(
      ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'],
      'event.dataset: the source name',
    ),
  ],
  ['cloud.provider', closedDomain(['aws', 'azure', 'gcp'], 'cloud.provider: the cloud the event came from')],
  [
    'event.outcome',
    closedDomain(['success', 'failure', 'unknown'], 'event.outcome: ECS outcome of the call'),
  ],
  ['event.kind', closedDomain(['event'], 'event.kind: every normalized record is an event')],
]);

/**
 * The domain of a normalized field as far as the catalog constrains it; undefined for fields the
 * catalog says nothing about (user names, ids, free text), which the lint must then accept.
 */
export function producibleValues(field: string): FieldDomain | undefined {
  return fieldDomains.get(field);
}

const actionDomains = new Map<string, FieldDomain>();
for (const [provider, set] of closedActions) {
  actionDomains.set(provider, {
    values: set.actions,
    patterns: [],
    description: `event.action for ${provider}: closed list ${set.id}`,
  });
}

/**
 * The complete action list of a provider whose actions the catalog knows closed (`AWS IAM`,
 * `Microsoft.Authorization`, `gcp.iam`, `AWS CloudTrail Insights`); undefined when any action is
 * possible, so a typo like `DeleteAccesKey` fails the lint only where the catalog can tell.
 */
export function producibleActions(provider: string): FieldDomain | undefined {
  return actionDomains.get(provider);
}
