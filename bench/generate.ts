/**
 * Deterministic, production-sized audit events of the three clouds for the benchmarks. Every figure in
 * BENCHMARKS.md is measured on these, so they look like what the detector really sees: CloudTrail records
 * of 1–3 KB with session context, TLS details, resources and URL-encoded policy documents; Azure Activity
 * Log records in the Event Hub shape (claims, authorization evidence, no `eventDataId`, so every record
 * takes the derived-id path); GCP audit LogEntries with authorization info, request metadata and bodies.
 * A share of records (1% by default) are the seed rule's sensitive calls; some others are traps that
 * carry a sensitive name where a naive substring search would see it (policy documents granting
 * `iam:CreatePolicyVersion`, error messages, role-assignment deletes).
 *
 * Same seed, same events: a benchmark run is reproducible and before/after comparisons see equal input.
 */
import type { SourceName } from '../lambda/engine/ecs';

/** mulberry32: small, fast and good enough to vary synthetic events; not for anything secret. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const hex = (length: number): string => {
    let out = '';
    for (let i = 0; i < length; i++) out += '0123456789abcdef'[Math.floor(next() * 16)];
    return out;
  };
  const upper = (length: number): string => {
    let out = '';
    for (let i = 0; i < length; i++) out += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[Math.floor(next() * 32)];
    return out;
  };
  const uuid = (): string =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  return { next, int, pick, hex, upper, uuid, chance: (p) => next() < p };
}

export interface Random {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  hex(length: number): string;
  upper(length: number): string;
  uuid(): string;
  chance(probability: number): boolean;
}

/** One generated record and whether the seed rule should fire on it. */
export interface GeneratedEvent {
  readonly source: SourceName;
  readonly record: Record<string, unknown>;
  readonly sensitive: boolean;
}

export interface MixOptions {
  /** @default 42 */
  readonly seed?: number;
  /** Share of records that are the seed rule's sensitive calls. @default 0.01 */
  readonly sensitiveRate?: number;
  /** Share of records that are traps (sensitive names in the wrong place). @default 0.02 */
  readonly trapRate?: number;
  /** @default all three */
  readonly sources?: readonly SourceName[];
}

/** `count` events, round-robin over `sources`, deterministic for a given seed. */
export function generateEvents(count: number, options: MixOptions = {}): GeneratedEvent[] {
  const random = createRandom(options.seed ?? 42);
  const sources = options.sources ?? ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
  const sensitiveRate = options.sensitiveRate ?? 0.01;
  const trapRate = options.trapRate ?? 0.02;
  const events: GeneratedEvent[] = [];
  const start = Date.UTC(2024, 4, 1);
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length] as SourceName;
    const roll = random.next();
    const kind: Kind =
      roll < sensitiveRate ? 'sensitive' : roll < sensitiveRate + trapRate ? 'trap' : 'routine';
    const time = new Date(start + i * 37_000 + random.int(0, 999));
    events.push(generateOne(random, source, kind, time));
  }
  return events;
}

type Kind = 'sensitive' | 'trap' | 'routine';

/** One event of a source; exported for the local benchmark, which writes CloudTrail files. */
export function generateOne(random: Random, source: SourceName, kind: Kind, time: Date): GeneratedEvent {
  switch (source) {
    case 'aws-cloudtrail':
      return { source, record: cloudTrailRecord(random, kind, time), sensitive: kind === 'sensitive' };
    case 'azure-activity-logs':
      return { source, record: azureRecord(random, kind, time), sensitive: kind === 'sensitive' };
    case 'gcp-audit-logs':
      return { source, record: gcpEntry(random, kind, time), sensitive: kind === 'sensitive' };
  }
}

// AWS CloudTrail -----------------------------------------------------------------------------------------

const ACCOUNTS = ['111122223333', '444455556666', '777788889999', '123456789012', '210987654321'];
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
const ROLES = [
  'OrganizationAccountAccessRole',
  'AWSReservedSSO_AdministratorAccess_5f1e2d3c4b5a6978',
  'ci-deployer',
  'eks-node-role',
  'DataPipelineRole',
  'lambda-exec-orders',
];
const USERS = ['alice', 'bob', 'carol', 'terraform-ci', 'backup-agent', 'dave.ops'];
const AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/iam.list-roles',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69',
  'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.152.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0',
  'console.amazonaws.com',
];

