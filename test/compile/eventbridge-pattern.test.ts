import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventBridgePattern } from '../../lambda/engine/compile/eventbridge-pattern';
import {
  compileEventPattern,
  EVENT_PATTERN_MAX_LENGTH,
  parsePath,
} from '../../lambda/engine/compile/eventbridge-pattern';
import type { KqlNode, KqlPattern } from '../../lambda/engine/kql';
import {
  buildAll,
  buildAnd,
  buildExists,
  buildIs,
  buildLiteral,
  buildNested,
  buildNot,
  buildOr,
  buildRange,
  buildWildcard,
  compileKql,
  parseKql,
} from '../../lambda/engine/kql';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import { loadRules } from '../../lambda/engine/rules';

// ---------------------------------------------------------------------------------------------------------
// A small, independent evaluator of EventBridge's pattern language (the subset the compiler emits, and it
// throws on anything else so a new construct cannot slip through untested).

type Json = unknown;

function matchesPattern(pattern: Record<string, Json>, event: Json): boolean {
  if (typeof event !== 'object' || event === null) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    if (key === '$or') {
      return (expected as Record<string, Json>[]).some((alternative) => matchesPattern(alternative, event));
    }
    const actual = (event as Record<string, Json>)[key];
    if (Array.isArray(expected)) {
      if (actual === undefined || actual === null) return false;
      const values = Array.isArray(actual) ? actual : [actual];
      return values.some((value) => expected.some((filter) => filterAccepts(filter, value)));
    }
    if (Array.isArray(actual))
      return actual.some((element) => matchesPattern(expected as Record<string, Json>, element));
    return matchesPattern(expected as Record<string, Json>, actual);
  });
}

function filterAccepts(filter: Json, value: Json): boolean {
  if (typeof filter === 'string') return value === filter;
  const [[operator, operand]] = Object.entries(filter as Record<string, Json>) as [[string, Json]];
  if (typeof value !== 'string') return false;
  const ignoreCase = typeof operand === 'object' && operand !== null;
  const text = ignoreCase
    ? ((operand as Record<string, string>)['equals-ignore-case'] as string)
    : (operand as string);
  const subject = ignoreCase ? value.toLowerCase() : value;
  const wanted = ignoreCase ? text.toLowerCase() : text;
  switch (operator) {
    case 'prefix':
      return subject.startsWith(wanted);
    case 'suffix':
      return subject.endsWith(wanted);
    case 'equals-ignore-case':
      return value.toLowerCase() === (operand as string).toLowerCase();
    default:
      throw new Error(`the test evaluator does not know the filter ${JSON.stringify(filter)}`);
  }
}

function accepts(pattern: EventBridgePattern | null, envelope: Json): boolean {
  return pattern !== null && matchesPattern(pattern as unknown as Record<string, Json>, envelope);
}

// ---------------------------------------------------------------------------------------------------------
// CloudTrail events as EventBridge delivers them

const DETAIL_TYPES: Record<string, string> = {
  AwsApiCall: 'AWS API Call via CloudTrail',
  AwsConsoleSignIn: 'AWS Console Sign In via CloudTrail',
  AwsServiceEvent: 'AWS Service Event via CloudTrail',
  AwsConsoleAction: 'AWS Console Action via CloudTrail',
  AwsCloudTrailInsight: 'AWS Insight via CloudTrail',
};

interface CloudTrailSpec {
  readonly eventSource: string;
  readonly eventName: string;
  readonly eventType?: string;
  readonly insightType?: string;
  readonly userName?: string;
  readonly region?: string;
  readonly errorCode?: string;
  readonly insightSource?: string;
}

