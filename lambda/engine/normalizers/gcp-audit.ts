/**
 * GCP Cloud Audit Logs (a LogEntry whose `protoPayload` is an `AuditLog`) → ECS. The same entry
 * arrives through Pub/Sub, `gcloud logging read` or a sink export; `decode.ts` unwraps the transport.
 */
import type { EcsTarget, JsonObject, JsonValue, NormalizedEvent, PreparedEvent } from '../ecs';
import {
  FALLBACK_ENTRY,
  GCP_IAM_POLICY_WRITE,
  gcpProviderFromServiceName,
  gcpService,
  isSetIamPolicyMethod,
  PASSTHROUGH_ENTRY,
} from './catalog';
import { coreDocument, Prepared, prepareGuarded, type ResolvedTimestamp } from './common';
import { NormalizationError } from './errors';
import { applyTable, compileTable, type FieldRule, p } from './fields';
import {
  at,
  derivedEventId,
  firstString,
  ipOf,
  isObject,
  own,
  type RawObject,
  relatedOf,
  setPath,
  str,
  strOrNumber,
  unique,
} from './read';

const SOURCE = 'gcp-audit-logs';

/**
 * Raw → ECS for Cloud Audit Logs. `insertid`/`logname`/`callerIP` are the lower-cased spellings some
 * re-exporters (SIEM fixtures, BigQuery-style sinks) use; they are read as fallbacks only.
 */
