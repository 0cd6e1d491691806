import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import {
  loadRule,
  parseRule,
  parseRuleTests,
  RuleLoadError,
  RuleValidationError,
  runRuleTests,
} from '../../lambda/engine/rules';
import { SHIPPED_RULE, SHIPPED_TESTS, tempDir } from './helpers';

const NOW = new Date('2026-06-01T00:00:00Z');
const shipped = await loadRule(SHIPPED_RULE);
const results = await runRuleTests(shipped, SHIPPED_TESTS, { now: NOW });
const testsText = await readFile(SHIPPED_TESTS, 'utf8');

describe('the shipped rule tests', () => {
  it.each(results.map((result) => [result.name, result] as const))('%s', (_name, result) => {
    expect(result.message).toBeUndefined();
    expect(result.actual).toBe(result.expect);
    expect(result.passed).toBe(true);
  });

  it('cover every source of the rule with a positive and a negative event', () => {
    for (const source of shipped.sources) {
      const expectations = results
        .filter((result) => result.sources.includes(source))
        .map((result) => result.expect);
      expect(expectations, source).toEqual(expect.arrayContaining(['match', 'no_match']));
    }
  });

  it('cover each of the seven provider and action pairs of the query, and near misses of each cloud', () => {
    const tests = (parse(testsText) as { tests: { expect: string; event: unknown }[] }).tests;
    const pairs = (expectation: string): Set<string> => {
      const found = new Set<string>();
      for (const test of tests.filter((candidate) => candidate.expect === expectation)) {
        for (const decoded of recordsFromDocument(test.event)) {
          if ('error' in decoded) continue;
          const { doc } = normalize(decoded.source, decoded.record);
          found.add(`${doc.cloud.provider} ${doc.event.provider} ${doc.event.action}`);
        }
      }
      return found;
    };

    expect([...pairs('match')].sort()).toEqual([
      'aws AWS IAM CreatePolicyVersion',
      'aws AWS IAM DeleteAccessKey',
      'aws AWS IAM UpdateAssumeRolePolicy',
      'azure Microsoft.Authorization elevateAccess',
      'azure Microsoft.Authorization roleAssignments/write',
      'gcp gcp.iam SetIamPolicy',
      'gcp gcp.iam google.iam.admin.v1.DeleteServiceAccountKey',
    ]);
    expect([...pairs('no_match')]).toEqual(
      expect.arrayContaining([
        'aws AWS IAM CreateAccessKey',
        'azure Microsoft.Authorization roleAssignments/delete',
        expect.stringMatching(/^gcp \S+ storage\.setIamPermissions$/),
        expect.stringMatching(/^aws \S+ CreatePolicyVersion$/),
      ]),
    );
  });
});

describe('runbook command selection on the shipped test events', () => {
  const tests = (parse(testsText) as { tests: { name: string; event: unknown }[] }).tests;

  function commandsFor(testName: string): string[] {
    const test = tests.find((candidate) => candidate.name === testName);
    const decoded = [...recordsFromDocument(test?.event)][0];
    if (!decoded || 'error' in decoded) throw new Error(`cannot decode ${testName}`);
    const { doc } = normalize(decoded.source, decoded.record);
    return shipped.runbook.containment.flatMap((step) =>
      step.commands.filter((command) => command.when(doc)).map((command) => command.command),
    );
  }

  it('offers key commands for an IAM user caller and session revocation for an assumed role', () => {
    const userCaller = commandsFor('aws DeleteAccessKey in a CloudTrail S3 log file matches');
    const roleCaller = commandsFor('aws UpdateAssumeRolePolicy delivered as an EventBridge envelope matches');

    expect(userCaller).toContain('aws iam list-access-keys --user-name {{user.name}}');
    expect(userCaller).toContain('aws iam list-access-keys --user-name {{target.principal}}');
    expect(userCaller.join('\n')).not.toContain('put-role-policy');
    expect(roleCaller).toContain(
      'aws iam put-role-policy --role-name {{user.name}} --policy-name AWSRevokeOlderSessions --policy-document file://revoke-older-sessions.json',
    );
    expect(roleCaller).toContain(
      'aws iam get-role --role-name {{target.name}} --query Role.AssumeRolePolicyDocument',
    );
    expect(roleCaller.join('\n')).not.toContain('list-access-keys');
  });

  it('offers the removal that fits the resource whose GCP IAM policy changed', () => {
    const project = commandsFor('gcp project SetIamPolicy (Resource Manager) matches');
    const serviceAccount = commandsFor('gcp service-account SetIAMPolicy (IAM admin casing) matches');

    expect(project).toContain(
      'gcloud projects remove-iam-policy-binding {{cloud.account.id}} --member {{target.principal}} --role {{target.role}}',
    );
    expect(project.join('\n')).not.toContain('service-accounts remove-iam-policy-binding');
    expect(serviceAccount.join('\n')).toContain('gcloud iam service-accounts remove-iam-policy-binding');
    expect(serviceAccount.join('\n')).not.toContain('projects remove-iam-policy-binding');
  });

  it('offers the root-scope removal after elevateAccess', () => {
    const elevated = commandsFor(
      'azure elevateAccess (Global Administrator takes User Access Administrator at root) matches',
    );

    expect(elevated).toContain(
      'az role assignment delete --assignee {{user.id}} --role "User Access Administrator" --scope "/"',
    );
    expect(elevated.every((command) => command.startsWith('az '))).toBe(true);
  });
});

