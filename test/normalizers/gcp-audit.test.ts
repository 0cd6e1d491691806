import { describe, expect, it } from 'vitest';
import { NormalizationError, normalizeGcpAudit } from '../../lambda/engine/normalizers';
import { gcpDeleteServiceAccountKey, gcpStorageSetIamPolicy, get } from './fixtures';

const key =
  'projects/payments-prod-381204/serviceAccounts/ledger-writer@payments-prod-381204.iam.gserviceaccount.com/keys/5d1e0c9f3b7a2e8d4c6b0a9f1e2d3c4b5a6f7e8d';

/** The storage fixture with another method (and optionally another service). */
function withMethod(methodName: string, serviceName = 'storage.googleapis.com') {
  return gcpStorageSetIamPolicy({}, { methodName, serviceName });
}

describe('normalizeGcpAudit', () => {
  describe('fields', () => {
    it.each([
      ['@timestamp', gcpDeleteServiceAccountKey(), '2024-05-14T16:22:09.412Z'],
      ['event.id', gcpDeleteServiceAccountKey(), '1x8k2c9e4ab7'],
      ['event.kind', gcpDeleteServiceAccountKey(), 'event'],
      ['event.dataset', gcpDeleteServiceAccountKey(), 'gcp-audit-logs'],
      ['event.provider', gcpDeleteServiceAccountKey(), 'gcp.iam'],
      ['event.action', gcpDeleteServiceAccountKey(), 'google.iam.admin.v1.DeleteServiceAccountKey'],
      ['event.outcome', gcpDeleteServiceAccountKey(), 'success'],
      ['cloud.provider', gcpDeleteServiceAccountKey(), 'gcp'],
      ['cloud.account.id', gcpDeleteServiceAccountKey(), 'payments-prod-381204'],
      ['cloud.project.id', gcpDeleteServiceAccountKey(), 'payments-prod-381204'],
      ['user.name', gcpDeleteServiceAccountKey(), 'sam.okafor@payments.example'],
      ['user.id', gcpDeleteServiceAccountKey(), 'user:sam.okafor@payments.example'],
      ['source.ip', gcpDeleteServiceAccountKey(), '198.51.100.140'],
      [
        'user_agent.original',
        gcpDeleteServiceAccountKey(),
        'google-cloud-sdk gcloud/475.0.0 command/gcloud.iam.service-accounts.keys.delete',
      ],
      [
        'target',
        gcpDeleteServiceAccountKey(),
        {
          kind: 'service_account_key',
          id: key,
          principal: 'ledger-writer@payments-prod-381204.iam.gserviceaccount.com',
        },
      ],
      [
        'related.user',
        gcpDeleteServiceAccountKey(),
        ['sam.okafor@payments.example', 'ledger-writer@payments-prod-381204.iam.gserviceaccount.com'],
      ],
      ['related.ip', gcpDeleteServiceAccountKey(), ['198.51.100.140']],
      ['gcp.audit.method_name', gcpDeleteServiceAccountKey(), 'google.iam.admin.v1.DeleteServiceAccountKey'],
      ['gcp.audit.service_name', gcpDeleteServiceAccountKey(), 'iam.googleapis.com'],
      ['gcp.audit.resource_name', gcpDeleteServiceAccountKey(), key],
      ['gcp.audit.request.name', gcpDeleteServiceAccountKey(), key],
      [
        'gcp.audit.log_name',
        gcpDeleteServiceAccountKey(),
        'projects/payments-prod-381204/logs/cloudaudit.googleapis.com%2Factivity',
      ],
      ['event.provider', gcpStorageSetIamPolicy(), 'gcp.storage'],
      ['event.action', gcpStorageSetIamPolicy(), 'storage.setIamPermissions'],
      ['cloud.region', gcpStorageSetIamPolicy(), 'europe-west4'],
      ['source.ip', gcpStorageSetIamPolicy(), '2001:db8:85a3::8a2e:370:7334'],
      ['target', gcpStorageSetIamPolicy(), { kind: 'resource', id: 'projects/_/buckets/exports-eu-7731' }],
    ])('sets %s', (field, record, expected) => {
      // Act
      const { doc } = normalizeGcpAudit(record);

      // Assert
      expect(get(doc, field)).toEqual(expected);
    });
  });

  it.each([
    ['SetIamPolicy', 'cloudresourcemanager.googleapis.com'],
    ['google.iam.admin.v1.SetIAMPolicy', 'iam.googleapis.com'],
    ['v1.compute.disks.setIamPolicy', 'compute.googleapis.com'],
    ['google.pubsub.v1.Publisher.SetIamPolicy', 'pubsub.googleapis.com'],
    ['google.iam.v1.IAMPolicy.SetIamPolicy', 'bigquery.googleapis.com'],
    ['storage.buckets.SETIAMPOLICY', 'storage.googleapis.com'],
  ])('normalizes %s on %s to gcp.iam / SetIamPolicy and keeps the raw values', (methodName, serviceName) => {
    // Act
    const { doc, provenance } = normalizeGcpAudit(withMethod(methodName, serviceName));

    // Assert
    expect([doc.event.provider, doc.event.action]).toEqual(['gcp.iam', 'SetIamPolicy']);
    expect(get(doc, 'gcp.audit.method_name')).toBe(methodName);
    expect(get(doc, 'gcp.audit.service_name')).toBe(serviceName);
    expect(provenance).toEqual({
      source: 'gcp-audit-logs',
      providerEntry: 'gcp.action.SetIamPolicy',
      actionEntry: 'gcp.action.SetIamPolicy',
      rawProvider: serviceName,
      rawAction: methodName,
    });
  });

  it.each([
    ['storage.setIamPermissions', 'gcp.storage', 'storage.setIamPermissions'],
    ['google.iam.admin.v1.GetIAMPolicy', 'gcp.storage', 'google.iam.admin.v1.GetIAMPolicy'],
    ['SetIamPolicyLater', 'gcp.storage', 'SetIamPolicyLater'],
    ['v1.compute.disks.setIamPolicy.preview', 'gcp.storage', 'v1.compute.disks.setIamPolicy.preview'],
  ])('does not treat %s as an IAM policy write', (methodName, provider, action) => {
    // Act
    const { doc } = normalizeGcpAudit(withMethod(methodName));

    // Assert
    expect([doc.event.provider, doc.event.action]).toEqual([provider, action]);
  });

  it.each([
    ['iam.googleapis.com', 'gcp.iam', 'gcp.service.iam'],
    ['k8s.io', 'gcp.k8s', 'gcp.service.k8s'],
    ['newthing.googleapis.com', 'gcp.newthing', 'fallback'],
  ])('maps serviceName %s to %s', (serviceName, provider, entry) => {
    // Act
    const { doc, provenance } = normalizeGcpAudit(withMethod('google.example.v1.Do', serviceName));

    // Assert
    expect(doc.event.provider).toBe(provider);
    expect(provenance.providerEntry).toBe(entry);
  });

  it('surfaces the binding delta of a SetIamPolicy and the single added member', () => {
    // Act
    const { doc } = normalizeGcpAudit(withMethod('storage.buckets.setIamPolicy'));

    // Assert
    expect(doc.target).toEqual({
      kind: 'iam_policy',
      id: 'projects/_/buckets/exports-eu-7731',
      scope: 'projects/_/buckets/exports-eu-7731',
      binding_deltas: [{ action: 'ADD', role: 'roles/storage.objectViewer', member: 'allUsers' }],
      principal: 'allUsers',
      role: 'roles/storage.objectViewer',
    });
  });

  it.each([
    ['empty status', {}, 'success', undefined],
    ['absent status', undefined, 'success', undefined],
    ['code 0', { code: 0 }, 'success', undefined],
    ['message only', { message: 'OK' }, 'success', undefined],
    ['permission denied', { code: 7, message: 'Permission denied' }, 'failure', '7'],
    ['code as a string', { code: '5', message: 'Not found' }, 'failure', '5'],
  ])('maps %s to %s', (_case, status, outcome, code) => {
    // Arrange
    const record = gcpDeleteServiceAccountKey();
    (record.protoPayload as Record<string, unknown>).status = status;

    // Act
    const { doc } = normalizeGcpAudit(record);

    // Assert
    expect(doc.event.outcome).toBe(outcome);
    expect(get(doc, 'error.code')).toBe(code);
  });

  it.each([
    ['receiveTimestamp when timestamp is missing', { timestamp: undefined }, '2024-05-14T16:22:10.118Z'],
    [
      'nanosecond space-separated times',
      { timestamp: '2024-05-14 16:22:09.412987000' },
      '2024-05-14T16:22:09.412Z',
    ],
    ['timestamp with offset', { timestamp: '2024-05-14T18:22:09.412987+02:00' }, '2024-05-14T16:22:09.412Z'],
  ])('reads the time from %s', (_case, overrides, expected) => {
    // Act
    const { doc } = normalizeGcpAudit(gcpDeleteServiceAccountKey(overrides));

    // Assert
    expect(doc['@timestamp']).toBe(expected);
  });

  it('falls back to logName for the project and to a derived id without insertId', () => {
    // Act
    const { doc } = normalizeGcpAudit(
      gcpDeleteServiceAccountKey({ insertId: undefined, resource: { type: 'service_account' } }),
    );

    // Assert
    expect(get(doc, 'cloud.account.id')).toBe('payments-prod-381204');
    expect(doc.event.id).toMatch(/^derived-[0-9a-f]{32}$/);
  });

  it('accepts the at_sign_type spelling of re-serialized entries', () => {
    // Arrange
    const record = gcpDeleteServiceAccountKey();
    const payload = record.protoPayload as Record<string, unknown>;
    const { '@type': type, ...rest } = payload;
    record.protoPayload = { ...rest, at_sign_type: type };

    // Act
    const { doc } = normalizeGcpAudit(record);

    // Assert
    expect(get(doc, 'gcp.audit.type')).toBe('type.googleapis.com/google.cloud.audit.AuditLog');
  });

  it.each([
    ['not an object', 'x', '(record)'],
    ['no protoPayload', { insertId: 'a', timestamp: '2024-05-14T00:00:00Z' }, 'protoPayload'],
    ['no methodName', withMethod(undefined as unknown as string), 'protoPayload.methodName'],
    ['no serviceName', gcpStorageSetIamPolicy({}, { serviceName: undefined }), 'protoPayload.serviceName'],
    [
      'no time at all',
      gcpDeleteServiceAccountKey({
        timestamp: undefined,
        receiveTimestamp: undefined,
        protoPayload: { methodName: 'm', serviceName: 's' },
      }),
      'timestamp | receiveTimestamp | protoPayload.requestMetadata.requestAttributes.time',
    ],
  ])('throws NormalizationError naming the field for %s', (_case, record, field) => {
    // Act
    const act = () => normalizeGcpAudit(record);

    // Assert
    expect(act).toThrow(NormalizationError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({ source: 'gcp-audit-logs', field });
    }
  });

  it('normalizes SetIamPolicy without serviceName, since the method alone makes it an IAM event', () => {
    // Act
    const { doc } = normalizeGcpAudit(
      gcpStorageSetIamPolicy({}, { serviceName: undefined, methodName: 'SetIamPolicy' }),
    );

    // Assert
    expect(doc.event.provider).toBe('gcp.iam');
  });

  it.each([
    ['requestMetadata as a string', { requestMetadata: '...' }],
    ['status as a string', { status: 'ok' }],
    ['bindingDeltas as an object', { serviceData: { policyDelta: { bindingDeltas: { action: 'ADD' } } } }],
    ['authenticationInfo as an array', { authenticationInfo: ['a'] }],
    ['resourceLocation with numbers', { resourceLocation: { currentLocations: [1] } }],
  ])('tolerates %s', (_case, payloadOverrides) => {
    // Act
    const { doc } = normalizeGcpAudit(gcpStorageSetIamPolicy({ resource: '...' }, payloadOverrides));

    // Assert
    expect(doc.event.provider).toBe('gcp.storage');
  });
});
