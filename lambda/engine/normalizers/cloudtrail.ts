/**
 * AWS CloudTrail → ECS. A record is the same object whether it came from a trail's S3 file
 * (`Records[]`), an EventBridge envelope (`detail`) or a CloudTrail Lake export, so `decode.ts`
 * unwraps and this module only sees records.
 */
import type { EcsTarget, JsonObject, NormalizedEvent, PreparedEvent } from '../ecs';
import {
  AWS_EVENT_SOURCE_SHAPE,
  AWS_INSIGHTS,
  awsService,
  FALLBACK_ENTRY,
  PASSTHROUGH_ENTRY,
} from './catalog';
import { coreDocument, Prepared, prepareGuarded, type ResolvedTimestamp } from './common';
import { NormalizationError } from './errors';
import { applyTable, compileTable, type FieldRule, p, type RawPath } from './fields';
import {
  at,
  derivedEventId,
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

const SOURCE = 'aws-cloudtrail';

/**
 * Raw → ECS for CloudTrail. `computed` rows are filled in code below; all rows feed `RAW_FIELDS`.
 * `user.name` is the IAM user name, `root` for the root user, the role name (session issuer) for an
 * assumed role (the session name, chosen by the caller, goes to `related.user`), the invoking service
 * for AWS services.
 */
export const CLOUDTRAIL_FIELDS: readonly FieldRule[] = [
  { ecs: '@timestamp', raw: [p('eventTime')], copy: 'computed' },
  { ecs: 'event.id', raw: [p('eventID')], copy: 'computed' },
  { ecs: 'event.provider', raw: [p('eventSource'), p('eventType')], copy: 'computed' },
  { ecs: 'event.action', raw: [p('eventName'), p('insightDetails.insightType')], copy: 'computed' },
  { ecs: 'event.outcome', raw: [p('errorCode'), p('errorMessage'), p('responseElements')], copy: 'computed' },
  { ecs: 'cloud.account.id', raw: [p('recipientAccountId'), p('userIdentity.accountId')], copy: 'string' },
  { ecs: 'cloud.region', raw: [p('awsRegion')], copy: 'string' },
  {
    ecs: 'user.name',
    raw: [
      p('userIdentity.userName'),
      p('userIdentity.sessionContext.sessionIssuer.userName'),
      p('userIdentity.arn'),
      p('userIdentity.invokedBy'),
    ],
    copy: 'computed',
  },
  {
    ecs: 'user.id',
    raw: [p('userIdentity.principalId'), p('userIdentity.arn'), p('userIdentity.onBehalfOf.userId')],
    copy: 'string',
  },
  { ecs: 'source.address', raw: [p('sourceIPAddress')], copy: 'string' },
  { ecs: 'source.ip', raw: [p('sourceIPAddress')], copy: 'computed' },
  { ecs: 'user_agent.original', raw: [p('userAgent')], copy: 'string' },
  { ecs: 'error.code', raw: [p('errorCode')], copy: 'string' },
  { ecs: 'error.message', raw: [p('errorMessage')], copy: 'string' },
  { ecs: 'related.user', raw: [p('userIdentity'), p('requestParameters.userName')], copy: 'computed' },
  { ecs: 'related.ip', raw: [p('sourceIPAddress')], copy: 'computed' },
  { ecs: 'target', raw: [p('requestParameters'), p('responseElements')], copy: 'computed' },
  // Raw values kept whole.
  { ecs: 'aws.cloudtrail.event_version', raw: [p('eventVersion')], copy: 'value' },
  { ecs: 'aws.cloudtrail.event_source', raw: [p('eventSource')], copy: 'value' },
  { ecs: 'aws.cloudtrail.event_name', raw: [p('eventName')], copy: 'value' },
  { ecs: 'aws.cloudtrail.event_type', raw: [p('eventType')], copy: 'value' },
  { ecs: 'aws.cloudtrail.event_category', raw: [p('eventCategory')], copy: 'value' },
  { ecs: 'aws.cloudtrail.event_time', raw: [p('eventTime')], copy: 'value' },
  { ecs: 'aws.cloudtrail.user_identity', raw: [p('userIdentity')], copy: 'value' },
  { ecs: 'aws.cloudtrail.request_parameters', raw: [p('requestParameters')], copy: 'value' },
  { ecs: 'aws.cloudtrail.response_elements', raw: [p('responseElements')], copy: 'value' },
  { ecs: 'aws.cloudtrail.additional_event_data', raw: [p('additionalEventData')], copy: 'value' },
  { ecs: 'aws.cloudtrail.request_id', raw: [p('requestID')], copy: 'value' },
  { ecs: 'aws.cloudtrail.shared_event_id', raw: [p('sharedEventID')], copy: 'value' },
  { ecs: 'aws.cloudtrail.recipient_account_id', raw: [p('recipientAccountId')], copy: 'value' },
  { ecs: 'aws.cloudtrail.read_only', raw: [p('readOnly')], copy: 'value' },
  { ecs: 'aws.cloudtrail.management_event', raw: [p('managementEvent')], copy: 'value' },
  { ecs: 'aws.cloudtrail.resources', raw: [p('resources')], copy: 'value' },
  { ecs: 'aws.cloudtrail.api_version', raw: [p('apiVersion')], copy: 'value' },
  { ecs: 'aws.cloudtrail.tls_details', raw: [p('tlsDetails')], copy: 'value' },
  {
    ecs: 'aws.cloudtrail.session_credential_from_console',
    raw: [p('sessionCredentialFromConsole')],
    copy: 'value',
  },
  { ecs: 'aws.cloudtrail.vpc_endpoint_id', raw: [p('vpcEndpointId')], copy: 'value' },
  { ecs: 'aws.cloudtrail.service_event_details', raw: [p('serviceEventDetails')], copy: 'value' },
  { ecs: 'aws.cloudtrail.edge_device_details', raw: [p('edgeDeviceDetails')], copy: 'value' },
  { ecs: 'aws.cloudtrail.insight_details', raw: [p('insightDetails')], copy: 'value' },
];

const TABLE = compileTable(CLOUDTRAIL_FIELDS);

/**
 * What each call acts on, by `eventName`: the identifiers a responder needs to contain it. Keys of
 * `fields` are `EcsTarget` keys; values are raw paths tried in order. `callerOwns` marks IAM calls
 * that act on the calling user when `userName` is omitted.
 */
interface TargetSpec {
  readonly kind: string;
  readonly fields: Readonly<Record<string, readonly RawPath[]>>;
  readonly callerOwns?: boolean;
}

const USER_NAME = p('requestParameters.userName');
const ROLE_NAME = p('requestParameters.roleName');
const GROUP_NAME = p('requestParameters.groupName');
const POLICY_ARN = p('requestParameters.policyArn');
const POLICY_NAME = p('requestParameters.policyName');

const accessKey: TargetSpec = {
  kind: 'access_key',
  fields: { id: [p('requestParameters.accessKeyId')], principal: [USER_NAME] },
  callerOwns: true,
};
const policyVersion: TargetSpec = {
  kind: 'policy',
  fields: { id: [POLICY_ARN], version: [p('requestParameters.versionId')] },
};
const user: TargetSpec = { kind: 'user', fields: { name: [USER_NAME] }, callerOwns: true };
const role: TargetSpec = { kind: 'role', fields: { name: [ROLE_NAME] } };

const TARGETS = new Map<string, TargetSpec>([
  ['DeleteAccessKey', accessKey],
  ['UpdateAccessKey', accessKey],
  [
    'CreateAccessKey',
    {
      kind: 'access_key',
      fields: {
        id: [p('responseElements.accessKey.accessKeyId')],
        principal: [USER_NAME, p('responseElements.accessKey.userName')],
      },
      callerOwns: true,
    },
  ],
  ['UpdateAssumeRolePolicy', role],
  ['CreateRole', role],
  ['DeleteRole', role],
  [
    'CreatePolicyVersion',
    { kind: 'policy', fields: { id: [POLICY_ARN], set_as_default: [p('requestParameters.setAsDefault')] } },
  ],
  ['SetDefaultPolicyVersion', policyVersion],
  ['DeletePolicyVersion', policyVersion],
  ['AttachRolePolicy', { kind: 'role', fields: { name: [ROLE_NAME], policy: [POLICY_ARN] } }],
  ['DetachRolePolicy', { kind: 'role', fields: { name: [ROLE_NAME], policy: [POLICY_ARN] } }],
  ['PutRolePolicy', { kind: 'role', fields: { name: [ROLE_NAME], policy: [POLICY_NAME] } }],
  ['AttachUserPolicy', { kind: 'user', fields: { name: [USER_NAME], policy: [POLICY_ARN] } }],
  ['DetachUserPolicy', { kind: 'user', fields: { name: [USER_NAME], policy: [POLICY_ARN] } }],
  ['PutUserPolicy', { kind: 'user', fields: { name: [USER_NAME], policy: [POLICY_NAME] } }],
  ['AttachGroupPolicy', { kind: 'group', fields: { name: [GROUP_NAME], policy: [POLICY_ARN] } }],
  ['PutGroupPolicy', { kind: 'group', fields: { name: [GROUP_NAME], policy: [POLICY_NAME] } }],
  ['AddUserToGroup', { kind: 'group', fields: { name: [GROUP_NAME], principal: [USER_NAME] } }],
  ['CreateLoginProfile', user],
  ['UpdateLoginProfile', user],
  ['DeleteLoginProfile', user],
  ['CreateUser', { kind: 'user', fields: { name: [USER_NAME] } }],
  ['DeleteUser', { kind: 'user', fields: { name: [USER_NAME] } }],
  ['AssumeRole', { kind: 'role', fields: { id: [p('requestParameters.roleArn')] } }],
  ['StopLogging', { kind: 'trail', fields: { id: [p('requestParameters.name')] } }],
  ['DeleteTrail', { kind: 'trail', fields: { id: [p('requestParameters.name')] } }],
  ['UpdateTrail', { kind: 'trail', fields: { id: [p('requestParameters.name')] } }],
]);

const targetFieldEntries = new Map<TargetSpec, [string, readonly RawPath[]][]>();

/** `Object.entries(spec.fields)`, once per spec rather than once per event. */
function fieldsOf(spec: TargetSpec): [string, readonly RawPath[]][] {
  let entries = targetFieldEntries.get(spec);
  if (entries === undefined) {
    entries = Object.entries(spec.fields);
    targetFieldEntries.set(spec, entries);
  }
  return entries;
}

/**
 * Normalizes one CloudTrail record. Insights records (`eventType: AwsCloudTrailInsight`) carry no
 * API call of their own: they get provider `AWS CloudTrail Insights` and the insight type as action,
 * so a rule about `DeleteAccessKey` never fires on an insight about `DeleteAccessKey` call rates.
 * Records without `eventID` (old examples, some exports) get a content-derived id.
 */
export function normalizeCloudTrail(record: unknown): NormalizedEvent {
  return prepareCloudTrail(record).normalize();
}

/** Validates a CloudTrail record and settles its head; `normalize()` builds the rest. */
export function prepareCloudTrail(record: unknown): PreparedEvent {
  return prepareGuarded(SOURCE, prepare, record);
}

function prepare(record: unknown): PreparedEvent {
  if (!isObject(record)) throw new NormalizationError(SOURCE, '(record)', 'not a JSON object');
  const call = isInsight(record) ? insightCall(record) : apiCall(record);
  const times = [{ field: 'eventTime', value: own(record, 'eventTime') }];
  return new Prepared(SOURCE, 'aws', record, call, times, normalize);
}

function normalize(record: RawObject, call: Call, timestamp: ResolvedTimestamp): NormalizedEvent {
  const { doc, provenance } = coreDocument({
    source: SOURCE,
    cloud: 'aws',
    timestamp,
    id: strOrNumber(own(record, 'eventID')) ?? derivedEventId(record),
    provider: call.provider,
    action: call.action,
    outcome: call.insight ? 'unknown' : outcomeOf(record, call.action),
    provenance: call.provenance,
  });
  const out = doc as JsonObject;
  applyTable(out, record, TABLE);

  const identity = own(record, 'userIdentity');
  const resource = arnResource(str(own(identity, 'arn')));
  const userName = userNameOf(identity, resource);
  setPath(out, ['user', 'name'], userName);
  const sourceIp = ipOf(str(own(record, 'sourceIPAddress')));
  setPath(out, ['source', 'ip'], sourceIp);

  const target = call.insight ? undefined : targetOf(record, call.action, identity, userName);
  if (target !== undefined) out.target = target;

  const related = unique([
    userName,
    str(own(identity, 'userName')),
    sessionNameOf(identity, resource),
    str(at(identity, ['sessionContext', 'sessionIssuer', 'userName'])),
    typeof target?.principal === 'string' ? target.principal : undefined,
    target?.kind === 'user' && typeof target.name === 'string' ? target.name : undefined,
  ]);
  const relatedFields = relatedOf(related, sourceIp);
  if (relatedFields !== undefined) out.related = relatedFields;
  return { doc, provenance };
}

interface Call {
  readonly insight: boolean;
  readonly provider: string;
  readonly action: string;
  readonly provenance: { providerEntry: string; actionEntry: string; rawProvider: string; rawAction: string };
}

function isInsight(record: RawObject): boolean {
  return own(record, 'eventType') === AWS_INSIGHTS.eventType;
}

function insightCall(record: RawObject): Call {
  const insightType = str(at(record, ['insightDetails', 'insightType']));
  if (insightType === undefined) {
    throw new NormalizationError(SOURCE, 'insightDetails.insightType', 'missing in an Insights record');
  }
  return {
    insight: true,
    provider: AWS_INSIGHTS.provider,
    action: insightType,
    provenance: {
      providerEntry: AWS_INSIGHTS.id,
      actionEntry: PASSTHROUGH_ENTRY,
      rawProvider: AWS_INSIGHTS.eventType,
      rawAction: insightType,
    },
  };
}

function apiCall(record: RawObject): Call {
  const eventSource = str(own(record, 'eventSource'));
  if (eventSource === undefined)
    throw new NormalizationError(SOURCE, 'eventSource', 'missing or not a string');
  // Catalogued event sources have the shape (test/normalizers/catalog.test.ts): only others are checked.
  const service = awsService(eventSource);
  if (service === undefined && !AWS_EVENT_SOURCE_SHAPE.test(eventSource)) {
    throw new NormalizationError(SOURCE, 'eventSource', 'not a service endpoint name');
  }
  const eventName = str(own(record, 'eventName'));
  if (eventName === undefined) throw new NormalizationError(SOURCE, 'eventName', 'missing or not a string');
  return {
    insight: false,
    provider: service?.provider ?? eventSource,
    action: eventName,
    provenance: {
      providerEntry: service?.id ?? FALLBACK_ENTRY,
      actionEntry: PASSTHROUGH_ENTRY,
      rawProvider: eventSource,
      rawAction: eventName,
    },
  };
}

/** Failure when CloudTrail says so: an error code or message, or a console event whose response is `Failure`. */
function outcomeOf(record: RawObject, eventName: string): 'success' | 'failure' {
  if (str(own(record, 'errorCode')) !== undefined || str(own(record, 'errorMessage')) !== undefined)
    return 'failure';
  return own(own(record, 'responseElements'), eventName) === 'Failure' ? 'failure' : 'success';
}

/** The resource part of an ARN split on `/`: `arn:aws:sts::1:assumed-role/R/S` → `['assumed-role', 'R', 'S']`. */
function arnResource(arn: string | undefined): string[] | undefined {
  if (arn === undefined || !arn.startsWith('arn:')) return undefined;
  let colon = -1;
  for (let i = 0; i < 5; i++) {
    colon = arn.indexOf(':', colon + 1);
    if (colon === -1) return undefined;
  }
  return arn.slice(colon + 1).split('/');
}

/** `resource` is `arnResource` of the identity's ARN, computed once per record by the caller. */
function userNameOf(identity: unknown, resource: string[] | undefined): string | undefined {
  const type = str(own(identity, 'type'));
  const userName = str(own(identity, 'userName'));
  switch (type) {
    case 'AssumedRole':
    case 'FederatedUser':
      return (
        str(at(identity, ['sessionContext', 'sessionIssuer', 'userName'])) ??
        str(resource?.[type === 'AssumedRole' ? 1 : resource.length - 1]) ??
        userName
      );
    case 'Root':
      return userName ?? 'root';
    case 'AWSService':
      return str(own(identity, 'invokedBy'));
    default:
      return (
        userName ??
        (resource !== undefined && resource.length >= 2 ? str(resource[resource.length - 1]) : undefined)
      );
  }
}

/** The role session name of an assumed-role ARN: chosen by the caller, so it goes to `related.user` only. */
function sessionNameOf(identity: unknown, resource: string[] | undefined): string | undefined {
  if (own(identity, 'type') !== 'AssumedRole') return undefined;
  return resource !== undefined && resource.length >= 3 ? str(resource[resource.length - 1]) : undefined;
}

function targetOf(
  record: RawObject,
  eventName: string,
  identity: unknown,
  userName: string | undefined,
): EcsTarget | undefined {
  const spec = TARGETS.get(eventName);
  if (spec === undefined) return undefined;
  const target: EcsTarget = { kind: spec.kind };
  for (const [key, paths] of fieldsOf(spec)) {
    for (const path of paths) {
      const value = at(record, path);
      if (typeof value === 'string' ? value.length > 0 : typeof value === 'boolean') {
        target[key] = value as string | boolean;
        break;
      }
    }
  }
  if (spec.callerOwns === true) {
    const key = spec.kind === 'user' ? 'name' : 'principal';
    const type = own(identity, 'type');
    if (target[key] === undefined && (type === 'IAMUser' || type === 'Root') && userName !== undefined) {
      target[key] = userName;
    }
  }
  return Object.keys(target).length > 1 ? target : undefined;
}