export const GCP_AUDIT_FIELDS: readonly FieldRule[] = [
  {
    ecs: '@timestamp',
    raw: [p('timestamp'), p('receiveTimestamp'), p('protoPayload.requestMetadata.requestAttributes.time')],
    copy: 'computed',
  },
  { ecs: 'event.id', raw: [p('insertId'), p('insert_id'), p('insertid')], copy: 'computed' },
  {
    ecs: 'event.provider',
    raw: [p('protoPayload.serviceName'), p('protoPayload.methodName')],
    copy: 'computed',
  },
  { ecs: 'event.action', raw: [p('protoPayload.methodName')], copy: 'computed' },
  { ecs: 'event.outcome', raw: [p('protoPayload.status.code')], copy: 'computed' },
  {
    ecs: 'cloud.account.id',
    raw: [p('resource.labels.project_id'), p('logName'), p('logname'), p('protoPayload.resourceName')],
    copy: 'computed',
  },
  {
    ecs: 'cloud.region',
    raw: [
      p('resource.labels.location'),
      p('resource.labels.zone'),
      p('resource.labels.region'),
      p('protoPayload.resourceLocation.currentLocations'),
    ],
    copy: 'computed',
  },
  { ecs: 'user.name', raw: [p('protoPayload.authenticationInfo.principalEmail')], copy: 'string' },
  { ecs: 'user.id', raw: [p('protoPayload.authenticationInfo.principalSubject')], copy: 'string' },
  {
    ecs: 'source.address',
    raw: [p('protoPayload.requestMetadata.callerIp'), p('protoPayload.requestMetadata.callerIP')],
    copy: 'string',
  },
  {
    ecs: 'source.ip',
    raw: [p('protoPayload.requestMetadata.callerIp'), p('protoPayload.requestMetadata.callerIP')],
    copy: 'computed',
  },
  {
    ecs: 'user_agent.original',
    raw: [p('protoPayload.requestMetadata.callerSuppliedUserAgent')],
    copy: 'string',
  },
  { ecs: 'error.code', raw: [p('protoPayload.status.code')], copy: 'computed' },
  { ecs: 'error.message', raw: [p('protoPayload.status.message')], copy: 'computed' },
  { ecs: 'related.user', raw: [p('protoPayload.authenticationInfo.principalEmail')], copy: 'computed' },
  { ecs: 'related.ip', raw: [p('protoPayload.requestMetadata.callerIp')], copy: 'computed' },
  {
    ecs: 'target',
    raw: [
      p('protoPayload.resourceName'),
      p('protoPayload.request'),
      p('protoPayload.response'),
      p('protoPayload.serviceData.policyDelta.bindingDeltas'),
    ],
    copy: 'computed',
  },
  // Raw values kept whole.
  { ecs: 'gcp.audit.method_name', raw: [p('protoPayload.methodName')], copy: 'value' },
  { ecs: 'gcp.audit.service_name', raw: [p('protoPayload.serviceName')], copy: 'value' },
  { ecs: 'gcp.audit.resource_name', raw: [p('protoPayload.resourceName')], copy: 'value' },
  { ecs: 'gcp.audit.type', raw: [['protoPayload', '@type'], p('protoPayload.at_sign_type')], copy: 'value' },
  { ecs: 'gcp.audit.authentication_info', raw: [p('protoPayload.authenticationInfo')], copy: 'value' },
  { ecs: 'gcp.audit.authorization_info', raw: [p('protoPayload.authorizationInfo')], copy: 'value' },
  { ecs: 'gcp.audit.request_metadata', raw: [p('protoPayload.requestMetadata')], copy: 'value' },
  { ecs: 'gcp.audit.request', raw: [p('protoPayload.request')], copy: 'value' },
  { ecs: 'gcp.audit.response', raw: [p('protoPayload.response')], copy: 'value' },
  { ecs: 'gcp.audit.status', raw: [p('protoPayload.status')], copy: 'value' },
  { ecs: 'gcp.audit.service_data', raw: [p('protoPayload.serviceData')], copy: 'value' },
  { ecs: 'gcp.audit.metadata', raw: [p('protoPayload.metadata')], copy: 'value' },
  { ecs: 'gcp.audit.resource_location', raw: [p('protoPayload.resourceLocation')], copy: 'value' },
  { ecs: 'gcp.audit.num_response_items', raw: [p('protoPayload.numResponseItems')], copy: 'value' },
  { ecs: 'gcp.audit.policy_violation_info', raw: [p('protoPayload.policyViolationInfo')], copy: 'value' },
  { ecs: 'gcp.audit.log_name', raw: [p('logName'), p('logname')], copy: 'value' },
  { ecs: 'gcp.audit.resource', raw: [p('resource')], copy: 'value' },
  { ecs: 'gcp.audit.severity', raw: [p('severity')], copy: 'value' },
  { ecs: 'gcp.audit.insert_id', raw: [p('insertId'), p('insert_id'), p('insertid')], copy: 'value' },
  { ecs: 'gcp.audit.timestamp', raw: [p('timestamp')], copy: 'value' },
  { ecs: 'gcp.audit.receive_timestamp', raw: [p('receiveTimestamp'), p('receivetimestamp')], copy: 'value' },
  { ecs: 'gcp.audit.operation', raw: [p('operation')], copy: 'value' },
  { ecs: 'gcp.audit.labels', raw: [p('labels')], copy: 'value' },
];

const TABLE = compileTable(GCP_AUDIT_FIELDS);
const ruleRaw = (ecs: string) => GCP_AUDIT_FIELDS.find((rule) => rule.ecs === ecs)?.raw ?? [];
const ID_PATHS = ruleRaw('event.id');
const SOURCE_IP_PATHS = ruleRaw('source.ip');
const LOG_NAME_PATHS = [p('logName'), p('logname')];
const REGION_LABEL_PATHS = [
  p('resource.labels.location'),
  p('resource.labels.zone'),
  p('resource.labels.region'),
];

/** IAM admin methods whose target is a service-account key named in the request (or the resource). */
const KEY_BY_NAME = new Set(
  [
    'DeleteServiceAccountKey',
    'DisableServiceAccountKey',
    'EnableServiceAccountKey',
    'GetServiceAccountKey',
  ].map((m) => `google.iam.admin.v1.${m}`),
);
/** IAM admin methods that create a key: its name is only in the response. */
const KEY_CREATED = new Set(
  ['CreateServiceAccountKey', 'UploadServiceAccountKey'].map((m) => `google.iam.admin.v1.${m}`),
);

