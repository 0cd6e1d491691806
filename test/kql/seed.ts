/** The seed rule's query as it sits in the YAML file (folded, so it reaches the engine on one line). */
export const SEED_QUERY_LINES = [
  '(event.provider:"AWS IAM" AND event.action:("DeleteAccessKey" OR "UpdateAssumeRolePolicy" OR "CreatePolicyVersion"))',
  'OR',
  '(event.provider:"Microsoft.Authorization" AND event.action:("roleAssignments/write" OR "elevateAccess"))',
  'OR',
  '(event.provider:"gcp.iam" AND event.action:("google.iam.admin.v1.DeleteServiceAccountKey" OR "SetIamPolicy"))',
];

/** What YAML folding delivers: one line, single spaces. */
export const SEED_QUERY = SEED_QUERY_LINES.join(' ');

/** The literal block form, newlines kept. */
export const SEED_QUERY_MULTILINE = `${SEED_QUERY_LINES.join('\n')}\n`;

/** A normalized event in our ECS profile. */
export function ecsEvent(provider: unknown, action: unknown): Record<string, unknown> {
  return {
    '@timestamp': '2024-05-01T12:00:00.000Z',
    event: { id: 'evt-1', provider, action, dataset: 'aws-cloudtrail', kind: 'event', outcome: 'success' },
    cloud: { provider: 'aws', account: { id: '123456789012' }, region: 'us-east-1' },
    user: { name: 'alice' },
  };
}
