import type { DetectorRule } from '../../lambda/engine/detector/detector';
import type { EcsEvent, NormalizedEvent } from '../../lambda/engine/ecs';

/** A normalized AWS event with sensible defaults; tests override what they are about. */
export function awsEvent(
  overrides: { id?: string; time?: string; action?: string; user?: string; account?: string } = {},
): NormalizedEvent {
  const doc: EcsEvent = {
    '@timestamp': overrides.time ?? '2026-11-28T09:16:12.000Z',
    event: {
      id: overrides.id ?? 'evt-1',
      provider: 'AWS IAM',
      action: overrides.action ?? 'DeleteAccessKey',
      dataset: 'aws-cloudtrail',
      kind: 'event',
      outcome: 'success',
    },
    cloud: { provider: 'aws', account: { id: overrides.account ?? '111122223333' }, region: 'us-east-1' },
    user: { name: overrides.user ?? 'alice', id: 'AIDA5EXAMPLEUSERID01' },
    source: { ip: '203.0.113.24' },
    user_agent: { original: 'aws-cli/2.17.12' },
    target: { kind: 'access_key', id: 'AKIA5EXAMPLEOLDKEY01', principal: 'build-bot' },
  };
  return {
    doc,
    provenance: {
      source: 'aws-cloudtrail',
      providerEntry: 'aws.service.iam',
      actionEntry: 'passthrough',
      rawProvider: 'iam.amazonaws.com',
      rawAction: doc.event.action,
    },
  };
}

/** A rule that matches IAM key deletions, with a hand-written predicate (the KQL engine is tested apart). */
export function keyDeletionRule(overrides: Partial<DetectorRule> = {}): DetectorRule {
  return {
    id: 'test-rule',
    name: 'Test rule',
    description: 'Matches DeleteAccessKey.',
    severity: 'high',
    risk_score: 75,
    references: [],
    techniques: [{ id: 'T1531', name: 'Account Access Removal' }],
    runbook: {
      triage: [{ id: 'who', text: 'Review the identity.' }],
      containment: [
        {
          id: 'disable-key',
          text: 'Disable the key.',
          commands: [
            {
              cloud: 'aws',
              command:
                'aws iam update-access-key --user-name {{target.principal}} --access-key-id {{target.id}} --status Inactive',
            },
            {
              cloud: 'gcp',
              command: 'gcloud iam service-accounts keys list --iam-account {{target.principal}}',
            },
          ],
        },
      ],
      remediation: [],
      post_incident_review: [],
    },
    suppression: { group_by: ['cloud.account.id', 'user.name', 'event.action'], windowMs: 60 * 60 * 1000 },
    sources: ['aws-cloudtrail'],
    predicate: (doc) => (doc as EcsEvent).event.action === 'DeleteAccessKey',
    exceptions: [],
    ...overrides,
  };
}