interface AwsCall {
  readonly eventSource: string;
  readonly eventName: string;
  readonly readOnly: boolean;
  readonly request: (r: Random, account: string, region: string) => unknown;
  readonly response?: (r: Random, account: string, region: string) => unknown;
  readonly resources?: (r: Random, account: string, region: string) => unknown;
}

const POLICY_ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  'kms:Decrypt',
  'logs:PutLogEvents',
  'ec2:DescribeInstances',
  'sqs:SendMessage',
  'dynamodb:Query',
  'iam:PassRole',
];

function policyDocument(r: Random, account: string, extraAction?: string): string {
  const statements = [];
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) {
    const actions = [r.pick(POLICY_ACTIONS), r.pick(POLICY_ACTIONS)];
    if (i === 0 && extraAction !== undefined) actions.push(extraAction);
    statements.push({
      Sid: `Stmt${r.int(1000000, 9999999)}`,
      Effect: 'Allow',
      Action: actions,
      Resource: [`arn:aws:s3:::bucket-${r.hex(6)}/*`, `arn:aws:kms:us-east-1:${account}:key/${r.uuid()}`],
    });
  }
  // CloudTrail logs policy documents URL-encoded.
  return encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
}

function trustPolicy(r: Random, account: string): string {
  return encodeURIComponent(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${r.pick(ACCOUNTS)}:root`, Service: 'ec2.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': r.hex(16) } },
        },
      ],
      Id: `trust-${account}`,
    }),
  );
}

const ROUTINE_AWS: readonly AwsCall[] = [
  {
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    readOnly: true,
    request: (r) => ({
      instancesSet: {},
      filterSet: {
        items: [
          { name: 'tag:Environment', valueSet: { items: [{ value: r.pick(['prod', 'staging', 'dev']) }] } },
          { name: 'instance-state-name', valueSet: { items: [{ value: 'running' }] } },
        ],
      },
      maxResults: 1000,
    }),
  },
  {
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    readOnly: true,
    request: (r) => ({
      bucketName: `data-lake-${r.hex(6)}`,
      Host: 's3.us-east-1.amazonaws.com',
      key: `raw/year=2024/month=05/day=01/part-${r.hex(20)}.snappy.parquet`,
    }),
    resources: (r, account) => [
      {
        type: 'AWS::S3::Object',
        ARN: `arn:aws:s3:::data-lake-${r.hex(6)}/raw/part-${r.hex(20)}.snappy.parquet`,
      },
      { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::data-lake-${r.hex(6)}` },
    ],
  },
  {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    readOnly: true,
    request: (r, account) => ({
      roleArn: `arn:aws:iam::${account}:role/${r.pick(ROLES)}`,
      roleSessionName: `session-${r.hex(12)}`,
      durationSeconds: 3600,
    }),
    response: (r, account) => ({
      credentials: {
        accessKeyId: `ASIA${r.upper(16)}`,
        sessionToken: r.hex(120),
        expiration: 'May 1, 2024, 1:00:00 PM',
      },
      assumedRoleUser: {
        assumedRoleId: `AROA${r.upper(17)}:session-${r.hex(12)}`,
        arn: `arn:aws:sts::${account}:assumed-role/${r.pick(ROLES)}/session-${r.hex(12)}`,
      },
    }),
    resources: (r, account) => [
      { accountId: account, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${account}:role/${r.pick(ROLES)}` },
    ],
  },
  {
    eventSource: 'kms.amazonaws.com',
    eventName: 'Decrypt',
    readOnly: true,
    request: (r, account) => ({
      encryptionContext: {
        'aws:lambda:FunctionArn': `arn:aws:lambda:us-east-1:${account}:function:orders-${r.hex(4)}`,
      },
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    }),
    resources: (r, account, region) => [
      { accountId: account, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${region}:${account}:key/${r.uuid()}` },
    ],
  },
  {
    eventSource: 'logs.amazonaws.com',
    eventName: 'CreateLogStream',
    readOnly: false,
    request: (r) => ({
      logGroupName: `/aws/lambda/orders-${r.hex(4)}`,
      logStreamName: `2024/05/01/[$LATEST]${r.hex(32)}`,
    }),
  },
  {
    eventSource: 'dynamodb.amazonaws.com',
    eventName: 'DescribeTable',
    readOnly: true,
    request: (r) => ({ tableName: `orders-${r.hex(4)}` }),
  },
  {
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionConfiguration20150331v2',
    readOnly: false,
    request: (r) => ({ functionName: `orders-${r.hex(4)}`, memorySize: 512, timeout: 30, environment: {} }),
    response: (r, account, region) => ({
      functionName: `orders-${r.hex(4)}`,
      functionArn: `arn:aws:lambda:${region}:${account}:function:orders-${r.hex(4)}`,
      runtime: 'nodejs20.x',
      role: `arn:aws:iam::${account}:role/lambda-exec-orders`,
      handler: 'index.handler',
      codeSize: r.int(1000, 9000000),
      memorySize: 512,
      lastModified: '2024-05-01T12:00:00.000+0000',
      codeSha256: r.hex(43),
      version: '$LATEST',
      state: 'Active',
      architectures: ['arm64'],
    }),
  },
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'GetRole',
    readOnly: true,
    request: (r) => ({ roleName: r.pick(ROLES) }),
  },
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'ListAttachedRolePolicies',
    readOnly: true,
    request: (r) => ({ roleName: r.pick(ROLES), maxItems: 100 }),
  },
  {
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'LookupEvents',
    readOnly: true,
    request: () => ({
      maxResults: 50,
      lookupAttributes: [{ attributeKey: 'EventSource', attributeValue: 'ec2.amazonaws.com' }],
    }),
  },
  {
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    readOnly: true,
    request: (r, account, region) => ({
      secretId: `arn:aws:secretsmanager:${region}:${account}:secret:prod/orders/db-${r.hex(6)}`,
    }),
  },
];

