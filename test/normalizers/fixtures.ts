/**
 * The project's own vendor-shaped fixtures (not copied from the corpus): one realistic record per
 * situation, built by functions so each test can override the one field it is about.
 */

type Json = Record<string, unknown>;

/** An IAM user deleting another user's access key from the CLI. */
export function ctDeleteAccessKey(overrides: Json = {}): Json {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAZXCVBNMASDFGHJKL1',
      arn: 'arn:aws:iam::210987654321:user/ops/maria.ortega',
      accountId: '210987654321',
      accessKeyId: 'AKIAZXCVBNMASDFG1234',
      userName: 'maria.ortega',
    },
    eventTime: '2024-05-14T08:31:07Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'DeleteAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'aws-cli/2.15.40 md/Botocore#1.34.98 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8',
    requestParameters: { userName: 'ci-deployer', accessKeyId: 'AKIAQWERTYUIOPLKJH77' },
    responseElements: null,
    requestID: '3f1c9a52-6d0e-4b8f-9a3e-2c7d5e1b0a94',
    eventID: '0b5e2a71-98c4-4f3d-b1e6-7a2c9d4e8f10',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '210987654321',
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: 'iam.amazonaws.com',
    },
    ...overrides,
  };
}

/** A federated admin (assumed role) rewriting a role's trust policy from the console. */
export function ctUpdateAssumeRolePolicy(overrides: Json = {}): Json {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAYHJKLMNBVCXZ12345:dev.lee@example.org',
      arn: 'arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_AdminAccess_1a2b3c4d5e6f7a8b/dev.lee@example.org',
      accountId: '210987654321',
      accessKeyId: 'ASIAYHJKLMNBVCXZ9876',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAYHJKLMNBVCXZ12345',
          arn: 'arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdminAccess_1a2b3c4d5e6f7a8b',
          accountId: '210987654321',
          userName: 'AWSReservedSSO_AdminAccess_1a2b3c4d5e6f7a8b',
        },
        attributes: { creationDate: '2024-05-14T07:58:40Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: '2024-05-14T09:02:44Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateAssumeRolePolicy',
    awsRegion: 'us-east-1',
    sourceIPAddress: '2001:db8:4:12::7',
    userAgent: 'AWS Internal',
    requestParameters: {
      roleName: 'billing-exporter',
      policyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}',
    },
    responseElements: null,
    requestID: 'a9d8c7b6-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    eventID: 'e4d3c2b1-a0f9-4e8d-b7c6-5a4b3c2d1e0f',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '210987654321',
    eventCategory: 'Management',
    sessionCredentialFromConsole: 'true',
    ...overrides,
  };
}

/** A CI role publishing a new default version of a customer-managed policy, dated the way some exporters write it. */
export function ctCreatePolicyVersion(overrides: Json = {}): Json {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAPOIUYTREWQLKJHG01:gha-4821',
      arn: 'arn:aws:sts::210987654321:assumed-role/github-actions-deploy/gha-4821',
      accountId: '210987654321',
      accessKeyId: 'ASIAPOIUYTREWQLKJ555',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAPOIUYTREWQLKJHG01',
          arn: 'arn:aws:iam::210987654321:role/github-actions-deploy',
          accountId: '210987654321',
          userName: 'github-actions-deploy',
        },
        webIdFederationData: {
          federatedProvider: 'arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com',
          attributes: {},
        },
        attributes: { creationDate: '2024-05-14T10:11:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: '2024-05-14 10:12:31.123456789',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreatePolicyVersion',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.200',
    userAgent: 'aws-sdk-js/3.572.0 ua/2.0 os/linux#5.15 lang/js md/nodejs#20.12.2 api/iam#3.572.0',
    requestParameters: {
      policyArn: 'arn:aws:iam::210987654321:policy/app-runtime',
      policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
      setAsDefault: true,
    },
    responseElements: {
      policyVersion: { versionId: 'v7', isDefaultVersion: true, createDate: 'May 14, 2024 10:12:31 AM' },
    },
    requestID: '5c4b3a29-1807-4f6e-9d5c-4b3a2918f7e6',
    eventID: '7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2910',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '210987654321',
    eventCategory: 'Management',
    ...overrides,
  };
}

