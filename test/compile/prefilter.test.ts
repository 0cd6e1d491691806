import { describe, expect, it } from 'vitest';
import type { PayloadFilter, PrefilterRule } from '../../lambda/engine/compile/literal-prefilter';
import { compileLiteralPrefilter } from '../../lambda/engine/compile/literal-prefilter';
import type { SourceName } from '../../lambda/engine/ecs';
import { parseKql } from '../../lambda/engine/kql';
import { normalize, recordsFromDocument, STREAM_SHAPES } from '../../lambda/engine/normalizers';
import { loadRules } from '../../lambda/engine/rules';
import { RULES_DIR } from '../rules/helpers';

const ALL_SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];

function filterFor(query: string, sources: readonly SourceName[] = ALL_SOURCES): PayloadFilter {
  const { test } = compileLiteralPrefilter([{ ast: parseKql(query), sources }]);
  if (test === undefined) throw new Error(`no filter for ${query}`);
  return test;
}

const seedRules = async (): Promise<PrefilterRule[]> => loadRules(RULES_DIR);

const cloudTrail = (eventSource: string, eventName: string, extra = ''): string =>
  `{"eventVersion":"1.09","eventSource":"${eventSource}","eventName":"${eventName}","eventTime":"2024-05-01T12:00:00Z"${extra}}`;
const azure = (operationName: string): string =>
  `{"time":"2024-05-01T12:00:00Z","operationName":"${operationName}","resultType":"Start"}`;
const gcp = (serviceName: string, methodName: string): string =>
  `{"protoPayload":{"serviceName":"${serviceName}","methodName":"${methodName}"},"timestamp":"2024-05-01T12:00:00Z"}`;

