import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrefilterRule } from '../../lambda/engine/compile/literal-prefilter';
import { compileLiteralPrefilter } from '../../lambda/engine/compile/literal-prefilter';
import type { SourceName } from '../../lambda/engine/ecs';
import type { KqlNode } from '../../lambda/engine/kql';
import { buildIs, buildLiteral, compileKql } from '../../lambda/engine/kql';
import {
  type DocumentShapes,
  normalize,
  recordsFromDocument,
  STREAM_SHAPES,
} from '../../lambda/engine/normalizers';
import { loadRules } from '../../lambda/engine/rules';
import { parseDocuments, readKinesisData, streamPrefilter } from '../../lambda/handlers/pipeline';
import { RULES_DIR } from '../rules/helpers';
import { kqlQueries } from '../support/kql';

/** Runs per property; `PREFILTER_PROPERTY_RUNS=30000` before handing over a change to the filter. */
const RUNS = Number(process.env.PREFILTER_PROPERTY_RUNS ?? 1500);
/** Room for `PREFILTER_PROPERTY_RUNS` far above the default. */
const TIMEOUT = Math.max(30_000, RUNS * 20);

// ---------------------------------------------------------------------------------------------------------
// Records of the three sources, with the sensitive names in every casing and position a writer may use.

type Casing = 'as-is' | 'upper' | 'lower' | 'swap' | 'kelvin' | 'dotted';
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
    // Characters whose lower case is ASCII (KELVIN SIGN → k) or holds it (İ → i̇), and some whose upper
    // case is (ſ → S, ı → I): a case-insensitive comparison may see letters that the bytes do not have.
    case 'kelvin':
      return text.replace(/k/gi, '\u212a');
    case 'dotted':
      return text.replace(/I/g, '\u0130').replace(/i/g, '\u0131').replace(/s/g, '\u017f');
  }
};
const casing = fc.constantFrom<Casing>('as-is', 'upper', 'lower', 'swap', 'kelvin', 'dotted');

/** Text that is not ASCII, to stand around and between the needles. */
const nonAscii = fc.constantFrom(
  '',
  'é',
  'Zoë Ångström',
  '€',
  '日本語',
  '😀',
  '\u212a',
  '\u0130',
  'Ä°',
  '\u00e2\u0084\u00aa',
);

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
    around: fc.tuple(nonAscii, nonAscii),
  })
  .map(({ eventSource, eventName, insight, insightType, message, withId, around: [before, after] }) => ({
    eventVersion: '1.09',
    eventTime: '2024-05-01T12:00:00Z',
    eventSource,
    eventName,
    ...(insight
      ? { eventType: 'AwsCloudTrailInsight', insightDetails: { insightType } }
      : { eventType: 'AwsApiCall' }),
    ...(withId ? { eventID: 'e-1' } : {}),
    userIdentity: { type: 'IAMUser', userName: `${before}alice`, arn: 'arn:aws:iam::1:user/alice' },
    errorMessage: `not authorized${before} to perform iam:${message}${after}`,
    awsRegion: 'us-east-1',
  }));