/**
 * Normalizes one audit LogEntry. Every method whose last dotted component is `SetIamPolicy` (any
 * case, any service) becomes provider `gcp.iam`, action `SetIamPolicy`: an IAM policy write is an
 * IAM event wherever it happens; the raw service and method stay under `gcp.audit.*`. Status `{}`
 * or absent is success, a non-zero `code` is failure.
 */
export function normalizeGcpAudit(record: unknown): NormalizedEvent {
  return prepareGcpAudit(record).normalize();
}

/** Validates an audit LogEntry and settles its head; `normalize()` builds the rest. */
export function prepareGcpAudit(record: unknown): PreparedEvent {
  return prepareGuarded(SOURCE, prepare, record);
}

function prepare(record: unknown): PreparedEvent {
  if (!isObject(record)) throw new NormalizationError(SOURCE, '(record)', 'not a JSON object');
  const payload = own(record, 'protoPayload');
  if (!isObject(payload)) throw new NormalizationError(SOURCE, 'protoPayload', 'missing or not an object');
  const call = callOf(payload);
  const times = [
    { field: 'timestamp', value: own(record, 'timestamp') },
    { field: 'receiveTimestamp', value: own(record, 'receiveTimestamp') ?? own(record, 'receivetimestamp') },
    {
      field: 'protoPayload.requestMetadata.requestAttributes.time',
      value: at(payload, ['requestMetadata', 'requestAttributes', 'time']),
    },
  ];
  return new Prepared(SOURCE, 'gcp', record, call, times, normalize);
}

function normalize(record: RawObject, call: Call, timestamp: ResolvedTimestamp): NormalizedEvent {
  const payload = own(record, 'protoPayload') as RawObject;
  const status = own(payload, 'status');
  const code = isObject(status) ? own(status, 'code') : undefined;
  const failed = code !== undefined && code !== null && code !== 0 && code !== '0';
  const { doc, provenance } = coreDocument({
    source: SOURCE,
    cloud: 'gcp',
    timestamp,
    id: idOf(record) ?? derivedEventId(record),
    provider: call.provider,
    action: call.action,
    outcome: failed ? 'failure' : 'success',
    provenance: call.provenance,
  });
  const out = doc as JsonObject;
  applyTable(out, record, TABLE);

  const project = projectOf(record, payload);
  setPath(out, ['cloud', 'account', 'id'], project);
  setPath(out, ['cloud', 'project', 'id'], project);
  setPath(out, ['cloud', 'region'], firstString(record, REGION_LABEL_PATHS) ?? firstLocation(payload));
  const sourceIp = ipOf(firstString(record, SOURCE_IP_PATHS));
  setPath(out, ['source', 'ip'], sourceIp);
  if (failed) {
    setPath(out, ['error', 'code'], strOrNumber(code));
    setPath(out, ['error', 'message'], str(own(status, 'message')));
  }

  const target = targetOf(payload, call.action);
  if (target !== undefined) out.target = target;

  const related = unique([
    str(at(out, ['user', 'name'])),
    typeof target?.principal === 'string' ? target.principal : undefined,
  ]);
  const relatedFields = relatedOf(related, sourceIp);
  if (relatedFields !== undefined) out.related = relatedFields;
  return { doc, provenance };
}

interface Call {
  readonly provider: string;
  readonly action: string;
  readonly provenance: { providerEntry: string; actionEntry: string; rawProvider: string; rawAction: string };
}

