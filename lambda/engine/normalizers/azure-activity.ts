/**
 * Azure Activity Log → ECS. Two schemas reach us: the Event Hub / storage export (resource-log
 * schema: `time`, `resultType`, `operationName` string, `identity.claims`) and the REST / portal
 * shape (`eventTimestamp`, `status.value`, `operationName: {value, localizedValue}`, `claims`). One
 * table covers both by listing the paths of each.
 */
import type { EcsTarget, JsonObject, NormalizedEvent, PreparedEvent } from '../ecs';
import {
  AZURE_NAMESPACE_SHAPE,
  type AzureNamespaceEntry,
  azureActionEntryId,
  azureNamespace,
  FALLBACK_ENTRY,
  PASSTHROUGH_ENTRY,
} from './catalog';
import { coreDocument, Prepared, prepareGuarded, type ResolvedTimestamp } from './common';
import { NormalizationError } from './errors';
import { applyTable, compileTable, type FieldRule, p, type RawPath } from './fields';
import {
  at,
  derivedEventId,
  firstString,
  ipOf,
  isObject,
  own,
  ownIgnoreCase,
  parseEmbeddedJson,
  type RawObject,
  relatedOf,
  setPath,
  str,
  strOrNumber,
  unique,
} from './read';

const SOURCE = 'azure-activity-logs';

const UPN_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const OID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
/** Claims sit at `claims` in the REST shape and at `identity.claims` in Event Hub records. */
const claim = (name: string): RawPath[] => [
  ['claims', name],
  ['identity', 'claims', name],
];

const ACTION_SUFFIX = '/action';
/** Built-in role that `elevateAccess` grants at root scope `/` (Azure RBAC built-in roles). */
const USER_ACCESS_ADMINISTRATOR =
  '/providers/Microsoft.Authorization/roleDefinitions/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9';

/**
 * Raw → ECS for the Activity Log. `event.id` is `eventDataId`; Event Hub records have none, so they
 * get a content-derived id (a `correlationId` is shared by the Start and Success records of one call
 * and by every call of a deployment, so it cannot be the key). `user.name` is `caller`, else the UPN
 * claim, else the name claim.
 */