/** A failed root console sign-in (no errorCode: the failure is in responseElements). */
export function ctConsoleLoginFailure(overrides: Json = {}): Json {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'Root',
      principalId: '210987654321',
      arn: 'arn:aws:iam::210987654321:root',
      accountId: '210987654321',
      accessKeyId: '',
    },
    eventTime: '2024-05-14T03:12:09Z',
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.77',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
    errorMessage: 'Failed authentication',
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Failure' },
    additionalEventData: {
      LoginTo: 'https://console.aws.amazon.com/console/home',
      MobileVersion: 'No',
      MFAUsed: 'No',
    },
    eventID: '19a8b7c6-d5e4-4f3a-9b2c-1d0e9f8a7b6c',
    readOnly: false,
    eventType: 'AwsConsoleSignIn',
    managementEvent: true,
    recipientAccountId: '210987654321',
    eventCategory: 'Management',
    ...overrides,
  };
}

/** An access-denied call from a service (sourceIPAddress is a service name, not an IP). */
export function ctAccessDeniedByService(overrides: Json = {}): Json {
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'AWSService', invokedBy: 'config.amazonaws.com' },
    eventTime: '2024-05-14T11:00:00Z',
    eventSource: 'kms.amazonaws.com',
    eventName: 'Decrypt',
    awsRegion: 'eu-west-1',
    sourceIPAddress: 'config.amazonaws.com',
    userAgent: 'config.amazonaws.com',
    errorCode: 'AccessDenied',
    errorMessage: 'User is not authorized to perform kms:Decrypt',
    requestParameters: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    responseElements: null,
    eventID: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
    readOnly: true,
    eventType: 'AwsApiCall',
    recipientAccountId: '210987654321',
    ...overrides,
  };
}

/** A CloudTrail Insights record about an unusual rate of DeleteAccessKey calls. */
export function ctInsight(overrides: Json = {}): Json {
  return {
    eventVersion: '1.08',
    eventTime: '2024-05-14T12:01:00Z',
    awsRegion: 'us-east-1',
    eventID: 'c0ffee00-1234-4abc-9def-0123456789ab',
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: '210987654321',
    sharedEventID: 'c0ffee00-5678-4abc-9def-0123456789ab',
    insightDetails: {
      state: 'Start',
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteAccessKey',
      insightType: 'ApiCallRateInsight',
      insightContext: { statistics: { baseline: { average: 0.02 }, insight: { average: 14 } } },
    },
    eventCategory: 'Insight',
    ...overrides,
  };
}

/** The EventBridge envelope that delivers a CloudTrail record in real time. */
export function eventBridge(detail: Json, overrides: Json = {}): Json {
  return {
    version: '0',
    id: '6f8a2c1e-0d3b-4e5f-a6b7-c8d9e0f1a2b3',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: '210987654321',
    time: '2024-05-14T08:31:07Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...overrides,
  };
}

const subscription = '5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const assignmentId = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const assignmentResource = `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleAssignments/${assignmentId}`;
const ownerRole = `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`;
const claims = {
  aud: 'https://management.core.windows.net/',
  iss: 'https://sts.windows.net/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'priya.nair@contoso.example',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name': 'priya.nair@contoso.example',
  name: 'Priya Nair',
  'http://schemas.microsoft.com/identity/claims/objectidentifier': '4b3a2918-f7e6-4d5c-b4a3-928170f6e5d4',
  ipaddr: '203.0.113.45',
};

/**
 * The Start record of a role-assignment write as streamed to Event Hub (resource-log schema,
 * upper-case operation name, request body as a JSON string under `requestbody`).
 */
export function azRoleAssignmentStart(overrides: Json = {}): Json {
  return {
    time: '2024-05-14T13:20:11.4831057Z',
    resourceId: assignmentResource.toUpperCase(),
    operationName: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
    category: 'Administrative',
    resultType: 'Start',
    resultSignature: 'Started.',
    durationMs: '0',
    callerIpAddress: '203.0.113.45',
    correlationId: 'b1a2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    identity: {
      authorization: {
        scope: assignmentResource,
        action: 'Microsoft.Authorization/roleAssignments/write',
        evidence: {
          role: 'User Access Administrator',
          roleAssignmentScope: `/subscriptions/${subscription}`,
          roleAssignmentId: '0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c',
          roleDefinitionId: '18d7d88dd35e4fb5a5c37773c20a72d9',
          principalId: '4b3a2918f7e64d5cb4a3928170f6e5d4',
          principalType: 'User',
        },
      },
      claims,
    },
    level: 'Information',
    location: 'global',
    properties: {
      requestbody: JSON.stringify({
        Id: assignmentId,
        Properties: {
          PrincipalId: 'c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f',
          PrincipalType: 'ServicePrincipal',
          RoleDefinitionId: ownerRole,
          Scope: `/subscriptions/${subscription}`,
          Condition: null,
        },
      }),
      eventCategory: 'Administrative',
      entity: assignmentResource,
      message: 'Microsoft.Authorization/roleAssignments/write',
      hierarchy: `0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/mg-platform/${subscription}`,
    },
    ...overrides,
  };
}