function envelope(spec: CloudTrailSpec): Record<string, Json> {
  const eventType = spec.eventType ?? 'AwsApiCall';
  const insight = eventType === 'AwsCloudTrailInsight';
  const service = spec.eventSource.replace(/\.amazonaws\.com$/, '');
  return {
    version: '0',
    id: 'a1b2c3d4-0000-0000-0000-000000000000',
    'detail-type': DETAIL_TYPES[eventType],
    source: insight ? (spec.insightSource ?? 'aws.cloudtrail') : `aws.${service}`,
    account: '111122223333',
    time: '2026-11-28T09:16:12Z',
    region: spec.region ?? 'us-east-1',
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLE',
        arn: `arn:aws:iam::111122223333:user/${spec.userName ?? 'alice'}`,
        accountId: '111122223333',
        userName: spec.userName ?? 'alice',
      },
      eventTime: '2026-11-28T09:16:12Z',
      eventSource: spec.eventSource,
      eventName: spec.eventName,
      awsRegion: spec.region ?? 'us-east-1',
      sourceIPAddress: '203.0.113.24',
      userAgent: 'aws-cli/2.17.12',
      ...(spec.errorCode === undefined ? {} : { errorCode: spec.errorCode, errorMessage: 'denied' }),
      requestParameters: { userName: 'build-bot', accessKeyId: 'AKIAEXAMPLE' },
      responseElements: null,
      eventID: 'evt-0001',
      eventType,
      ...(insight
        ? { insightDetails: { state: 'Start', insightType: spec.insightType ?? 'ApiCallRateInsight' } }
        : {}),
      recipientAccountId: '111122223333',
    },
  };
}

/** What the detect function would decide: decode, normalize, evaluate; false when the record cannot be normalized. */
function predicateAccepts(ast: KqlNode, event: Json): boolean {
  const predicate = compileKql(ast);
  for (const item of recordsFromDocument(event)) {
    if ('error' in item) continue;
    try {
      if (predicate(normalize(item.source, item.record).doc)) return true;
    } catch {
      // A record that does not normalize is dead-lettered, never matched.
    }
  }
  return false;
}

const ast = (query: string): KqlNode => parseKql(query);

/** The `$or` alternatives inside `detail`, or none. */
function alternativesOf(pattern: EventBridgePattern | null): unknown[] {
  const alternatives = pattern?.detail?.$or;
  return Array.isArray(alternatives) ? alternatives : [];
}

