import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrefilterRule } from '../../lambda/engine/compile/literal-prefilter';
import { compileLiteralPrefilter } from '../../lambda/engine/compile/literal-prefilter';
import type { SourceName } from '../../lambda/engine/ecs';
import type { KqlNode } from '../../lambda/engine/kql';
import { buildAnd, buildIs, buildLiteral, buildNot, buildOr, compileKql } from '../../lambda/engine/kql';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import { loadRules } from '../../lambda/engine/rules';
import { parseDocuments } from '../../lambda/handlers/pipeline';
import { RULES_DIR } from '../rules/helpers';

// ---------------------------------------------------------------------------------------------------------
// Records of the three sources, with the sensitive names in every casing and position a writer may use.

type Casing = 'as-is' | 'upper' | 'lower' | 'swap';
const recase = (text: string, casing: Casing): string => {
  switch (casing) {
    case 'as-is':
      return text;
    case 'upper':
      return text.toUpperCase();
    case 'lower':
      return text.toLowerCase();
    case 'swap':
      return [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
  }
};
const casing = fc.constantFrom<Casing>('as-is', 'upper', 'lower', 'swap');

const AWS_NAMES = [
  'DeleteAccessKey',
  'UpdateAssumeRolePolicy',
  'CreatePolicyVersion',
  'ListRoles',
  'deleteaccesskey',
];
const cloudTrailRecord = fc
  .record({
    eventSource: fc.constantFrom(
      'iam.amazonaws.com',
      'sts.amazonaws.com',
      'ec2.amazonaws.com',
      'IAM.amazonaws.com',
    ),
    eventName: fc.constantFrom(...AWS_NAMES),
    insight: fc.boolean(),
    insightType: fc.constantFrom(...AWS_NAMES),
    message: fc.constantFrom(...AWS_NAMES, 'iam.amazonaws.com'),
    withId: fc.boolean(),
  })
  .map(({ eventSource, eventName, insight, insightType, message, withId }) => ({
    eventVersion: '1.09',
    eventTime: '2024-05-01T12:00:00Z',
    eventSource,
    eventName,
    ...(insight
      ? { eventType: 'AwsCloudTrailInsight', insightDetails: { insightType } }
      : { eventType: 'AwsApiCall' }),
    ...(withId ? { eventID: 'e-1' } : {}),
    userIdentity: { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::1:user/alice' },
    errorMessage: `not authorized to perform iam:${message}`,
    awsRegion: 'us-east-1',
  }));

const AZURE_OPERATIONS = [
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.Authorization/elevateAccess/action',
  'Microsoft.Authorization/roleAssignments/write/action',
  'Microsoft.Authorization/roleAssignments/delete',
  'Microsoft.Compute/virtualMachines/write',
  'Contoso.Widgets/elevateAccess',
];
const azureRecord = fc
  .record({
    operation: fc.constantFrom(...AZURE_OPERATIONS),
    casing,
    asObject: fc.boolean(),
    phase: fc.constantFrom('Start', 'Success'),
  })
  .map(({ operation, casing: c, asObject, phase }) => {
    const name = recase(operation, c);
    return {
      time: '2024-05-01T12:00:00.0000000Z',
      resourceId:
        '/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a-1',
      operationName: asObject ? { value: name, localizedValue: 'Create role assignment' } : name,
      category: 'Administrative',
      resultType: phase,
      caller: 'alice@contoso.com',
      identity: { authorization: { action: 'Microsoft.Authorization/roleAssignments/write' } },
    };
  });

const GCP_METHODS = [
  'google.iam.admin.v1.DeleteServiceAccountKey',
  'SetIamPolicy',
  'v1.compute.disks.setIamPolicy',
  'google.iam.admin.v1.SetIAMPolicy',
  'storage.setIamPermissions',
  'GetIamPolicy',
];
const gcpEntry = fc
  .record({
    service: fc.constantFrom(
      'iam.googleapis.com',
      'cloudresourcemanager.googleapis.com',
      'storage.googleapis.com',
      'compute.googleapis.com',
    ),
    method: fc.constantFrom(...GCP_METHODS),
    casing,
  })
  .map(({ service, method, casing: c }) => ({
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      serviceName: service,
      methodName: method === 'google.iam.admin.v1.DeleteServiceAccountKey' ? method : recase(method, c),
      resourceName: 'projects/p-1',
      authenticationInfo: { principalEmail: 'alice@example.com' },
    },
    insertId: 'i-1',
    timestamp: '2024-05-01T12:00:00Z',
    resource: { type: 'project', labels: { project_id: 'p-1' } },
  }));

/** One transport document around some records, as files, streams and forwarders wrap them. */
const documentArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  cloudTrailRecord,
  azureRecord,
  gcpEntry,
  fc.array(cloudTrailRecord, { minLength: 1, maxLength: 3 }).map((Records) => ({ Records })),
  cloudTrailRecord.map((detail) => ({
    version: '0',
    id: 'eb-1',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: '111122223333',
    time: '2024-05-01T12:00:00Z',
    region: 'us-east-1',
    detail,
  })),
  fc.array(azureRecord, { minLength: 1, maxLength: 3 }).map((records) => ({ records })),
  fc.array(gcpEntry, { minLength: 1, maxLength: 3 }).map((entries) => ({ entries })),
  gcpEntry.map((entry) => ({ message: { data: Buffer.from(JSON.stringify(entry)).toString('base64') } })),
  gcpEntry.map((entry) => ({ data: JSON.stringify(entry) })),
  fc.array(fc.oneof(cloudTrailRecord, azureRecord, gcpEntry), { minLength: 1, maxLength: 3 }),
);

// ---------------------------------------------------------------------------------------------------------
// A JSON writer that spells strings every way JSON allows: `\uXXXX` for any character, `\/` for slashes.

