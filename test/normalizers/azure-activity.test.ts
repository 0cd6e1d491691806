import { describe, expect, it } from 'vitest';
import { NormalizationError, normalizeAzureActivity } from '../../lambda/engine/normalizers';
import {
  azElevateAccessRest,
  azListKeysFailed,
  azRoleAssignmentStart,
  azRoleAssignmentSuccess,
  get,
} from './fixtures';

const subscription = '5f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const ownerRole = `/subscriptions/${subscription}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635`;
const assignee = 'c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f';

describe('normalizeAzureActivity', () => {
  describe('fields', () => {
    it.each([
      ['@timestamp', azRoleAssignmentStart(), '2024-05-14T13:20:11.483Z'],
      ['event.kind', azRoleAssignmentStart(), 'event'],
      ['event.dataset', azRoleAssignmentStart(), 'azure-activity-logs'],
      ['event.provider', azRoleAssignmentStart(), 'Microsoft.Authorization'],
      ['event.action', azRoleAssignmentStart(), 'roleAssignments/write'],
      ['event.outcome', azRoleAssignmentStart(), 'unknown'],
      ['event.outcome', azRoleAssignmentSuccess(), 'success'],
      ['cloud.provider', azRoleAssignmentStart(), 'azure'],
      ['cloud.account.id', azRoleAssignmentStart(), subscription.toUpperCase()],
      ['cloud.region', azRoleAssignmentStart(), 'global'],
      ['user.name', azRoleAssignmentStart(), 'priya.nair@contoso.example'],
      ['user.id', azRoleAssignmentStart(), '4b3a2918-f7e6-4d5c-b4a3-928170f6e5d4'],
      ['source.ip', azRoleAssignmentStart(), '203.0.113.45'],
      ['related.ip', azRoleAssignmentStart(), ['203.0.113.45']],
      ['related.user', azRoleAssignmentStart(), ['priya.nair@contoso.example', assignee]],
      ['target.kind', azRoleAssignmentStart(), 'role_assignment'],
      ['target.scope', azRoleAssignmentStart(), `/subscriptions/${subscription}`],
      ['target.principal', azRoleAssignmentStart(), assignee],
      ['target.principal_type', azRoleAssignmentStart(), 'ServicePrincipal'],
      ['target.role', azRoleAssignmentStart(), ownerRole],
      ['target.scope', azRoleAssignmentSuccess(), `/subscriptions/${subscription}`],
      ['target.principal', azRoleAssignmentSuccess(), assignee],
      ['target.role', azRoleAssignmentSuccess(), ownerRole],
      [
        'azure.activitylogs.operation_name',
        azRoleAssignmentStart(),
        'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
      ],
      ['azure.activitylogs.category', azRoleAssignmentStart(), 'Administrative'],
      ['azure.activitylogs.result_type', azRoleAssignmentStart(), 'Start'],
      ['azure.activitylogs.properties.eventCategory', azRoleAssignmentStart(), 'Administrative'],
      ['@timestamp', azElevateAccessRest(), '2024-05-14T14:05:33.123Z'],
      ['event.id', azElevateAccessRest(), 'aa11bb22-cc33-4d44-8e55-ff6677889900'],
      ['event.provider', azElevateAccessRest(), 'Microsoft.Authorization'],
      ['event.action', azElevateAccessRest(), 'elevateAccess'],
      ['event.outcome', azElevateAccessRest(), 'success'],
      ['user.name', azElevateAccessRest(), 'priya.nair@contoso.example'],
      ['source.ip', azElevateAccessRest(), '203.0.113.45'],
      ['target.scope', azElevateAccessRest(), '/'],
      ['target.name', azElevateAccessRest(), 'User Access Administrator'],
      ['target.principal', azElevateAccessRest(), '4b3a2918-f7e6-4d5c-b4a3-928170f6e5d4'],
      [
        'azure.activitylogs.operation_name.localizedValue',
        azElevateAccessRest(),
        'Assigns the caller to User Access Administrator role',
      ],
      ['azure.activitylogs.category.value', azElevateAccessRest(), 'Administrative'],
      ['event.provider', azListKeysFailed(), 'Microsoft.Storage'],
      ['event.action', azListKeysFailed(), 'storageAccounts/listKeys'],
      ['event.outcome', azListKeysFailed(), 'failure'],
      ['error.code', azListKeysFailed(), 'Forbidden'],
      ['error.message', azListKeysFailed(), get(azListKeysFailed(), 'properties.statusMessage')],
      ['cloud.account.id', azListKeysFailed(), subscription],
      ['user.name', azListKeysFailed(), 'svc-backup@contoso.example'],
      ['target.kind', azListKeysFailed(), 'resource'],
    ])('sets %s', (field, record, expected) => {
      // Act
      const { doc } = normalizeAzureActivity(record);

      // Assert
      expect(get(doc, field)).toEqual(expected);
    });
  });

  it.each([
    ['MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE', 'Microsoft.Authorization', 'roleAssignments/write'],
    ['microsoft.authorization/roleassignments/write', 'Microsoft.Authorization', 'roleAssignments/write'],
    ['Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization', 'roleAssignments/write'],
    ['Microsoft.Authorization/roleAssignments/delete', 'Microsoft.Authorization', 'roleAssignments/delete'],
    ['MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION', 'Microsoft.Authorization', 'elevateAccess'],
    ['Microsoft.Authorization/elevateAccess/action', 'Microsoft.Authorization', 'elevateAccess'],
    [
      'microsoft.authorization/policies/deployifnotexists/action',
      'Microsoft.Authorization',
      'policies/deployIfNotExists',
    ],
    ['MICROSOFT.AUTHORIZATION/LOCKS/DELETE', 'Microsoft.Authorization', 'locks/delete'],
    ['microsoft.insights/diagnosticsettings/delete', 'Microsoft.Insights', 'diagnosticSettings/delete'],
    ['MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION', 'Microsoft.Compute', 'virtualMachines/start'],
    ['microsoft.keyvault/vaults/accesspolicies/write', 'Microsoft.KeyVault', 'vaults/accessPolicies/write'],
    // Catalogued namespace, uncatalogued action: namespace canonical, action as written.
    ['MICROSOFT.COMPUTE/GALLERIES/WRITE', 'Microsoft.Compute', 'GALLERIES/WRITE'],
    // Uncatalogued namespace: both as written; /action dropped whatever its case.
    ['Contoso.Widgets/gadgets/write', 'Contoso.Widgets', 'gadgets/write'],
    ['CONTOSO.WIDGETS/GADGETS/RESET/ACTION', 'CONTOSO.WIDGETS', 'GADGETS/RESET'],
  ])('maps operationName %s to %s / %s', (operationName, provider, action) => {
    // Act
    const asString = normalizeAzureActivity(azRoleAssignmentStart({ operationName })).doc.event;
    const asObject = normalizeAzureActivity(
      azElevateAccessRest({
        operationName: { value: operationName, localizedValue: 'whatever the portal says' },
      }),
    ).doc.event;

    // Assert
    expect([asString.provider, asString.action]).toEqual([provider, action]);
    expect([asObject.provider, asObject.action]).toEqual([provider, action]);
  });

  it.each([
    [{ resultType: 'Start' }, 'unknown'],
    [{ resultType: 'Accept' }, 'unknown'],
    [{ resultType: 'Success' }, 'success'],
    [{ resultType: 'Succeeded' }, 'success'],
    [{ resultType: 'Failure' }, 'failure'],
    [{ resultType: 'Failed' }, 'failure'],
    [{ resultType: undefined, status: { value: 'Started' } }, 'unknown'],
    [{ resultType: undefined, status: { value: 'Succeeded' } }, 'success'],
    [{ resultType: undefined, status: { value: 'Failed' } }, 'failure'],
    [{ resultType: undefined, status: 'Succeeded' }, 'success'],
    [{ resultType: undefined, status: { value: 'Resolved' } }, 'unknown'],
    [{ resultType: undefined }, 'unknown'],
  ])('maps result %j to outcome %s', (overrides, outcome) => {
    // Act
    const { doc } = normalizeAzureActivity(azRoleAssignmentStart(overrides));

    // Assert
    expect(doc.event.outcome).toBe(outcome);
  });

  it('reports catalog provenance with the raw operation name', () => {
    // Act
    const { provenance } = normalizeAzureActivity(azRoleAssignmentStart());

    // Assert
    expect(provenance).toEqual({
      source: 'azure-activity-logs',
      providerEntry: 'azure.namespace.Microsoft.Authorization',
      actionEntry: 'azure.action.Microsoft.Authorization/roleAssignments/write',
      rawProvider: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
      rawAction: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
    });
  });

  it('reports fallback and passthrough for an uncatalogued operation', () => {
    // Act
    const { provenance } = normalizeAzureActivity(
      azRoleAssignmentStart({ operationName: 'Contoso.Widgets/gadgets/write' }),
    );

    // Assert
    expect(provenance).toMatchObject({ providerEntry: 'fallback', actionEntry: 'passthrough' });
  });

  it('gives the Start and Success records of one call distinct derived ids', () => {
    // Act
    const start = normalizeAzureActivity(azRoleAssignmentStart()).doc.event.id;
    const success = normalizeAzureActivity(azRoleAssignmentSuccess()).doc.event.id;
    const startAgain = normalizeAzureActivity(azRoleAssignmentStart()).doc.event.id;

    // Assert
    expect(start).toMatch(/^derived-/);
    expect(success).not.toBe(start);
    expect(startAgain).toBe(start);
  });

  it('reads the request body under requestBody as well as requestbody', () => {
    // Arrange
    const start = azRoleAssignmentStart();
    const properties = start.properties as Record<string, unknown>;
    const record = { ...start, properties: { requestBody: properties.requestbody } };

    // Act
    const { doc } = normalizeAzureActivity(record);

    // Assert
    expect(get(doc, 'target.principal')).toBe(assignee);
  });

  it('takes the scope from the assignment id when the body is missing or not JSON', () => {
    // Act
    const { doc } = normalizeAzureActivity(
      azRoleAssignmentStart({ properties: { requestbody: '{not json' } }),
    );

    // Assert
    expect(get(doc, 'target.scope')).toBe(`/SUBSCRIPTIONS/${subscription.toUpperCase()}`);
    expect(get(doc, 'target.principal')).toBeUndefined();
  });

  it('does not mistake the caller’s authorization evidence for the assignment target', () => {
    // Act
    const { doc } = normalizeAzureActivity(azRoleAssignmentStart({ properties: {} }));

    // Assert
    expect(get(doc, 'target.principal')).toBeUndefined();
    expect(get(doc, 'target.role')).toBeUndefined();
  });

  it.each([
    ['not an object', null, '(record)'],
    ['missing operationName', azRoleAssignmentStart({ operationName: undefined }), 'operationName'],
    [
      'operationName object without value',
      azRoleAssignmentStart({ operationName: { localizedValue: 'x' } }),
      'operationName',
    ],
    [
      'Entra ID audit operation',
      azRoleAssignmentStart({ operationName: 'Add member to role' }),
      'operationName',
    ],
    ['namespace only', azRoleAssignmentStart({ operationName: 'Microsoft.Authorization' }), 'operationName'],
    ['no time at all', azRoleAssignmentStart({ time: undefined }), 'time | eventTimestamp'],
  ])('throws NormalizationError naming the field for %s', (_case, record, field) => {
    // Act
    const act = () => normalizeAzureActivity(record);

    // Assert
    expect(act).toThrow(NormalizationError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({ source: 'azure-activity-logs', field });
    }
  });

  it.each([
    ['claims as a string', { identity: { claims: 'opaque' } }],
    ['properties as an array', { properties: ['a'] }],
    ['numeric resourceId', { resourceId: 42 }],
    ['requestbody JSON of the wrong shape', { properties: { requestbody: '[1,2,3]' } }],
    ['status as a number', { resultType: undefined, status: 3 }],
  ])('tolerates %s', (_case, overrides) => {
    // Act
    const { doc } = normalizeAzureActivity(azRoleAssignmentStart(overrides));

    // Assert
    expect(doc.event.action).toBe('roleAssignments/write');
  });
});