const SENSITIVE_AWS: readonly AwsCall[] = [
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'DeleteAccessKey',
    readOnly: false,
    request: (r) => ({ userName: r.pick(USERS), accessKeyId: `AKIA${r.upper(16)}` }),
  },
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateAssumeRolePolicy',
    readOnly: false,
    request: (r, account) => ({ roleName: r.pick(ROLES), policyDocument: trustPolicy(r, account) }),
  },
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreatePolicyVersion',
    readOnly: false,
    request: (r, account) => ({
      policyArn: `arn:aws:iam::${account}:policy/app-${r.hex(6)}`,
      policyDocument: policyDocument(r, account),
      setAsDefault: true,
    }),
    response: (r) => ({
      policyVersion: {
        versionId: `v${r.int(2, 5)}`,
        isDefaultVersion: true,
        createDate: 'May 1, 2024, 12:00:00 PM',
      },
    }),
  },
];

/** Records that mention a sensitive name without being the sensitive call. */
const TRAP_AWS: readonly AwsCall[] = [
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    readOnly: false,
    request: (r, account) => ({
      roleName: r.pick(ROLES),
      policyName: 'allow-policy-admin',
      policyDocument: policyDocument(r, account, 'iam:CreatePolicyVersion'),
    }),
  },
  {
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    readOnly: false,
    request: (r) => ({ userName: r.pick(USERS) }),
    response: (r) => ({
      accessKey: {
        accessKeyId: `AKIA${r.upper(16)}`,
        status: 'Active',
        userName: r.pick(USERS),
        createDate: 'May 1, 2024, 12:00:00 PM',
      },
    }),
  },
  {
    eventSource: 'sts.amazonaws.com',
    eventName: 'GetCallerIdentity',
    readOnly: true,
    request: () => null,
  },
];