describe('compileLiteralPrefilter', () => {
  describe('with the shipped seed rule', () => {
    it.each<[string, string, boolean]>([
      ['an IAM DeleteAccessKey record', cloudTrail('iam.amazonaws.com', 'DeleteAccessKey'), true],
      ['an IAM CreatePolicyVersion record', cloudTrail('iam.amazonaws.com', 'CreatePolicyVersion'), true],
      ['an EC2 record', cloudTrail('ec2.amazonaws.com', 'DescribeInstances'), false],
      ['an IAM record of another call', cloudTrail('iam.amazonaws.com', 'ListRoles'), false],
      [
        'an STS record naming DeleteAccessKey in a message',
        cloudTrail('sts.amazonaws.com', 'AssumeRole', ',"errorMessage":"iam:DeleteAccessKey"'),
        false,
      ],
      [
        'an Azure role assignment write in upper case',
        azure('MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE'),
        true,
      ],
      ['an Azure elevateAccess action', azure('Microsoft.Authorization/elevateAccess/action'), true],
      ['an Azure role assignment delete', azure('MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE'), false],
      ['an Azure VM write', azure('MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE'), false],
      ['a GCP SetIamPolicy on a disk', gcp('compute.googleapis.com', 'v1.compute.disks.setIamPolicy'), true],
      [
        'a GCP DeleteServiceAccountKey',
        gcp('iam.googleapis.com', 'google.iam.admin.v1.DeleteServiceAccountKey'),
        true,
      ],
      ['a GCP setIamPermissions', gcp('storage.googleapis.com', 'storage.setIamPermissions'), false],
      ['a GCP instance insert', gcp('compute.googleapis.com', 'v1.compute.instances.insert'), false],
    ])('returns %s → %s', async (_name, text, expected) => {
      const { test } = compileLiteralPrefilter(await seedRules());

      const passed = test?.(text);

      expect(passed).toBe(expected);
    });

    it('describes its needles for reviewers', async () => {
      const { description } = compileLiteralPrefilter(await seedRules());

      expect(description).toContain('"iam.amazonaws.com"');
      expect(description).toContain('/roleassignments/write" (any case)');
    });
  });

  it.each<[string, string]>([
    ['a \\u escape anywhere', cloudTrail('ec2.amazonaws.com', 'DescribeInstances', ',"x":"\\u0041"')],
    ['an escaped value', cloudTrail('iam.amazonaws.com', 'Delete\\u0041ccessKey')],
    ['a Pub/Sub message with base64 data', '{"message":{"data":"eyJwcm90b1BheWxvYWQiOnt9fQ=="}}'],
    ['a Pub/Sub pull message with spaced data', '{"receivedMessages":[{"message":{"data" : "e30="}}]}'],
  ])('passes a payload that could hide a needle: %s', async (_name, text) => {
    const { test } = compileLiteralPrefilter(await seedRules());

    expect(test?.(text)).toBe(true);
  });

  describe('compiled for a reader that does not open Pub/Sub messages (STREAM_SHAPES)', () => {
    const deleteKey = gcp('iam.googleapis.com', 'google.iam.admin.v1.DeleteServiceAccountKey');
    const messages: [string, string][] = [
      ['push', JSON.stringify({ message: { data: Buffer.from(deleteKey).toString('base64') } })],
      ['pull', JSON.stringify({ receivedMessages: [{ message: { data: btoa(deleteKey) } }] })],
      ['JSON text in data', JSON.stringify({ data: deleteKey })],
    ];

    it.each(messages)(
      'rules out a Pub/Sub %s message, whose record only a reader that opens it finds',
      async (_kind, text) => {
        const rules = await seedRules();
        const stream = compileLiteralPrefilter(rules, STREAM_SHAPES).test;
        const opening = compileLiteralPrefilter(rules).test;
        const sources = (shapes: typeof STREAM_SHAPES | undefined) =>
          [...recordsFromDocument(JSON.parse(text), shapes)].map((item) =>
            'error' in item ? 'error' : normalize(item.source, item.record).doc.event.action,
          );

        expect(sources(undefined)).toEqual(['google.iam.admin.v1.DeleteServiceAccountKey']);
        expect(sources(STREAM_SHAPES)).toEqual(['error']);
        expect(opening?.(text)).toBe(true);
        expect(stream?.(text)).toBe(false);
      },
    );

    it('still passes the same record when it is not wrapped', async () => {
      const stream = compileLiteralPrefilter(await seedRules(), STREAM_SHAPES).test;

      expect(stream?.(deleteKey)).toBe(true);
      expect(stream?.(gcp('iam.googleapis.com', 'google.iam.admin.v1.ListServiceAccountKeys'))).toBe(false);
    });
  });

  describe('told that the payload is ASCII', () => {
    it('answers as for the same bytes without the hint', async () => {
      const { test } = compileLiteralPrefilter(await seedRules());
      const texts = [
        cloudTrail('iam.amazonaws.com', 'DeleteAccessKey'),
        cloudTrail('ec2.amazonaws.com', 'DescribeInstances'),
        azure('MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE'),
        azure('Microsoft.Compute/virtualMachines/write'),
      ];

      for (const text of texts) expect(test?.(text, 'ascii')).toBe(test?.(text, 'latin1'));
    });

    it('does not search for characters that fold into ASCII, which only a non-ASCII payload can hold', () => {
      const test = filterFor('event.action:"storageAccounts/listKeys"', ['azure-activity-logs']);
      // KELVIN SIGN as UTF-8 bytes, one char per byte: a payload the caller must not call ASCII.
      const kelvin = Buffer.from(azure('Microsoft.Storage/storageAccounts/list\u212aeys'));
      const bytes = kelvin.toString('latin1');

      expect(test(bytes, 'latin1')).toBe(true);
      expect(test(bytes, 'ascii')).toBe(false);
    });
  });

  describe('where a query requires a provider', () => {
    // An insight about STS calls: nothing in it says IAM but the insight type.
    const insight = (insightType: string): string =>
      `{"eventVersion":"1.08","eventTime":"2024-05-01T12:00:00Z","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","insightType":"${insightType}"}}`;

    it('leaves out the raw matches only records of another provider satisfy', () => {
      const { description } = compileLiteralPrefilter([
        {
          ast: parseKql('event.provider:"AWS IAM" and event.action:"DeleteAccessKey"'),
          sources: ['aws-cloudtrail'],
        },
      ]);

      expect(description).toBe('(eventSource:"iam.amazonaws.com" and eventName:"DeleteAccessKey")');
    });

    it.each<[string, string]>([
      ['no provider', 'event.action:"DeleteAccessKey"'],
      [
        'the Insights provider',
        'event.provider:"AWS CloudTrail Insights" and event.action:"DeleteAccessKey"',
      ],
      [
        'either provider',
        'event.provider:("AWS IAM" or "AWS CloudTrail Insights") and event.action:"DeleteAccessKey"',
      ],
      ['a provider only outside the and', 'event.provider:"AWS IAM" or event.action:"DeleteAccessKey"'],
    ])('keeps them for %s, and passes an insight whose action matches', (_case, query) => {
      const test = filterFor(query, ['aws-cloudtrail']);

      expect(test(insight('DeleteAccessKey'))).toBe(true);
      expect(test(insight('ListRoles'))).toBe(false);
    });
  });

  it('splits needles at slashes when the payload escapes them', async () => {
    const { test } = compileLiteralPrefilter(await seedRules());

    expect(test?.(azure('Microsoft.Authorization\\/roleAssignments\\/write'))).toBe(true);
    expect(test?.(azure('Microsoft.Compute\\/virtualMachines\\/write'))).toBe(false);
  });

  it('searches JSON-escaped needles for values with quotes and backslashes', () => {
    const test = filterFor('event.action:"a\\"b\\\\c"', ['aws-cloudtrail']);

    expect(test(cloudTrail('iam.amazonaws.com', 'a\\"b\\\\c'))).toBe(true);
    expect(test(cloudTrail('iam.amazonaws.com', 'a"b'))).toBe(false);
  });

  it.each<[string, string]>([
    ['a negation', 'not event.action:"DeleteAccessKey"'],
    ['a field the catalog does not constrain', 'user.name:"alice"'],
    ['a wildcard value', 'event.action:Delete*'],
    ['an exists query', 'event.action:*'],
    ['an or with an unconstrained branch', 'event.action:"DeleteAccessKey" or user.name:"alice"'],
  ])('gives no filter for %s', (_name, query) => {
    const { test, description } = compileLiteralPrefilter([{ ast: parseKql(query), sources: ALL_SOURCES }]);

    expect(test).toBeUndefined();
    expect(description).toBe('anything');
  });

  it('gives no filter when a rule comes without its parsed query', () => {
    const { test, description } = compileLiteralPrefilter([
      { ast: parseKql('event.action:"DeleteAccessKey"'), sources: ALL_SOURCES },
      { sources: ALL_SOURCES },
    ]);

    expect(test).toBeUndefined();
    expect(description).toBe('anything');
  });

  it('keeps the constrained side of an and with an unconstrained one', () => {
    const test = filterFor('event.action:"DeleteAccessKey" and user.name:"alice"', ['aws-cloudtrail']);

    expect(test(cloudTrail('iam.amazonaws.com', 'DeleteAccessKey'))).toBe(true);
    expect(test(cloudTrail('iam.amazonaws.com', 'ListRoles'))).toBe(false);
  });

  it('rejects everything but hidden needles when no source can produce the value', () => {
    const test = filterFor('event.provider:"iam.amazonaws.com"', ['aws-cloudtrail']);

    expect(test(cloudTrail('iam.amazonaws.com', 'DeleteAccessKey'))).toBe(false);
    expect(test('{"data":"e30="}')).toBe(true);
  });

  it('only looks at the sources the rule selects', () => {
    const test = filterFor('event.action:"SetIamPolicy"', ['gcp-audit-logs']);

    expect(test(gcp('cloudresourcemanager.googleapis.com', 'SetIamPolicy'))).toBe(true);
    expect(test(azure('Contoso.Widgets/SetIamPolicy'))).toBe(false);
  });
});