export const AZURE_ACTIVITY_FIELDS: readonly FieldRule[] = [
  { ecs: '@timestamp', raw: [p('time'), p('eventTimestamp')], copy: 'computed' },
  { ecs: 'event.id', raw: [p('eventDataId'), p('properties.eventDataId')], copy: 'computed' },
  { ecs: 'event.provider', raw: [p('operationName'), p('operationName.value')], copy: 'computed' },
  { ecs: 'event.action', raw: [p('operationName'), p('operationName.value')], copy: 'computed' },
  { ecs: 'event.outcome', raw: [p('resultType'), p('status.value'), p('status')], copy: 'computed' },
  { ecs: 'cloud.account.id', raw: [p('subscriptionId'), p('resourceId')], copy: 'computed' },
  { ecs: 'cloud.region', raw: [p('location'), p('properties.resourceLocation')], copy: 'string' },
  {
    ecs: 'user.name',
    raw: [p('caller'), ...claim(UPN_CLAIM), ...claim(NAME_CLAIM), ...claim('name')],
    copy: 'string',
  },
  { ecs: 'user.id', raw: [...claim(OID_CLAIM), ...claim('oid')], copy: 'string' },
  {
    ecs: 'source.address',
    raw: [p('callerIpAddress'), p('httpRequest.clientIpAddress'), ...claim('ipaddr')],
    copy: 'string',
  },
  {
    ecs: 'source.ip',
    raw: [p('callerIpAddress'), p('httpRequest.clientIpAddress'), ...claim('ipaddr')],
    copy: 'computed',
  },
  {
    ecs: 'error.code',
    raw: [p('properties.statusCode'), p('resultSignature'), p('subStatus.value')],
    copy: 'computed',
  },
  { ecs: 'error.message', raw: [p('properties.statusMessage')], copy: 'computed' },
  {
    ecs: 'related.user',
    raw: [p('caller'), ...claim(UPN_CLAIM), p('properties.requestbody')],
    copy: 'computed',
  },
  { ecs: 'related.ip', raw: [p('callerIpAddress'), p('httpRequest.clientIpAddress')], copy: 'computed' },
  {
    ecs: 'target',
    raw: [
      p('resourceId'),
      p('properties.requestbody'),
      p('properties.requestBody'),
      p('properties.responseBody'),
    ],
    copy: 'computed',
  },
  // Raw values kept whole.
  { ecs: 'azure.activitylogs.operation_name', raw: [p('operationName')], copy: 'value' },
  { ecs: 'azure.activitylogs.category', raw: [p('category')], copy: 'value' },
  { ecs: 'azure.activitylogs.result_type', raw: [p('resultType')], copy: 'value' },
  { ecs: 'azure.activitylogs.result_signature', raw: [p('resultSignature')], copy: 'value' },
  { ecs: 'azure.activitylogs.status', raw: [p('status')], copy: 'value' },
  { ecs: 'azure.activitylogs.sub_status', raw: [p('subStatus')], copy: 'value' },
  { ecs: 'azure.activitylogs.event_name', raw: [p('eventName')], copy: 'value' },
  { ecs: 'azure.activitylogs.event_data_id', raw: [p('eventDataId')], copy: 'value' },
  { ecs: 'azure.activitylogs.correlation_id', raw: [p('correlationId')], copy: 'value' },
  { ecs: 'azure.activitylogs.operation_id', raw: [p('operationId')], copy: 'value' },
  { ecs: 'azure.activitylogs.operation_version', raw: [p('operationVersion')], copy: 'value' },
  { ecs: 'azure.activitylogs.resource_id', raw: [p('resourceId')], copy: 'value' },
  { ecs: 'azure.activitylogs.resource_group', raw: [p('resourceGroupName')], copy: 'value' },
  { ecs: 'azure.activitylogs.resource_provider_name', raw: [p('resourceProviderName')], copy: 'value' },
  { ecs: 'azure.activitylogs.resource_type', raw: [p('resourceType')], copy: 'value' },
  { ecs: 'azure.activitylogs.subscription_id', raw: [p('subscriptionId')], copy: 'value' },
  { ecs: 'azure.activitylogs.tenant_id', raw: [p('tenantId')], copy: 'value' },
  { ecs: 'azure.activitylogs.level', raw: [p('level'), p('Level')], copy: 'value' },
  { ecs: 'azure.activitylogs.caller', raw: [p('caller')], copy: 'value' },
  { ecs: 'azure.activitylogs.caller_ip_address', raw: [p('callerIpAddress')], copy: 'value' },
  { ecs: 'azure.activitylogs.identity', raw: [p('identity')], copy: 'value' },
  { ecs: 'azure.activitylogs.claims', raw: [p('claims')], copy: 'value' },
  { ecs: 'azure.activitylogs.authorization', raw: [p('authorization')], copy: 'value' },
  { ecs: 'azure.activitylogs.http_request', raw: [p('httpRequest')], copy: 'value' },
  { ecs: 'azure.activitylogs.properties', raw: [p('properties')], copy: 'value' },
  { ecs: 'azure.activitylogs.duration_ms', raw: [p('durationMs')], copy: 'value' },
  { ecs: 'azure.activitylogs.location', raw: [p('location')], copy: 'value' },
  { ecs: 'azure.activitylogs.channels', raw: [p('channels')], copy: 'value' },
  { ecs: 'azure.activitylogs.description', raw: [p('description')], copy: 'value' },
  { ecs: 'azure.activitylogs.time', raw: [p('time')], copy: 'value' },
  { ecs: 'azure.activitylogs.event_timestamp', raw: [p('eventTimestamp')], copy: 'value' },
  { ecs: 'azure.activitylogs.submission_timestamp', raw: [p('submissionTimestamp')], copy: 'value' },
];

const TABLE = compileTable(AZURE_ACTIVITY_FIELDS);
const SOURCE_IP_PATHS = AZURE_ACTIVITY_FIELDS.find((rule) => rule.ecs === 'source.ip')?.raw ?? [];

/**
 * Normalizes one Activity Log record. `operationName` is matched case-insensitively against the
 * catalog: a catalogued namespace and action come out in canonical casing, anything else keeps the
 * record's own casing (so an unknown `CONTOSO.WIDGETS/GADGETS/WRITE` stays as written); a trailing
 * `/action` is dropped either way. Both phases of a call normalize to the same provider and action.
 */