describe('compileEventPattern', () => {
  it('compiles the seed rule to eventSource and eventName filters', async () => {
    const [rule] = await loadRules(path.resolve(import.meta.dirname, '../../rules'));

    const { pattern, widened } = compileEventPattern((rule as { ast: KqlNode }).ast);

    expect(widened).toEqual([]);
    expect(pattern).toEqual({
      source: ['aws.iam'],
      'detail-type': [{ suffix: 'via CloudTrail' }],
      // No insight alternative: an insight's provider is AWS CloudTrail Insights, never AWS IAM.
      detail: {
        eventSource: ['iam.amazonaws.com'],
        eventName: ['DeleteAccessKey', 'UpdateAssumeRolePolicy', 'CreatePolicyVersion'],
      },
    });
  });

  it('merges an or of same-field literals into one array', () => {
    const { pattern } = compileEventPattern(ast('event.provider:("AWS IAM" or "AWS STS")'));

    expect(pattern?.detail).toEqual({ eventSource: ['iam.amazonaws.com', 'sts.amazonaws.com'] });
    expect(pattern?.source).toEqual(['aws.iam', 'aws.sts']);
  });

  it('merges the keys of an and', () => {
    const { pattern } = compileEventPattern(ast('event.provider:"AWS STS" and event.action:AssumeRole'));

    expect(pattern?.detail).toEqual({ eventSource: ['sts.amazonaws.com'], eventName: ['AssumeRole'] });
  });

  it('keeps the insight alternative of an action unless an and requires another provider', () => {
    const alone = compileEventPattern(ast('event.action:AssumeRole')).pattern;
    const besideOr = compileEventPattern(ast('event.provider:"AWS STS" or event.action:AssumeRole')).pattern;
    const insights = compileEventPattern(
      ast('event.provider:"AWS CloudTrail Insights" and event.action:AssumeRole'),
    ).pattern;

    expect(alone?.detail).toEqual({
      $or: [{ eventName: ['AssumeRole'] }, { insightDetails: { insightType: ['AssumeRole'] } }],
    });
    expect(JSON.stringify(besideOr)).toContain('insightType');
    expect(insights?.detail).toMatchObject({ eventType: ['AwsCloudTrailInsight'] });
    expect(JSON.stringify(insights)).toContain('insightType');
  });

  it('keeps alternatives on different fields apart with $or', () => {
    const { pattern } = compileEventPattern(
      ast(
        '(event.provider:"AWS IAM" and event.action:CreateUser) or (event.provider:"AWS STS" and event.action:AssumeRole)',
      ),
    );

    const alternatives = alternativesOf(pattern);
    expect(alternatives).toContainEqual({ eventSource: ['iam.amazonaws.com'], eventName: ['CreateUser'] });
    expect(alternatives).toContainEqual({ eventSource: ['sts.amazonaws.com'], eventName: ['AssumeRole'] });
    expect(pattern?.source).toEqual(['aws.iam', 'aws.sts']);
  });

  it.each([
    ['event.action:Delete*', [{ prefix: 'Delete' }]],
    ['event.action:*AccessKey', [{ suffix: 'AccessKey' }]],
    ['event.action:Del*Key', [{ prefix: 'Del' }]],
  ])('compiles the wildcard %s on a verbatim field to %j', (query, filters) => {
    const { pattern, widened } = compileEventPattern(ast(query));

    expect(widened).toEqual([]);
    expect(alternativesOf(pattern)).toContainEqual({ eventName: filters });
  });

  it.each([
    ['not event.action:CreateUser', 'negation'],
    ['event.provider:AWS*', 'renames'],
    ['event.action:*', 'exists'],
    ['event.action:*e*', 'without a fixed prefix or suffix'],
    ['DeleteAccessKey', 'free text'],
    ['event.*:DeleteAccessKey', 'wildcard field name'],
    ['user.name:alice', 'no raw mapping'],
    ['cloud.region > "us"', 'range'],
    ['target:{ kind:role }', 'nested'],
  ])('widens %s instead of filtering on it', (query, reason) => {
    const { pattern, widened } = compileEventPattern(ast(query));

    expect(pattern).toEqual({ 'detail-type': [{ suffix: 'via CloudTrail' }] });
    expect(widened.join(' ')).toContain(reason);
  });

  it('drops an unsupported part of an and but keeps the rest', () => {
    const { pattern, widened } = compileEventPattern(ast('event.provider:"AWS IAM" and not user.name:bob'));

    expect(pattern?.detail).toEqual({ eventSource: ['iam.amazonaws.com'] });
    expect(widened).toEqual(['negation (not …)']);
  });

  it('widens an or when one branch cannot be expressed', () => {
    const { pattern } = compileEventPattern(ast('event.provider:"AWS IAM" or user.name:bob'));

    expect(pattern).toEqual({ 'detail-type': [{ suffix: 'via CloudTrail' }] });
  });

  it.each([
    ['event.provider:"iam.amazonaws.com"', 'a raw value the catalog always renames'],
    ['event.dataset:gcp-audit-logs', 'another source'],
    ['event.provider:"gcp.iam"', 'a provider no AWS service has'],
    ['event.provider:"AWS IAM" and event.provider:"AWS STS"', 'contradictory values'],
  ])('returns no pattern for %s (%s)', (query) => {
    expect(compileEventPattern(ast(query)).pattern).toBeNull();
  });

  it('drops branches no CloudTrail record can take and keeps the others', () => {
    const { pattern } = compileEventPattern(
      ast('(event.provider:"gcp.iam" and event.action:SetIamPolicy) or event.provider:"AWS KMS"'),
    );

    expect(pattern?.detail).toEqual({ eventSource: ['kms.amazonaws.com'] });
  });

  it('narrows an and of a literal list and a prefix to the literals the prefix accepts', () => {
    const { pattern } = compileEventPattern(
      ast('event.action:(DeleteUser or CreateUser) and event.action:Delete*'),
    );

    expect(alternativesOf(pattern)).toContainEqual({ eventName: ['DeleteUser'] });
  });

  it('widens a pattern longer than the size quota until it fits', () => {
    const names = Array.from({ length: 120 }, (_, i) => `SomeRatherLongApiActionName${i}`);
    const query = names.map((name) => `event.action:${name}`).join(' or ');

    const { pattern, widened } = compileEventPattern(ast(query), { maxLength: 1024 });

    expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(1024);
    expect(widened.join(' ')).toContain('longer than 1024 characters');
  });

  it('keeps the seed rule within the default size quota', async () => {
    const [rule] = await loadRules(path.resolve(import.meta.dirname, '../../rules'));

    const { pattern } = compileEventPattern((rule as { ast: KqlNode }).ast);

    expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(EVENT_PATTERN_MAX_LENGTH);
  });

  it('accepts everything for the empty query', () => {
    expect(compileEventPattern(buildAll()).pattern).toEqual({
      'detail-type': [{ suffix: 'via CloudTrail' }],
    });
  });
});

