import { describe, expect, it } from 'vitest';
import {
  catalogEntryIds,
  type FieldDomain,
  normalizeAzureActivity,
  normalizeCloudTrail,
  normalizeGcpAudit,
  producibleActions,
  producibleValues,
} from '../../lambda/engine/normalizers';
import { AWS_EVENT_SOURCE_SHAPE } from '../../lambda/engine/normalizers/catalog';
import catalog from '../../lambda/engine/normalizers/catalog.json';
import { azRoleAssignmentStart, ctDeleteAccessKey, gcpStorageSetIamPolicy } from './fixtures';

function allows(domain: FieldDomain | undefined, value: string): boolean {
  if (domain === undefined) throw new Error('expected a constrained domain');
  return domain.values.has(value) || domain.patterns.some((pattern) => pattern.test(value));
}

/** `Microsoft.Authorization` → `mICROSOFT.aUTHORIZATION`: the casing chaos Azure exports show. */
function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

describe('catalog', () => {
  it('has unique entry ids that provenance can cite', () => {
    // Arrange
    const listed = [
      ...catalog.aws.services.map((e) => e.id),
      ...catalog.azure.namespaces.map((e) => e.id),
      ...catalog.gcp.services.map((e) => e.id),
    ];

    // Assert
    expect(new Set(listed).size).toBe(listed.length);
    for (const id of listed) expect(catalogEntryIds().has(id)).toBe(true);
    expect(catalogEntryIds().has('azure.action.Microsoft.Authorization/elevateAccess')).toBe(true);
  });

  it('lists the IAM API thoroughly', () => {
    // Act
    const iam = producibleActions('AWS IAM');

    // Assert
    expect(iam?.values.size).toBeGreaterThanOrEqual(150);
    for (const name of [
      'CreateAccessKey',
      'DeleteAccessKey',
      'UpdateAssumeRolePolicy',
      'CreatePolicyVersion',
      'AttachRolePolicy',
      'PutUserPolicy',
      'CreateLoginProfile',
    ]) {
      expect(iam?.values.has(name)).toBe(true);
    }
  });

  describe('producibleValues', () => {
    it.each([
      ['event.provider', 'AWS IAM', true],
      ['event.provider', 'AWS STS', true],
      ['event.provider', 'Microsoft.Authorization', true],
      ['event.provider', 'gcp.iam', true],
      ['event.provider', 'AWS CloudTrail Insights', true],
      ['event.provider', 'quantumledger.amazonaws.com', true],
      ['event.provider', 'Contoso.Widgets', true],
      ['event.provider', 'CONTOSO.WIDGETS', true],
      ['event.provider', 'gcp.newthing', true],
      // Elastic's vocabulary, which the seed query can never match on our data:
      ['event.provider', 'iam.amazonaws.com', false],
      ['event.provider', 'MICROSOFT.AUTHORIZATION', false],
      ['event.provider', 'microsoft.authorization', false],
      ['event.provider', 'activity', false],
      ['event.provider', 'iam.googleapis.com', false],
      ['event.provider', 'AWS  IAM', false],
      ['event.dataset', 'aws-cloudtrail', true],
      ['event.dataset', 'aws-cloudtrail-default', false],
      ['cloud.provider', 'gcp', true],
      ['cloud.provider', 'google', false],
      ['event.outcome', 'unknown', true],
      ['event.outcome', 'denied', false],
    ])('%s %j producible: %s', (field, value, expected) => {
      // Act
      const domain = producibleValues(field);

      // Assert
      expect(allows(domain, value)).toBe(expected);
    });

    it('does not constrain free-text fields', () => {
      expect(producibleValues('user.name')).toBeUndefined();
      expect(producibleValues('event.action')).toBeUndefined();
    });
  });

  describe('producibleActions', () => {
    it.each([
      ['AWS IAM', 'DeleteAccessKey', true],
      ['AWS IAM', 'DeleteAccesKey', false],
      ['Microsoft.Authorization', 'roleAssignments/write', true],
      ['Microsoft.Authorization', 'elevateAccess', true],
      ['Microsoft.Authorization', 'elevateAccess/action', false],
      ['Microsoft.Authorization', 'ROLEASSIGNMENTS/WRITE', false],
      ['gcp.iam', 'google.iam.admin.v1.DeleteServiceAccountKey', true],
      ['gcp.iam', 'SetIamPolicy', true],
      ['gcp.iam', 'google.iam.admin.v1.SetIAMPolicy', false],
      ['gcp.iam', 'DeleteServiceAccountKey', false],
      ['AWS CloudTrail Insights', 'ApiErrorRateInsight', true],
    ])('%s / %s producible: %s', (provider, action, expected) => {
      // Act
      const domain = producibleActions(provider);

      // Assert
      expect(allows(domain, action)).toBe(expected);
    });

    it('leaves providers with open action sets unconstrained', () => {
      expect(producibleActions('Amazon S3')).toBeUndefined();
      expect(producibleActions('Microsoft.Compute')).toBeUndefined();
      expect(producibleActions('gcp.storage')).toBeUndefined();
    });
  });

  describe('agrees with the normalizers', () => {
    it.each(catalog.aws.services.map((e) => [e.eventSource, e.provider] as const))(
      '%s normalizes to %s',
      (eventSource, provider) => {
        // Act
        const { doc, provenance } = normalizeCloudTrail(ctDeleteAccessKey({ eventSource }));

        // Assert
        expect(doc.event.provider).toBe(provider);
        expect(allows(producibleValues('event.provider'), doc.event.provider)).toBe(true);
        expect(catalogEntryIds().has(provenance.providerEntry)).toBe(true);
        // The normalizer checks the shape of uncatalogued event sources only.
        expect(eventSource).toMatch(AWS_EVENT_SOURCE_SHAPE);
      },
    );

    it.each(
      catalog.azure.namespaces.flatMap((e): (readonly [string, string, boolean, boolean])[] =>
        e.actions.length > 0
          ? e.actions.map((action) => [e.namespace, action, true, e.actionsClosed])
          : [[e.namespace, 'uncatalogued/write', false, false]],
      ),
    )('%s/%s normalizes in any casing to its canonical form', (namespace, action, listed, closed) => {
      // Act
      const upper = normalizeAzureActivity(
        azRoleAssignmentStart({ operationName: `${namespace}/${action}/action`.toUpperCase() }),
      );
      const swapped = normalizeAzureActivity(
        azRoleAssignmentStart({ operationName: swapCase(`${namespace}/${action}`) }),
      );

      // Assert
      for (const { doc, provenance } of [upper, swapped]) {
        expect(doc.event.provider).toBe(namespace);
        expect(allows(producibleValues('event.provider'), doc.event.provider)).toBe(true);
        if (listed) {
          expect(doc.event.action).toBe(action);
          expect(catalogEntryIds().has(provenance.actionEntry)).toBe(true);
        }
        if (closed) expect(allows(producibleActions(namespace), doc.event.action)).toBe(true);
      }
    });

    it.each(catalog.gcp.services.map((e) => [e.serviceName, e.provider] as const))(
      '%s normalizes to %s',
      (serviceName, provider) => {
        // Act
        const { doc } = normalizeGcpAudit(
          gcpStorageSetIamPolicy({}, { serviceName, methodName: 'google.example.v1.Get' }),
        );

        // Assert
        expect(doc.event.provider).toBe(provider);
        expect(allows(producibleValues('event.provider'), doc.event.provider)).toBe(true);
      },
    );
  });
});