/** The Success record of the same call: mixed-case name, result in `responseBody`. */
export function azRoleAssignmentSuccess(overrides: Json = {}): Json {
  return {
    ...azRoleAssignmentStart(),
    time: '2024-05-14T13:20:12.9154410Z',
    operationName: 'Microsoft.Authorization/roleAssignments/write',
    resultType: 'Success',
    resultSignature: 'Succeeded.Created',
    durationMs: '1432',
    properties: {
      statusCode: 'Created',
      serviceRequestId: '8e7f6a5b-4c3d-4e2f-9a1b-0c9d8e7f6a5b',
      responseBody: JSON.stringify({
        properties: {
          roleDefinitionId: ownerRole,
          principalId: 'c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f',
          principalType: 'ServicePrincipal',
          scope: `/subscriptions/${subscription}`,
        },
        id: assignmentResource,
        type: 'Microsoft.Authorization/roleAssignments',
        name: assignmentId,
      }),
      eventCategory: 'Administrative',
    },
    ...overrides,
  };
}

/** elevateAccess as the REST API / portal export shows it: localized operation name, status object, claims at top level. */
export function azElevateAccessRest(overrides: Json = {}): Json {
  return {
    authorization: {
      action: 'Microsoft.Authorization/elevateAccess/action',
      scope: '/providers/Microsoft.Authorization',
    },
    caller: 'priya.nair@contoso.example',
    channels: 'Operation',
    claims,
    correlationId: 'd4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a',
    description: '',
    eventDataId: 'aa11bb22-cc33-4d44-8e55-ff6677889900',
    eventName: { value: 'EndRequest', localizedValue: 'End request' },
    category: { value: 'Administrative', localizedValue: 'Administrative' },
    eventTimestamp: '2024-05-14T14:05:33.1234567Z',
    id: '/providers/Microsoft.Authorization/events/aa11bb22-cc33-4d44-8e55-ff6677889900/ticks/638512635331234567',
    level: 'Informational',
    operationId: 'e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9',
    operationName: {
      value: 'microsoft.authorization/elevateaccess/action',
      localizedValue: 'Assigns the caller to User Access Administrator role',
    },
    resourceProviderName: { value: 'Microsoft.Authorization', localizedValue: 'Microsoft.Authorization' },
    resourceId: '/providers/Microsoft.Authorization',
    status: { value: 'Succeeded', localizedValue: 'Succeeded' },
    subStatus: { value: 'OK', localizedValue: 'OK (HTTP Status Code: 200)' },
    submissionTimestamp: '2024-05-14T14:06:01.0000000Z',
    properties: { statusCode: 'OK', serviceRequestId: null },
    relatedEvents: [],
    ...overrides,
  };
}

/** A denied storage key listing (REST shape, Failed, error in properties). */
export function azListKeysFailed(overrides: Json = {}): Json {
  return {
    caller: 'svc-backup@contoso.example',
    claims,
    correlationId: '0e1d2c3b-4a59-4867-b5a4-c3d2e1f0a9b8',
    eventDataId: '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b',
    eventName: { value: 'EndRequest', localizedValue: 'End request' },
    category: { value: 'Administrative', localizedValue: 'Administrative' },
    eventTimestamp: '2024-05-14T15:40:02.5500000Z',
    operationName: {
      value: 'Microsoft.Storage/storageAccounts/listKeys/action',
      localizedValue: 'List Storage Account Keys',
    },
    resourceGroupName: 'rg-data',
    resourceId: `/subscriptions/${subscription}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stcontosodata01`,
    status: { value: 'Failed', localizedValue: 'Failed' },
    subStatus: { value: 'Forbidden', localizedValue: 'Forbidden (HTTP Status Code: 403)' },
    submissionTimestamp: '2024-05-14T15:41:10.0000000Z',
    subscriptionId: subscription,
    properties: {
      statusCode: 'Forbidden',
      statusMessage:
        '{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization to perform action"}}',
    },
    ...overrides,
  };
}