interface Spelling {
  readonly unicodeEscapes: boolean;
  readonly slashEscapes: boolean;
  readonly spaces: boolean;
  readonly seed: number;
}

function write(value: unknown, spelling: Spelling): string {
  let state = spelling.seed >>> 0 || 1;
  const chance = (): boolean => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % 7 === 0;
  };
  const string = (text: string): string => {
    let out = '"';
    for (const char of text) {
      const code = char.charCodeAt(0);
      if (spelling.unicodeEscapes && char.length === 1 && chance())
        out += `\\u${code.toString(16).padStart(4, '0')}`;
      else if (char === '/' && spelling.slashEscapes && chance()) out += '\\/';
      else out += JSON.stringify(char).slice(1, -1);
    }
    return `${out}"`;
  };
  const gap = spelling.spaces ? ' ' : '';
  const walk = (item: unknown): string => {
    if (typeof item === 'string') return string(item);
    if (Array.isArray(item)) return `[${item.map(walk).join(`,${gap}`)}]`;
    if (item !== null && typeof item === 'object') {
      const members = Object.entries(item).map(
        ([key, member]) => `${string(key)}${gap}:${gap}${walk(member)}`,
      );
      return `{${gap}${members.join(`,${gap}`)}${gap}}`;
    }
    return JSON.stringify(item);
  };
  return walk(value);
}

const spellingArbitrary: fc.Arbitrary<Spelling> = fc.record({
  unicodeEscapes: fc.boolean(),
  slashEscapes: fc.boolean(),
  spaces: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

/** One payload: a document, or several as JSON Lines. */
const payloadArbitrary = fc.oneof(
  fc.tuple(documentArbitrary, spellingArbitrary).map(([document, spelling]) => write(document, spelling)),
  fc
    .tuple(fc.array(documentArbitrary, { minLength: 2, maxLength: 3 }), spellingArbitrary)
    .map(([documents, spelling]) => documents.map((document) => write(document, spelling)).join('\n')),
);

// ---------------------------------------------------------------------------------------------------------
// Rules: the seed, and queries over the vocabulary the catalog constrains (and some it does not).

const FIELDS: Record<string, readonly string[]> = {
  'event.provider': [
    'AWS IAM',
    'AWS STS',
    'Microsoft.Authorization',
    'Microsoft.Compute',
    'gcp.iam',
    'gcp.storage',
    'Contoso.Widgets',
    'iam.amazonaws.com',
  ],
  'event.action': [
    'DeleteAccessKey',
    'ListRoles',
    'roleAssignments/write',
    'elevateAccess',
    'SetIamPolicy',
    'google.iam.admin.v1.DeleteServiceAccountKey',
    'virtualMachines/write',
  ],
  'event.dataset': ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'],
  'cloud.provider': ['aws', 'azure', 'gcp'],
  'event.outcome': ['success', 'failure', 'unknown'],
  'user.name': ['alice', 'alice@contoso.com'],
};
const leaf: fc.Arbitrary<KqlNode> = fc
  .constantFrom(...Object.keys(FIELDS))
  .chain((field) =>
    fc
      .constantFrom(...(FIELDS[field] as string[]))
      .map((value) => buildIs(buildLiteral(field), buildLiteral(value))),
  );
const queryArbitrary: fc.Arbitrary<KqlNode> = fc.letrec<{ node: KqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((children) => buildAnd(children)),
    fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((children) => buildOr(children)),
    tie('node').map((child) => buildNot(child)),
  ),
})).node;
const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
const ruleArbitrary: fc.Arbitrary<PrefilterRule> = fc.record({
  ast: queryArbitrary,
  sources: fc.subarray([...SOURCES], { minLength: 1 }),
});

/** What the detect function decides without the filter: does any rule match any record of the payload? */
function fullPathMatches(text: string, rules: readonly PrefilterRule[]): boolean {
  let documents: ReturnType<typeof parseDocuments>;
  try {
    documents = parseDocuments(text);
  } catch {
    return false;
  }
  const predicates = rules.map((rule) => ({ sources: rule.sources, predicate: compileKql(rule.ast) }));
  for (const document of documents) {
    if ('error' in document) continue;
    for (const item of recordsFromDocument(document.value)) {
      if ('error' in item) continue;
      let doc: unknown;
      try {
        doc = normalize(item.source, item.record).doc;
      } catch {
        continue;
      }
      if (predicates.some(({ sources, predicate }) => sources.includes(item.source) && predicate(doc)))
        return true;
    }
  }
  return false;
}

describe('compileLiteralPrefilter (property)', () => {
  it('never rejects a payload in which the seed rule matches a record', async () => {
    const rules = await loadRules(RULES_DIR);
    const { test } = compileLiteralPrefilter(rules);
    const seen = { matched: 0, skipped: 0 };

    fc.assert(
      fc.property(payloadArbitrary, (text) => {
        const matched = fullPathMatches(text, rules);
        const passed = test === undefined || test(text);
        if (matched) seen.matched += 1;
        if (!passed) seen.skipped += 1;
        expect(!matched || passed).toBe(true);
      }),
      { numRuns: 1500 },
    );

    // The property is not vacuous: some payloads match, and the filter does skip others.
    expect(seen.matched).toBeGreaterThan(50);
    expect(seen.skipped).toBeGreaterThan(50);
  });

  it('never rejects a payload in which generated rules match a record', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArbitrary, { minLength: 1, maxLength: 2 }),
        payloadArbitrary,
        (rules, text) => {
          const { test } = compileLiteralPrefilter(rules);
          if (test !== undefined && !test(text)) expect(fullPathMatches(text, rules)).toBe(false);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