export function normalizeAzureActivity(record: unknown): NormalizedEvent {
  return prepareAzureActivity(record).normalize();
}

/** Validates an Activity Log record and settles its head; `normalize()` builds the rest. */
export function prepareAzureActivity(record: unknown): PreparedEvent {
  return prepareGuarded(SOURCE, prepare, record);
}

function prepare(record: unknown): PreparedEvent {
  if (!isObject(record)) throw new NormalizationError(SOURCE, '(record)', 'not a JSON object');
  const operation = operationOf(record);
  const times = [
    { field: 'time', value: own(record, 'time') },
    { field: 'eventTimestamp', value: own(record, 'eventTimestamp') },
  ];
  return new Prepared(SOURCE, 'azure', record, operation, times, normalize);
}

function normalize(record: RawObject, operation: Operation, timestamp: ResolvedTimestamp): NormalizedEvent {
  const outcome = outcomeOf(record);
  const { doc, provenance } = coreDocument({
    source: SOURCE,
    cloud: 'azure',
    timestamp,
    id:
      strOrNumber(own(record, 'eventDataId')) ??
      strOrNumber(at(record, ['properties', 'eventDataId'])) ??
      derivedEventId(record),
    provider: operation.provider,
    action: operation.action,
    outcome,
    provenance: operation.provenance,
  });
  const out = doc as JsonObject;
  applyTable(out, record, TABLE);

  setPath(
    out,
    ['cloud', 'account', 'id'],
    str(own(record, 'subscriptionId')) ?? subscriptionOf(own(record, 'resourceId')),
  );
  const sourceIp = ipOf(firstString(record, SOURCE_IP_PATHS));
  setPath(out, ['source', 'ip'], sourceIp);
  if (outcome === 'failure') {
    setPath(
      out,
      ['error', 'code'],
      strOrNumber(at(record, ['properties', 'statusCode'])) ??
        str(own(record, 'resultSignature')) ??
        str(at(record, ['subStatus', 'value'])),
    );
    setPath(out, ['error', 'message'], str(at(record, ['properties', 'statusMessage'])));
  }

  const userName = str(at(out, ['user', 'name']));
  const userId = str(at(out, ['user', 'id']));
  const target = targetOf(record, operation, userId ?? userName);
  if (target !== undefined) out.target = target;

  const related = unique([userName, typeof target?.principal === 'string' ? target.principal : undefined]);
  const relatedFields = relatedOf(related, sourceIp);
  if (relatedFields !== undefined) out.related = relatedFields;
  return { doc, provenance };
}

interface Operation {
  readonly provider: string;
  readonly action: string;
  readonly namespace: AzureNamespaceEntry | undefined;
  readonly provenance: { providerEntry: string; actionEntry: string; rawProvider: string; rawAction: string };
}

/** Splits `Namespace/resource/path[/action]` into the profile's provider and action. */
function operationOf(record: RawObject): Operation {
  const field = own(record, 'operationName');
  const raw = typeof field === 'string' ? str(field) : str(own(field, 'value'));
  if (raw === undefined)
    throw new NormalizationError(SOURCE, 'operationName', 'missing, or neither a string nor {value}');
  const slash = raw.indexOf('/');
  const namespace = slash === -1 ? raw : raw.slice(0, slash);
  let rest = slash === -1 ? '' : raw.slice(slash + 1);
  if (!AZURE_NAMESPACE_SHAPE.test(namespace) || rest.length === 0) {
    throw new NormalizationError(
      SOURCE,
      'operationName',
      'not a resource-provider operation (Namespace/resourceType/operation); Entra ID audit and sign-in logs are not Activity Log records',
    );
  }
  if (
    rest.length > ACTION_SUFFIX.length &&
    rest.slice(-ACTION_SUFFIX.length).toLowerCase() === ACTION_SUFFIX
  ) {
    rest = rest.slice(0, -ACTION_SUFFIX.length);
  }
  const entry = azureNamespace(namespace);
  const canonical = entry?.actions.get(rest.toLowerCase());
  return {
    provider: entry?.namespace ?? namespace,
    action: canonical ?? rest,
    namespace: entry,
    provenance: {
      providerEntry: entry?.id ?? FALLBACK_ENTRY,
      actionEntry:
        entry !== undefined && canonical !== undefined
          ? azureActionEntryId(entry, canonical)
          : PASSTHROUGH_ENTRY,
      rawProvider: raw,
      rawAction: raw,
    },
  };
}