const AZURE_OPERATIONS = [
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.Authorization/elevateAccess/action',
  'Microsoft.Authorization/roleAssignments/write/action',
  'Microsoft.Authorization/roleAssignments/delete',
  'Microsoft.Compute/virtualMachines/write',
  'Contoso.Widgets/elevateAccess',
  'Microsoft.Storage/storageAccounts/listKeys/action',
  'Microsoft.KeyVault/vaults/write',
  'Microsoft.Authorization/locks/write',
];
const azureRecord = fc
  .record({
    operation: fc.constantFrom(...AZURE_OPERATIONS),
    casing,
    asObject: fc.boolean(),
    phase: fc.constantFrom('Start', 'Success'),
    around: nonAscii,
  })
  .map(({ operation, casing: c, asObject, phase, around }) => {
    const name = recase(operation, c);
    return {
      time: '2024-05-01T12:00:00.0000000Z',
      resourceId:
        '/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a-1',
      operationName: asObject ? { value: name, localizedValue: `Create role assignment${around}` } : name,
      category: 'Administrative',
      resultType: phase,
      caller: `${around}alice@contoso.com`,
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
    around: nonAscii,
  })
  .map(({ service, method, casing: c, around }) => ({
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      serviceName: service,
      methodName: method === 'google.iam.admin.v1.DeleteServiceAccountKey' ? method : recase(method, c),
      resourceName: `projects/p-1${around}`,
      authenticationInfo: { principalEmail: `${around}alice@example.com` },
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
    'AWS CloudTrail Insights',
    'AWS STS',
    'Microsoft.Authorization',
    'Microsoft.Compute',
    'gcp.iam',
    'gcp.storage',
    'Contoso.Widgets',
    'iam.amazonaws.com',
    'Microsoft.Storage',
    'Microsoft.KeyVault',
  ],
  'event.action': [
    'DeleteAccessKey',
    'ListRoles',
    'roleAssignments/write',
    'elevateAccess',
    'SetIamPolicy',
    'google.iam.admin.v1.DeleteServiceAccountKey',
    'virtualMachines/write',
    'storageAccounts/listKeys',
    'locks/write',
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
const queryArbitrary: fc.Arbitrary<KqlNode> = kqlQueries(leaf);
const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];
const ruleArbitrary: fc.Arbitrary<PrefilterRule & { readonly ast: KqlNode }> = fc.record({
  ast: queryArbitrary,
  sources: fc.subarray([...SOURCES], { minLength: 1 }),
});

/**
 * What a reader decides without the filter: does any rule match any record of the payload, as
 * `recordsFromDocument(document, shapes)` finds them? The detect function reads with `STREAM_SHAPES`.
 */
function fullPathMatches(
  text: string,
  rules: readonly (PrefilterRule & { readonly ast: KqlNode })[],
  shapes: DocumentShapes = {},
): boolean {
  let documents: ReturnType<typeof parseDocuments>;
  try {
    documents = parseDocuments(text);
  } catch {
    return false;
  }
  const predicates = rules.map((rule) => ({ sources: rule.sources, predicate: compileKql(rule.ast) }));
  for (const document of documents) {
    if ('error' in document) continue;
    for (const item of recordsFromDocument(document.value, shapes)) {
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

/** Files and the CLI open Pub/Sub messages; a Kinesis stream's reader does not. */
const READERS: readonly [string, DocumentShapes][] = [
  ['a reader that opens Pub/Sub messages', {}],
  ['the stream reader (STREAM_SHAPES)', STREAM_SHAPES],
];

describe.each(READERS)('compileLiteralPrefilter for %s (property)', (_reader, shapes) => {
  it(
    'never rejects a payload in which the seed rule matches a record',
    async () => {
      const rules = await loadRules(RULES_DIR);
      const { test } = compileLiteralPrefilter(rules, shapes);
      const seen = { matched: 0, skipped: 0 };

      fc.assert(
        fc.property(payloadArbitrary, (text) => {
          const matched = fullPathMatches(text, rules, shapes);
          const passed = test === undefined || test(text);
          if (matched) seen.matched += 1;
          if (!passed) seen.skipped += 1;
          expect(!matched || passed).toBe(true);
        }),
        { numRuns: RUNS },
      );

      // The property is not vacuous: some payloads match, and the filter does skip others.
      expect(seen.matched).toBeGreaterThan(50);
      expect(seen.skipped).toBeGreaterThan(50);
    },
    TIMEOUT,
  );

  it(
    'never rejects a payload in which generated rules match a record',
    () => {
      fc.assert(
        fc.property(
          fc.array(ruleArbitrary, { minLength: 1, maxLength: 2 }),
          payloadArbitrary,
          (rules, text) => {
            const { test } = compileLiteralPrefilter(rules, shapes);
            if (test !== undefined && !test(text)) expect(fullPathMatches(text, rules, shapes)).toBe(false);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});

/** The payload as a Kinesis record's data: its UTF-8 bytes, gzipped or not, in base64. */
function kinesisData(text: string, gzipped: boolean): string {
  const bytes = Buffer.from(text, 'utf8');
  return (gzipped ? gzipSync(bytes) : bytes).toString('base64');
}

describe('the pre-filter over bytes, as the detect pipeline reads Kinesis data (property)', () => {
  it(
    'never skips a payload in which the seed rule matches a record, gzipped or not',
    async () => {
      const rules = await loadRules(RULES_DIR);
      const check = streamPrefilter(rules);
      const { test } = compileLiteralPrefilter(rules, STREAM_SHAPES);
      if (check === undefined || test === undefined) throw new Error('the seed rule gives no filter');
      const seen = { matched: 0, skipped: 0, gzippedSkipped: 0 };

      fc.assert(
        fc.property(payloadArbitrary, fc.boolean(), (text, gzipped) => {
          const matched = fullPathMatches(text, rules, STREAM_SHAPES);
          const payload = readKinesisData(kinesisData(text, gzipped), check);
          const skipped = payload.kind === 'skipped';
          if (matched) seen.matched += 1;
          if (skipped) seen.skipped += 1;
          if (skipped && gzipped) seen.gzippedSkipped += 1;
          expect(!matched || !skipped).toBe(true);
          // Bytes and text are one payload: every way in gives the same answer.
          const bytes = Buffer.from(text, 'utf8');
          expect(test(bytes)).toBe(test(text));
          expect(test(bytes.toString('latin1'), 'latin1')).toBe(test(text));
          if (bytes.every((byte) => byte < 0x80)) expect(test(text, 'ascii')).toBe(test(text));
        }),
        { numRuns: RUNS },
      );

      expect(seen.matched).toBeGreaterThan(50);
      expect(seen.gzippedSkipped).toBeGreaterThan(20);
    },
    TIMEOUT,
  );

  it(
    'never skips a payload in which generated rules match a record, gzipped or not',
    () => {
      fc.assert(
        fc.property(
          fc.array(ruleArbitrary, { minLength: 1, maxLength: 2 }),
          payloadArbitrary,
          fc.boolean(),
          (rules, text, gzipped) => {
            const check = streamPrefilter(rules);
            if (check === undefined) return;
            if (readKinesisData(kinesisData(text, gzipped), check).kind === 'skipped') {
              expect(fullPathMatches(text, rules, STREAM_SHAPES)).toBe(false);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );
});