function callOf(payload: RawObject): Call {
  const methodName = str(own(payload, 'methodName'));
  if (methodName === undefined) {
    throw new NormalizationError(
      SOURCE,
      'protoPayload.methodName',
      'missing: the entry does not say which API was called',
    );
  }
  const serviceName = str(own(payload, 'serviceName'));
  if (isSetIamPolicyMethod(methodName)) {
    return {
      provider: GCP_IAM_POLICY_WRITE.provider,
      action: GCP_IAM_POLICY_WRITE.action,
      provenance: {
        providerEntry: GCP_IAM_POLICY_WRITE.id,
        actionEntry: GCP_IAM_POLICY_WRITE.id,
        rawProvider: serviceName ?? '',
        rawAction: methodName,
      },
    };
  }
  if (serviceName === undefined)
    throw new NormalizationError(SOURCE, 'protoPayload.serviceName', 'missing or not a string');
  const service = gcpService(serviceName);
  const provider = service?.provider ?? gcpProviderFromServiceName(serviceName);
  if (provider === undefined)
    throw new NormalizationError(SOURCE, 'protoPayload.serviceName', 'no service label');
  return {
    provider,
    action: methodName,
    provenance: {
      providerEntry: service?.id ?? FALLBACK_ENTRY,
      actionEntry: PASSTHROUGH_ENTRY,
      rawProvider: serviceName,
      rawAction: methodName,
    },
  };
}

function firstLocation(payload: RawObject): string | undefined {
  const locations = at(payload, ['resourceLocation', 'currentLocations']);
  return Array.isArray(locations) ? str(locations[0]) : undefined;
}

function idOf(record: RawObject): string | undefined {
  for (const path of ID_PATHS) {
    const id = strOrNumber(at(record, path));
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The project from the monitored resource, else from `projects/<id>/logs/...`, else from the resource name. */
function projectOf(record: RawObject, payload: RawObject): string | undefined {
  const label = str(at(record, ['resource', 'labels', 'project_id']));
  if (label !== undefined) return label;
  for (const name of [firstString(record, LOG_NAME_PATHS), str(own(payload, 'resourceName'))]) {
    if (name === undefined || !name.startsWith('projects/')) continue;
    const end = name.indexOf('/', 9);
    const id = end === -1 ? name.slice(9) : name.slice(9, end);
    if (id.length > 0 && id !== '-' && id !== '_') return id;
  }
  return undefined;
}

/** `projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/k` → the service account segment. */
function serviceAccountOf(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const parts = name.split('/');
  const index = parts.indexOf('serviceAccounts');
  return index === -1 ? undefined : str(parts[index + 1]);
}

function targetOf(payload: RawObject, action: string): EcsTarget | undefined {
  const resourceName = str(own(payload, 'resourceName'));
  const request = own(payload, 'request');
  if (action === GCP_IAM_POLICY_WRITE.action)
    return iamPolicyTarget(payload, resourceName ?? str(own(request, 'resource')));
  if (KEY_BY_NAME.has(action)) {
    const key = str(own(request, 'name')) ?? resourceName;
    return withDefined({ kind: 'service_account_key', id: key, principal: serviceAccountOf(key) });
  }
  if (KEY_CREATED.has(action)) {
    const key = str(own(own(payload, 'response'), 'name'));
    return withDefined({
      kind: 'service_account_key',
      id: key,
      principal: serviceAccountOf(key ?? str(own(request, 'name')) ?? resourceName),
    });
  }
  return resourceName !== undefined ? { kind: 'resource', id: resourceName } : undefined;
}

/**
 * The resource whose policy changed and, when the service logged it, the binding delta. A single
 * added binding is also surfaced as `principal`/`role` so an alert can say who got what.
 */
function iamPolicyTarget(payload: RawObject, scope: string | undefined): EcsTarget {
  const target: EcsTarget = { kind: 'iam_policy' };
  if (scope !== undefined) {
    target.id = scope;
    target.scope = scope;
  }
  const deltas = at(payload, ['serviceData', 'policyDelta', 'bindingDeltas']);
  if (Array.isArray(deltas)) {
    target.binding_deltas = deltas as JsonValue[];
    const added = deltas.filter((delta) => own(delta, 'action') === 'ADD');
    if (added.length === 1) {
      const member = str(own(added[0], 'member'));
      const role = str(own(added[0], 'role'));
      if (member !== undefined) target.principal = member;
      if (role !== undefined) target.role = role;
    }
  }
  return target;
}

function withDefined(fields: Record<string, string | undefined>): EcsTarget | undefined {
  const target: EcsTarget = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) target[key] = value;
  return Object.keys(target).length > 1 ? target : undefined;
}