describe('runRuleTests', () => {
  it('fails a test whose expectation is wrong', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'mutated.tests.yaml');
    const name = 'aws DeleteAccessKey in a CloudTrail S3 log file matches';
    const mutated = testsText.replace(`${name}\n    expect: match`, `${name}\n    expect: no_match`);
    expect(mutated).not.toBe(testsText);
    await writeFile(file, mutated);

    const outcome = await runRuleTests(shipped, file, { now: NOW });

    const failed = outcome.filter((result) => !result.passed);
    expect(failed.map((result) => [result.name, result.actual, result.message])).toEqual([
      [name, 'match', 'expected no_match, got match'],
    ]);
  });

  it('counts a match silenced by an active exception as suppressed, and an expired one as a match', async () => {
    const text = (await readFile(SHIPPED_RULE, 'utf8')).replace(
      'exceptions: []',
      `exceptions:
  - id: alice-rotation
    query: 'user.name:"mallory" and cloud.account.id:"111122223333"'
    owner: secops@example.com
    reason: Test exception.
    expires: 2026-07-01`,
    );
    const rule = parseRule(text, SHIPPED_RULE);
    const dir = await tempDir();
    const file = path.join(dir, 'suppressed.tests.yaml');
    const event = (parse(testsText) as { tests: { event: unknown }[] }).tests[0]?.event;
    await writeFile(
      file,
      JSON.stringify({
        rule: 'abnormal-cloud-api-calls',
        tests: [
          { name: 'silenced', expect: 'suppressed', event },
          { name: 'not silenced', expect: 'match', event },
        ],
      }),
    );

    const active = await runRuleTests(rule, file, { now: NOW });
    const expired = await runRuleTests(rule, file, { now: new Date('2026-07-02T00:00:00Z') });

    expect(active.map((result) => [result.actual, result.passed, result.exceptions])).toEqual([
      ['suppressed', true, ['alice-rotation']],
      ['suppressed', false, ['alice-rotation']],
    ]);
    expect(expired.map((result) => [result.actual, result.passed])).toEqual([
      ['match', false],
      ['match', true],
    ]);
  });

  it('reports an event that cannot be decoded as an error, not a pass', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'bad.tests.yaml');
    await writeFile(
      file,
      'rule: abnormal-cloud-api-calls\ntests:\n  - name: junk\n    expect: no_match\n    event: { hello: world }\n',
    );

    const [result] = await runRuleTests(shipped, file, { now: NOW });

    expect(result).toMatchObject({ name: 'junk', actual: 'error', passed: false });
  });

  it('refuses a tests file written for another rule', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'other.tests.yaml');
    await writeFile(file, testsText.replace('rule: abnormal-cloud-api-calls', 'rule: another-rule'));

    await expect(runRuleTests(shipped, file)).rejects.toMatchObject({
      name: 'RuleValidationError',
      field: 'rule',
    });
  });

  it('fails with a RuleLoadError when the tests file is missing', async () => {
    await expect(runRuleTests(shipped, '/nonexistent/x.tests.yaml')).rejects.toBeInstanceOf(RuleLoadError);
  });
});

describe('parseRuleTests', () => {
  it.each([
    [
      'an unknown expectation',
      'rule: r\ntests:\n  - name: a\n    expect: maybe\n    event: {}\n',
      'tests[0].expect',
    ],
    ['a test without a name', 'rule: r\ntests:\n  - expect: match\n    event: {}\n', 'tests[0].name'],
    ['a test without an event', 'rule: r\ntests:\n  - name: a\n    expect: match\n', 'tests[0].event'],
    [
      'a duplicate test name',
      'rule: r\ntests:\n  - {name: a, expect: match, event: {}}\n  - {name: a, expect: match, event: {}}\n',
      'tests[1].name',
    ],
    ['a missing rule id', 'tests:\n  - {name: a, expect: match, event: {}}\n', 'rule'],
    ['an unknown field', 'rule: r\ntest: []\n', 'test'],
  ])('rejects %s, naming the field', (_case, text, field) => {
    let error: unknown;
    try {
      parseRuleTests(text, 'rules/r.tests.yaml');
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(RuleValidationError);
    expect((error as RuleValidationError).problems.map((problem) => problem.field)).toContain(field);
    expect((error as RuleValidationError).message).toContain('rules/r.tests.yaml');
  });
});