/** Deleting a service-account key through the IAM API. */
export function gcpDeleteServiceAccountKey(overrides: Json = {}): Json {
  const key =
    'projects/payments-prod-381204/serviceAccounts/ledger-writer@payments-prod-381204.iam.gserviceaccount.com/keys/5d1e0c9f3b7a2e8d4c6b0a9f1e2d3c4b5a6f7e8d';
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: {
        principalEmail: 'sam.okafor@payments.example',
        principalSubject: 'user:sam.okafor@payments.example',
      },
      requestMetadata: {
        callerIp: '198.51.100.140',
        callerSuppliedUserAgent:
          'google-cloud-sdk gcloud/475.0.0 command/gcloud.iam.service-accounts.keys.delete',
        requestAttributes: { time: '2024-05-14T16:22:09.481723Z', auth: {} },
        destinationAttributes: {},
      },
      serviceName: 'iam.googleapis.com',
      methodName: 'google.iam.admin.v1.DeleteServiceAccountKey',
      authorizationInfo: [
        { resource: key, permission: 'iam.serviceAccountKeys.delete', granted: true, resourceAttributes: {} },
      ],
      resourceName: key,
      request: {
        name: key,
        '@type': 'type.googleapis.com/google.iam.admin.v1.DeleteServiceAccountKeyRequest',
      },
      response: { '@type': 'type.googleapis.com/google.protobuf.Empty' },
    },
    insertId: '1x8k2c9e4ab7',
    resource: {
      type: 'service_account',
      labels: {
        email_id: 'ledger-writer@payments-prod-381204.iam.gserviceaccount.com',
        project_id: 'payments-prod-381204',
        unique_id: '104958372615243098761',
      },
    },
    timestamp: '2024-05-14T16:22:09.412987Z',
    severity: 'NOTICE',
    logName: 'projects/payments-prod-381204/logs/cloudaudit.googleapis.com%2Factivity',
    receiveTimestamp: '2024-05-14T16:22:10.118342511Z',
    ...overrides,
  };
}

/** A bucket made public: storage's SetIamPolicy with a binding delta. */
export function gcpStorageSetIamPolicy(overrides: Json = {}, payloadOverrides: Json = {}): Json {
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: 'terraform@infra-shared-220931.iam.gserviceaccount.com' },
      requestMetadata: {
        callerIp: '2001:db8:85a3::8a2e:370:7334',
        callerSuppliedUserAgent: 'Terraform/1.8.3 (+https://www.terraform.io) google-provider/5.29.1',
        requestAttributes: { time: '2024-05-14T17:45:00.002Z', auth: {} },
        destinationAttributes: {},
      },
      serviceName: 'storage.googleapis.com',
      methodName: 'storage.setIamPermissions',
      authorizationInfo: [
        {
          resource: 'projects/_/buckets/exports-eu-7731',
          permission: 'storage.buckets.setIamPolicy',
          granted: true,
        },
      ],
      resourceName: 'projects/_/buckets/exports-eu-7731',
      serviceData: {
        '@type': 'type.googleapis.com/google.iam.v1.logging.AuditData',
        policyDelta: {
          bindingDeltas: [{ action: 'ADD', role: 'roles/storage.objectViewer', member: 'allUsers' }],
        },
      },
      resourceLocation: { currentLocations: ['europe-west4'] },
      ...payloadOverrides,
    },
    insertId: '-r3f9ake1q2w',
    resource: {
      type: 'gcs_bucket',
      labels: { bucket_name: 'exports-eu-7731', project_id: 'infra-shared-220931', location: 'europe-west4' },
    },
    timestamp: '2024-05-14T17:45:00.001Z',
    severity: 'NOTICE',
    logName: 'projects/infra-shared-220931/logs/cloudaudit.googleapis.com%2Factivity',
    receiveTimestamp: '2024-05-14T17:45:01.337Z',
    ...overrides,
  };
}

/** Wraps a LogEntry as a Pub/Sub push request body. */
export function pubSubPush(entry: unknown): Json {
  return {
    message: {
      data: Buffer.from(JSON.stringify(entry), 'utf8').toString('base64'),
      messageId: '11223344556677',
      publishTime: '2024-05-14T16:22:11.000Z',
      attributes: { 'logging.googleapis.com/timestamp': '2024-05-14T16:22:09.412987Z' },
    },
    subscription: 'projects/sec-tooling-118822/subscriptions/audit-forwarder',
  };
}

/** Reads a dotted path from a normalized document (test helper). */
export function get(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