describe('parsePath', () => {
  it.each([
    ['eventName', ['eventName']],
    ['insightDetails.insightType', ['insightDetails', 'insightType']],
    ['claims["http://schemas.example/claims/name"]', ['claims', 'http://schemas.example/claims/name']],
  ])('splits %s', (formatted, segments) => {
    expect(parsePath(formatted)).toEqual(segments);
  });
});

describe('the compiled pattern against real events', () => {
  it.each<[string, CloudTrailSpec, boolean]>([
    ['DeleteAccessKey on IAM', { eventSource: 'iam.amazonaws.com', eventName: 'DeleteAccessKey' }, true],
    [
      'a failed CreatePolicyVersion',
      { eventSource: 'iam.amazonaws.com', eventName: 'CreatePolicyVersion', errorCode: 'AccessDenied' },
      true,
    ],
    ['CreateUser on IAM', { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser' }, false],
    [
      'DeleteAccessKey on another service',
      { eventSource: 'ec2.amazonaws.com', eventName: 'DeleteAccessKey' },
      false,
    ],
  ])('decides %s like the predicate', async (_name, spec, expected) => {
    const [rule] = await loadRules(path.resolve(import.meta.dirname, '../../rules'));
    const ruleAst = (rule as { ast: KqlNode }).ast;
    const event = envelope(spec);

    const { pattern } = compileEventPattern(ruleAst);

    expect(predicateAccepts(ruleAst, event)).toBe(expected);
    expect(accepts(pattern, event)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Soundness: whatever the query, every event the predicate accepts, the pattern accepts.

const EVENT_SOURCES = [
  'iam.amazonaws.com',
  'sts.amazonaws.com',
  's3.amazonaws.com',
  'kms.amazonaws.com',
  'signin.amazonaws.com',
  'unlisted-service.amazonaws.com',
];
const EVENT_NAMES = [
  'DeleteAccessKey',
  'CreatePolicyVersion',
  'AssumeRole',
  'ConsoleLogin',
  'PutObject',
  'Decrypt',
];
const INSIGHT_TYPES = ['ApiCallRateInsight', 'ApiErrorRateInsight'];
const USERS = ['alice', 'build-bot'];
const REGIONS = ['us-east-1', 'eu-west-1'];

const specArbitrary: fc.Arbitrary<CloudTrailSpec> = fc.record(
  {
    eventSource: fc.constantFrom(...EVENT_SOURCES),
    eventName: fc.constantFrom(...EVENT_NAMES),
    eventType: fc.constantFrom(...Object.keys(DETAIL_TYPES)),
    insightType: fc.constantFrom(...INSIGHT_TYPES),
    userName: fc.constantFrom(...USERS),
    region: fc.constantFrom(...REGIONS),
    errorCode: fc.constantFrom('AccessDenied', 'NoSuchEntity'),
    insightSource: fc.constantFrom('aws.cloudtrail', 'aws.iam'),
  },
  { requiredKeys: ['eventSource', 'eventName'] },
);

const VALUES: Record<string, readonly string[]> = {
  'event.provider': [
    'AWS IAM',
    'AWS STS',
    'Amazon S3',
    'AWS KMS',
    'AWS Sign-In',
    'AWS CloudTrail Insights',
    'unlisted-service.amazonaws.com',
    'iam.amazonaws.com',
    'Microsoft.Authorization',
  ],
  'event.action': [...EVENT_NAMES, ...INSIGHT_TYPES, 'roleAssignments/write'],
  'event.outcome': ['success', 'failure'],
  'event.dataset': ['aws-cloudtrail', 'azure-activity-logs'],
  'cloud.provider': ['aws', 'gcp'],
  'cloud.region': REGIONS,
  'user.name': USERS,
  'error.code': ['AccessDenied'],
};
const FIELDS = Object.keys(VALUES);

/** A literal, or a wildcard cut out of one of the field's values (prefix, suffix or infix). */
const valueArbitrary = (field: string): fc.Arbitrary<KqlPattern> =>
  fc.constantFrom(...(VALUES[field] as string[])).chain((value) =>
    fc.oneof(
      fc.constant(buildLiteral(value, true)),
      fc.nat(value.length).map((cut) => buildWildcard([value.slice(0, cut), ''])),
      fc.nat(value.length).map((cut) => buildWildcard(['', value.slice(cut)])),
      fc.nat(value.length).map((cut) => buildWildcard([value.slice(0, cut), value.slice(cut + 1)])),
    ),
  );

const leafArbitrary: fc.Arbitrary<KqlNode> = fc.constantFrom(...FIELDS).chain((field) =>
  fc.oneof(
    { weight: 6, arbitrary: valueArbitrary(field).map((value) => buildIs(buildLiteral(field), value)) },
    { weight: 1, arbitrary: fc.constant(buildExists(buildLiteral(field))) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...(VALUES[field] as string[])).map((v) => buildIs(null, buildLiteral(v))),
    },
    { weight: 1, arbitrary: fc.constant(buildRange(buildLiteral(field), 'gte', 'm', false)) },
    {
      weight: 1,
      arbitrary: fc.constant(buildIs(buildWildcard(['event.', '']), buildLiteral('AssumeRole'))),
    },
  ),
);

const { query: queryArbitrary } = fc.letrec<{ query: KqlNode }>((tie) => ({
  query: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: leafArbitrary },
    { weight: 2, arbitrary: fc.array(tie('query'), { minLength: 2, maxLength: 3 }).map((c) => buildAnd(c)) },
    { weight: 2, arbitrary: fc.array(tie('query'), { minLength: 2, maxLength: 3 }).map((c) => buildOr(c)) },
    { weight: 1, arbitrary: tie('query').map((child) => buildNot(child)) },
    { weight: 1, arbitrary: tie('query').map((child) => buildNested('target', child)) },
  ),
}));

describe('compileEventPattern soundness', () => {
  it('accepts every CloudTrail event the predicate accepts', () => {
    fc.assert(
      fc.property(queryArbitrary, fc.array(specArbitrary, { minLength: 1, maxLength: 8 }), (query, specs) => {
        const { pattern } = compileEventPattern(query);
        for (const spec of specs) {
          const event = envelope(spec);
          if (predicateAccepts(query, event)) expect(accepts(pattern, event)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("accepts every event when the query is built from that event's own values (not vacuous)", () => {
    const fields = ['event.provider', 'event.action', 'event.outcome', 'cloud.region', 'user.name'];
    fc.assert(
      fc.property(
        specArbitrary,
        fc.subarray(fields, { minLength: 1 }),
        fc.boolean(),
        fc.nat(12),
        (spec, chosen, disjoin, cut) => {
          const event = envelope(spec);
          const [decoded] = [...recordsFromDocument(event)];
          if (decoded === undefined || 'error' in decoded)
            throw new Error('the generated event does not decode');
          const doc = normalize(decoded.source, decoded.record).doc as Record<
            string,
            Record<string, unknown>
          >;
          const fieldValue = (field: string): string => {
            const [group, name] = field.split('.') as [string, string];
            return String(doc[group]?.[name]);
          };
          const conditions = chosen.map((field) => {
            const value = fieldValue(field);
            return field === 'event.action' && cut > 0 && cut < value.length
              ? buildIs(buildLiteral(field), buildWildcard([value.slice(0, cut), '']))
              : buildIs(buildLiteral(field), buildLiteral(value, true));
          });
          const decoy = buildIs(buildLiteral('event.action'), buildLiteral('NoSuchAction', true));
          const query =
            conditions.length === 1
              ? (conditions[0] as KqlNode)
              : disjoin
                ? buildOr([...conditions, decoy])
                : buildAnd(conditions);

          const { pattern } = compileEventPattern(query);

          expect(predicateAccepts(query, event)).toBe(true);
          expect(accepts(pattern, event)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects events outside the filtered values (the pattern filters something)', () => {
    const query = ast('event.provider:"AWS IAM" and event.action:DeleteAccessKey');

    const { pattern } = compileEventPattern(query);

    expect(
      accepts(pattern, envelope({ eventSource: 'iam.amazonaws.com', eventName: 'DeleteAccessKey' })),
    ).toBe(true);
    expect(
      accepts(pattern, envelope({ eventSource: 's3.amazonaws.com', eventName: 'DeleteAccessKey' })),
    ).toBe(false);
    expect(accepts(pattern, envelope({ eventSource: 'iam.amazonaws.com', eventName: 'CreateUser' }))).toBe(
      false,
    );
  });
});