/**
 * `resultType` (Event Hub) or `status` (REST). Start, Started, Accepted and the non-call statuses of
 * alerts and security events (Active, Resolved) are `unknown`: the call's result is in a later record.
 */
function outcomeOf(record: RawObject): 'success' | 'failure' | 'unknown' {
  const status = own(record, 'status');
  const result = str(own(record, 'resultType')) ?? str(own(status, 'value')) ?? str(status);
  switch (result?.toLowerCase()) {
    case 'success':
    case 'succeeded':
      return 'success';
    case 'failure':
    case 'failed':
    case 'canceled':
    case 'cancelled':
      return 'failure';
    default:
      return 'unknown';
  }
}

/** The subscription id from `/subscriptions/<id>/...`, in whatever case the record wrote the path. */
function subscriptionOf(resourceId: unknown): string | undefined {
  const id = str(resourceId);
  if (id === undefined || id.slice(0, 15).toLowerCase() !== '/subscriptions/') return undefined;
  const end = id.indexOf('/', 15);
  return str(end === -1 ? id.slice(15) : id.slice(15, end));
}

const ROLE_ASSIGNMENT_SEGMENT = '/providers/microsoft.authorization/roleassignments/';

function targetOf(
  record: RawObject,
  operation: Operation,
  caller: string | undefined,
): EcsTarget | undefined {
  const resourceId = str(own(record, 'resourceId'));
  const action = operation.action.toLowerCase();
  if (operation.provider === 'Microsoft.Authorization') {
    if (action.startsWith('roleassignments/')) return roleAssignmentTarget(record, resourceId);
    if (action === 'elevateaccess') {
      return {
        kind: 'role_assignment',
        scope: '/',
        role: USER_ACCESS_ADMINISTRATOR,
        name: 'User Access Administrator',
        ...(caller !== undefined ? { principal: caller } : {}),
      };
    }
    if (action.startsWith('roledefinitions/') && resourceId !== undefined)
      return { kind: 'role_definition', id: resourceId };
  }
  return resourceId !== undefined ? { kind: 'resource', id: resourceId } : undefined;
}

/**
 * Who got which role where. The request body (Start record; `requestbody` or `requestBody`, a JSON
 * string) or the response body (Success record) says it; `identity.authorization.evidence` does not:
 * it describes the caller's own role assignment that authorized the call.
 */
function roleAssignmentTarget(record: RawObject, resourceId: string | undefined): EcsTarget {
  const properties = own(record, 'properties');
  const bodies = [ownIgnoreCase(properties, 'requestbody'), ownIgnoreCase(properties, 'responseBody')].map(
    (body) => {
      const parsed = parseEmbeddedJson(body);
      const inner = ownIgnoreCase(parsed, 'properties');
      return isObject(inner) ? inner : parsed;
    },
  );
  const fromBody = (key: string): string | undefined => {
    for (const body of bodies) {
      const value = str(ownIgnoreCase(body, key));
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const target: EcsTarget = { kind: 'role_assignment' };
  if (resourceId !== undefined) target.id = resourceId;
  const scope = fromBody('scope') ?? scopeOfAssignment(resourceId);
  if (scope !== undefined) target.scope = scope;
  const principal = fromBody('principalId');
  if (principal !== undefined) target.principal = principal;
  const principalType = fromBody('principalType');
  if (principalType !== undefined) target.principal_type = principalType;
  const role = fromBody('roleDefinitionId');
  if (role !== undefined) target.role = role;
  return target;
}

/** `/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/g` → `/subscriptions/s`. */
function scopeOfAssignment(resourceId: string | undefined): string | undefined {
  if (resourceId === undefined) return undefined;
  const index = resourceId.toLowerCase().lastIndexOf(ROLE_ASSIGNMENT_SEGMENT);
  if (index === -1) return undefined;
  return index === 0 ? '/' : resourceId.slice(0, index);
}