function awsIdentity(r: Random, account: string): Record<string, unknown> {
  const roll = r.next();
  if (roll < 0.6) {
    const role = r.pick(ROLES);
    const session = r.chance(0.5)
      ? `${r.pick(USERS)}@example.com`
      : `botocore-session-${r.int(1000000000, 1999999999)}`;
    const roleId = `AROA${r.upper(17)}`;
    return {
      type: 'AssumedRole',
      principalId: `${roleId}:${session}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      accountId: account,
      accessKeyId: `ASIA${r.upper(16)}`,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: roleId,
          arn: `arn:aws:iam::${account}:role/${role}`,
          accountId: account,
          userName: role,
        },
        webIdFederationData: {},
        attributes: {
          creationDate: '2024-05-01T11:02:13Z',
          mfaAuthenticated: r.chance(0.3) ? 'true' : 'false',
        },
        ...(r.chance(0.3) ? { sourceIdentity: `${r.pick(USERS)}@example.com` } : {}),
      },
    };
  }
  if (roll < 0.85) {
    const user = r.pick(USERS);
    return {
      type: 'IAMUser',
      principalId: `AIDA${r.upper(17)}`,
      arn: `arn:aws:iam::${account}:user/${user}`,
      accountId: account,
      accessKeyId: `AKIA${r.upper(16)}`,
      userName: user,
      ...(r.chance(0.4)
        ? {
            sessionContext: {
              sessionIssuer: {},
              webIdFederationData: {},
              attributes: { creationDate: '2024-05-01T10:00:00Z', mfaAuthenticated: 'true' },
            },
          }
        : {}),
    };
  }
  if (roll < 0.97)
    return {
      type: 'AWSService',
      invokedBy: r.pick([
        'lambda.amazonaws.com',
        'ec2.amazonaws.com',
        'cloudformation.amazonaws.com',
        'elasticloadbalancing.amazonaws.com',
      ]),
    };
  return {
    type: 'Root',
    principalId: account,
    arn: `arn:aws:iam::${account}:root`,
    accountId: account,
    accessKeyId: '',
  };
}

function cloudTrailRecord(r: Random, kind: Kind, time: Date): Record<string, unknown> {
  const call = r.pick(kind === 'sensitive' ? SENSITIVE_AWS : kind === 'trap' ? TRAP_AWS : ROUTINE_AWS);
  const account = r.pick(ACCOUNTS);
  const region = call.eventSource === 'iam.amazonaws.com' ? 'us-east-1' : r.pick(REGIONS);
  const identity = awsIdentity(r, account);
  const byService = identity.type === 'AWSService';
  const failed = r.chance(0.04);
  const record: Record<string, unknown> = {
    eventVersion: '1.09',
    userIdentity: identity,
    eventTime: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: byService
      ? identity.invokedBy
      : `${r.int(3, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
    userAgent: byService ? identity.invokedBy : r.pick(AGENTS),
  };
  if (failed) {
    record.errorCode = 'AccessDenied';
    record.errorMessage = `User: arn:aws:sts::${account}:assumed-role/${r.pick(ROLES)}/session is not authorized to perform: ${call.eventSource.split('.')[0]}:${call.eventName} on resource: arn:aws:${call.eventSource.split('.')[0]}::${account}:resource/${r.hex(8)} because no identity-based policy allows the ${call.eventSource.split('.')[0]}:${call.eventName} action`;
  }
  record.requestParameters = call.request(r, account, region);
  record.responseElements = failed || call.response === undefined ? null : call.response(r, account, region);
  if (call.eventSource === 's3.amazonaws.com') {
    record.additionalEventData = {
      SignatureVersion: 'SigV4',
      CipherSuite: 'TLS_AES_128_GCM_SHA256',
      bytesTransferredIn: 0,
      AuthenticationMethod: 'AuthHeader',
      'x-amz-id-2': r.hex(60),
      bytesTransferredOut: r.int(100, 90000000),
    };
  }
  record.requestID = r.uuid();
  record.eventID = r.uuid();
  record.readOnly = call.readOnly;
  if (call.resources !== undefined) record.resources = call.resources(r, account, region);
  record.eventType = 'AwsApiCall';
  record.managementEvent = call.eventSource !== 's3.amazonaws.com';
  record.recipientAccountId = account;
  record.eventCategory = call.eventSource === 's3.amazonaws.com' ? 'Data' : 'Management';
  if (!byService) {
    record.tlsDetails = {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${call.eventSource.replace('.amazonaws.com', '')}.${region}.amazonaws.com`,
    };
  }
  if (r.chance(0.2)) record.sessionCredentialFromConsole = 'true';
  return record;
}

// Azure Activity Log (Event Hub shape) -------------------------------------------------------------------

const SUBSCRIPTIONS = [
  '0b1f6471-1bf0-4dda-aec3-111111111111',
  '5c3c6f1e-2d7a-4b8e-9f20-222222222222',
  '9a8b7c6d-5e4f-4a3b-8c2d-333333333333',
];
const RESOURCE_GROUPS = ['rg-prod-web', 'rg-data', 'rg-shared-network', 'rg-aks-prod'];
const ROUTINE_AZURE = [
  ['MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE', 'Microsoft.Compute/virtualMachines', 'vm-web-'],
  ['MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE', 'Microsoft.Network/networkSecurityGroups', 'nsg-'],
  ['MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION', 'Microsoft.Storage/storageAccounts', 'stdata'],
  ['MICROSOFT.KEYVAULT/VAULTS/WRITE', 'Microsoft.KeyVault/vaults', 'kv-prod-'],
  ['MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE', 'Microsoft.Resources/deployments', 'deploy-'],
  ['MICROSOFT.WEB/SITES/RESTART/ACTION', 'Microsoft.Web/sites', 'app-orders-'],
  [
    'MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION',
    'Microsoft.ContainerService/managedClusters',
    'aks-',
  ],
] as const;

function azureClaims(r: Random, upn: string, oid: string, tenant: string): Record<string, string> {
  return {
    aud: 'https://management.core.windows.net/',
    iss: `https://sts.windows.net/${tenant}/`,
    iat: String(1714560000 + r.int(0, 3600)),
    nbf: String(1714560000 + r.int(0, 3600)),
    exp: String(1714563600 + r.int(0, 3600)),
    'http://schemas.microsoft.com/claims/authnclassreference': '1',
    aio: `${r.upper(20)}${r.hex(24)}`,
    'http://schemas.microsoft.com/claims/authnmethodsreferences': 'pwd,mfa',
    appid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    appidacr: '0',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname': 'Doe',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname': 'Jane',
    groups: `${r.uuid()},${r.uuid()}`,
    ipaddr: `${r.int(3, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
    name: 'Jane Doe',
    'http://schemas.microsoft.com/identity/claims/objectidentifier': oid,
    puid: r.hex(16).toUpperCase(),
    rh: `0.${r.upper(40)}.`,
    'http://schemas.microsoft.com/identity/claims/scope': 'user_impersonation',
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier': r.upper(43),
    'http://schemas.microsoft.com/identity/claims/tenantid': tenant,
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name': upn,
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': upn,
    uti: r.upper(22),
    ver: '1.0',
    xms_tcdt: '1469565974',
  };
}

function azureRecord(r: Random, kind: Kind, time: Date): Record<string, unknown> {
  const subscription = r.pick(SUBSCRIPTIONS);
  const group = r.pick(RESOURCE_GROUPS);
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const upn = `${r.pick(USERS)}@contoso.com`;
  const oid = r.uuid();
  let operationName: string;
  let resourceId: string;
  let requestbody: string | undefined;
  if (kind === 'sensitive') {
    const elevate = r.chance(0.2);
    operationName = elevate
      ? 'Microsoft.Authorization/elevateAccess/action'
      : r.pick([
          'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
          'Microsoft.Authorization/roleAssignments/write',
        ]);
    resourceId = elevate
      ? '/providers/Microsoft.Authorization'
      : `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Authorization/roleAssignments/${r.uuid()}`;
    if (!elevate) {
      requestbody = JSON.stringify({
        Id: r.uuid(),
        Properties: {
          PrincipalId: r.uuid(),
          PrincipalType: 'User',
          RoleDefinitionId: `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`,
          Scope: `/subscriptions/${subscription}/resourceGroups/${group}`,
          Condition: null,
          ConditionVersion: null,
        },
      });
    }
  } else if (kind === 'trap') {
    operationName = r.pick([
      'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE',
      'Microsoft.Authorization/roleDefinitions/write',
      'Microsoft.Authorization/policyAssignments/write',
    ]);
    resourceId = `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Authorization/roleAssignments/${r.uuid()}`;
  } else {
    const [op, type, prefix] = r.pick(ROUTINE_AZURE);
    operationName = op;
    resourceId = `/subscriptions/${subscription}/resourceGroups/${group}/providers/${type}/${prefix}${r.hex(6)}`;
  }
  const phase = r.chance(0.5) ? 'Start' : 'Success';
  const record: Record<string, unknown> = {
    RoleLocation: 'West Europe',
    time: time.toISOString().replace('Z', '0000Z'),
    resourceId: resourceId.toUpperCase(),
    operationName,
    category: 'Administrative',
    resultType: phase,
    resultSignature: phase === 'Start' ? 'Started.' : 'Succeeded.Created',
    durationMs: phase === 'Start' ? '0' : String(r.int(50, 9000)),
    callerIpAddress: `${r.int(3, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
    correlationId: r.uuid(),
    identity: {
      authorization: {
        scope: resourceId,
        action: operationName,
        evidence: {
          role: 'Owner',
          roleAssignmentScope: `/subscriptions/${subscription}`,
          roleAssignmentId: r.hex(32),
          roleDefinitionId: '8e3af657a8ff443ca75c2fe8c4bcb635',
          principalId: oid.replaceAll('-', ''),
          principalType: 'User',
        },
      },
      claims: azureClaims(r, upn, oid, tenant),
    },
    level: 'Information',
    location: 'global',
    properties: {
      statusCode: phase === 'Start' ? 'Created' : 'OK',
      serviceRequestId: r.uuid(),
      eventCategory: 'Administrative',
      entity: resourceId,
      message: operationName,
      hierarchy: `${tenant}/${subscription}`,
      ...(requestbody !== undefined && phase === 'Start' ? { requestbody } : {}),
      ...(requestbody !== undefined && phase === 'Success' ? { responseBody: requestbody } : {}),
    },
  };
  return record;
}

// GCP Cloud Audit Logs -----------------------------------------------------------------------------------

const PROJECTS = ['acme-prod-4821', 'acme-data-1193', 'acme-shared-net', 'acme-ml-7730'];
const ROUTINE_GCP = [
  [
    'compute.googleapis.com',
    'v1.compute.instances.insert',
    'gce_instance',
    'projects/{p}/zones/europe-west1-b/instances/web-{h}',
  ],
  [
    'storage.googleapis.com',
    'storage.objects.create',
    'gcs_bucket',
    'projects/_/buckets/{p}-lake/objects/raw/{h}.json',
  ],
  [
    'container.googleapis.com',
    'google.container.v1.ClusterManager.UpdateCluster',
    'gke_cluster',
    'projects/{p}/locations/europe-west1/clusters/gke-{h}',
  ],
  [
    'iam.googleapis.com',
    'google.iam.admin.v1.CreateServiceAccount',
    'service_account',
    'projects/{p}/serviceAccounts/{h}@{p}.iam.gserviceaccount.com',
  ],
  ['cloudresourcemanager.googleapis.com', 'GetIamPolicy', 'project', 'projects/{p}'],
  [
    'bigquery.googleapis.com',
    'google.cloud.bigquery.v2.JobService.InsertJob',
    'bigquery_project',
    'projects/{p}/jobs/bqjob_{h}',
  ],
  [
    'cloudkms.googleapis.com',
    'Decrypt',
    'cloudkms_cryptokey',
    'projects/{p}/locations/global/keyRings/ring/cryptoKeys/key-{h}',
  ],
] as const;

function gcpEntry(r: Random, kind: Kind, time: Date): Record<string, unknown> {
  const project = r.pick(PROJECTS);
  const fill = (template: string, h: string): string =>
    template.replaceAll('{p}', project).replaceAll('{h}', h);
  let serviceName: string;
  let methodName: string;
  let type: string;
  let resourceName: string;
  let request: Record<string, unknown> | undefined;
  let serviceData: Record<string, unknown> | undefined;
  const principal = r.chance(0.5)
    ? `${r.pick(USERS)}@acme.example`
    : `deployer@${project}.iam.gserviceaccount.com`;
  if (kind === 'sensitive') {
    const keyDelete = r.chance(0.4);
    if (keyDelete) {
      serviceName = 'iam.googleapis.com';
      methodName = 'google.iam.admin.v1.DeleteServiceAccountKey';
      type = 'service_account';
      resourceName = `projects/${project}/serviceAccounts/app-${r.hex(4)}@${project}.iam.gserviceaccount.com/keys/${r.hex(40)}`;
      request = {
        '@type': 'type.googleapis.com/google.iam.admin.v1.DeleteServiceAccountKeyRequest',
        name: resourceName,
      };
    } else {
      [serviceName, methodName, type] = r.pick([
        ['cloudresourcemanager.googleapis.com', 'SetIamPolicy', 'project'],
        ['compute.googleapis.com', 'v1.compute.disks.setIamPolicy', 'gce_disk'],
        ['iam.googleapis.com', 'google.iam.admin.v1.SetIAMPolicy', 'service_account'],
      ] as const);
      resourceName = `projects/${project}`;
      const member = `user:${r.pick(USERS)}@acme.example`;
      request = {
        '@type': 'type.googleapis.com/google.iam.v1.SetIamPolicyRequest',
        resource: resourceName,
        policy: {
          bindings: [
            {
              role: 'roles/editor',
              members: [member, `serviceAccount:deployer@${project}.iam.gserviceaccount.com`],
            },
          ],
          etag: `BwX${r.upper(9)}=`,
        },
      };
      serviceData = {
        '@type': 'type.googleapis.com/google.iam.v1.logging.AuditData',
        policyDelta: { bindingDeltas: [{ action: 'ADD', role: 'roles/editor', member }] },
      };
    }
  } else if (kind === 'trap') {
    [serviceName, methodName, type] = r.pick([
      ['storage.googleapis.com', 'storage.setIamPermissions', 'gcs_bucket'],
      ['iam.googleapis.com', 'google.iam.admin.v1.CreateServiceAccountKey', 'service_account'],
      ['cloudresourcemanager.googleapis.com', 'GetIamPolicy', 'project'],
    ] as const);
    resourceName = `projects/${project}/serviceAccounts/app@${project}.iam.gserviceaccount.com`;
  } else {
    const [service, method, resource, template] = r.pick(ROUTINE_GCP);
    serviceName = service;
    methodName = method;
    type = resource;
    resourceName = fill(template, r.hex(8));
    request = {
      '@type': `type.googleapis.com/${method.split('.').slice(0, -1).join('.') || 'google.Request'}`,
      name: resourceName,
      requestId: r.uuid(),
    };
  }
  const failed = r.chance(0.03);
  const entry: Record<string, unknown> = {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: failed ? { code: 7, message: 'PERMISSION_DENIED' } : {},
      authenticationInfo: {
        principalEmail: principal,
        principalSubject: principal.includes('gserviceaccount')
          ? `serviceAccount:${principal}`
          : `user:${principal}`,
        ...(r.chance(0.3)
          ? {
              serviceAccountKeyName: `//iam.googleapis.com/projects/${project}/serviceAccounts/${principal}/keys/${r.hex(40)}`,
            }
          : {}),
      },
      requestMetadata: {
        callerIp: `${r.int(3, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
        callerSuppliedUserAgent: r.pick([
          'google-cloud-sdk gcloud/471.0.0 command/gcloud.compute.instances.create invocation-id/' +
            r.hex(32) +
            ' environment/None environment-version/None client-os/LINUX client-os-ver/6.5.0 client-pltf-arch/x86_64 interactive/True from-script/False python/3.11.8 term/xterm-256color (Linux 6.5.0-1020-gcp),gzip(gfe)',
          'Terraform/1.7.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.24.0,gzip(gfe)',
          'grpc-go/1.62.1,gzip(gfe)',
        ]),
        requestAttributes: { time: time.toISOString(), auth: {} },
        destinationAttributes: {},
      },
      serviceName,
      methodName,
      authorizationInfo: [
        {
          resource: resourceName,
          permission: `${serviceName.split('.')[0]}.${type}.${methodName.split('.').pop()?.toLowerCase()}`,
          granted: !failed,
          resourceAttributes: { service: serviceName, name: resourceName, type: `${serviceName}/${type}` },
        },
      ],
      resourceName,
      ...(request !== undefined ? { request } : {}),
      ...(serviceData !== undefined ? { serviceData } : {}),
      resourceLocation: { currentLocations: [r.pick(['europe-west1', 'us-central1', 'global'])] },
    },
    insertId: `${r.hex(12)}${r.int(0, 9)}`,
    resource: {
      type,
      labels: {
        project_id: project,
        ...(type === 'gce_instance'
          ? { zone: 'europe-west1-b', instance_id: String(r.int(1e15, 9e15)) }
          : {}),
      },
    },
    timestamp: time.toISOString(),
    severity: failed ? 'ERROR' : 'NOTICE',
    logName: `projects/${project}/logs/cloudaudit.googleapis.com%2Factivity`,
    operation: r.chance(0.3)
      ? { id: `operation-${r.hex(20)}`, producer: serviceName, first: true }
      : undefined,
    receiveTimestamp: new Date(time.getTime() + r.int(100, 2000)).toISOString(),
  };
  if (entry.operation === undefined) delete entry.operation;
  return entry;
}
