import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LintFinding, Rule } from '../../lambda/engine/rules';
import {
  ATTACK_TECHNIQUES,
  attackTechnique,
  lintRules,
  loadRule,
  parseRule,
} from '../../lambda/engine/rules';
import { SHIPPED_RULE, SHIPPED_TESTS, tempDir, VALID_RULE } from './helpers';

const NOW = new Date('2026-06-01T00:00:00Z');

function ruleWith(query: string, extra = '', file = 'rules/sample-rule.yaml'): Rule {
  return parseRule(`${VALID_RULE.replace(/^query: .*$/m, `query: '${query}'`)}${extra}`, file);
}

function errors(findings: readonly LintFinding[]): LintFinding[] {
  return findings.filter((finding) => finding.level === 'error');
}

describe('lintRules', () => {
  it('finds no error in the shipped rule', async () => {
    const rule = await loadRule(SHIPPED_RULE);

    const findings = lintRules([rule], { now: NOW });

    expect(errors(findings)).toEqual([]);
  });

  it('finds nothing at all in the shipped rule and its tests file', async () => {
    const rule = await loadRule(SHIPPED_RULE);

    expect(lintRules([rule], { now: NOW })).toEqual([]);
  });

  it('fails a provider literal no normalizer produces, with its position', () => {
    const query = 'event.provider:"AWS IAMM" and event.action:"DeleteAccessKey"';
    const rule = ruleWith(query);

    const [finding, ...rest] = errors(lintRules([rule], { now: NOW }));

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      level: 'error',
      ruleId: 'sample-rule',
      field: 'query',
      position: query.indexOf('"AWS IAMM"'),
      line: 10,
    });
    expect(finding?.message).toContain('"AWS IAMM"');
    expect(finding?.message).toContain('Did you mean "AWS IAM"?');
  });

  it('fails an action literal the conjoined provider never produces, with its position', () => {
    const query = 'event.provider:"AWS IAM" and event.action:("DeleteAccesKey" or "CreatePolicyVersion")';
    const rule = ruleWith(query);

    const [finding, ...rest] = errors(lintRules([rule], { now: NOW }));

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ field: 'query', position: query.indexOf('"DeleteAccesKey"') });
    expect(finding?.message).toContain('"DeleteAccesKey"');
    expect(finding?.message).toContain('"AWS IAM"');
    expect(finding?.message).toContain('Did you mean "DeleteAccessKey"?');
  });

  it.each([
    [
      'an action under another provider of an or',
      'event.provider:"gcp.iam" or event.action:"DeleteAccesKey"',
    ],
    [
      'an action excluded together with a negated provider',
      'not event.provider:"AWS IAM" and event.action:"Anything"',
    ],
    [
      'an action of a provider with an open action list',
      'event.provider:"AWS STS" and event.action:"AssumeRoleWithWebIdentity"',
    ],
  ])('accepts %s', (_case, query) => {
    const rule = ruleWith(query);

    expect(errors(lintRules([rule], { now: NOW }))).toEqual([]);
  });

  it('checks the literals of exception queries and runbook conditions too', () => {
    const extra = `exceptions:
  - id: ci
    query: cloud.provider:"amazon" and user.name:"terraform-ci"
    owner: platform@example.com
    reason: CI
    expires: 2027-03-31
runbook:
  containment:
    - id: step
      text: Contain.
      commands:
        - cloud: aws
          when: event.provider:"AWS IAM" and event.action:"UpdateAssumeRolePolice"
          command: aws iam get-role --role-name {{target.name}}
`;
    const rule = ruleWith('event.provider:"AWS IAM"', extra);

    const found = errors(lintRules([rule], { now: NOW })).map((finding) => [finding.field, finding.position]);

    expect(found).toEqual([
      ['exceptions[0].query', 'cloud.provider:'.length],
      ['runbook.containment[0].commands[0].when', 'event.provider:"AWS IAM" and event.action:'.length],
    ]);
  });

  it('fails an unknown technique, a wrong name and a tactic the technique does not serve', () => {
    const extra = `threat:
  - id: T9999
    name: Nothing
    tactics: [Impact]
  - id: T1098.003
    name: Additional Cloud Credentials
    tactics: [Persistence]
  - id: T1531
    name: Account Access Removal
    tactics: [Persistence]
`;
    const rule = ruleWith('event.provider:"AWS IAM"', extra);

    const found = errors(lintRules([rule], { now: NOW })).map((finding) => finding.field);

    expect(found).toEqual(['threat[0].id', 'threat[1].name', 'threat[2].tactics[0]']);
  });

  it('accepts a sub-technique written with its parent name', () => {
    const extra =
      'threat:\n  - id: T1078.004\n    name: "Valid Accounts: Cloud Accounts"\n    tactics: [Initial Access]\n';
    const rule = ruleWith('event.provider:"AWS IAM"', extra);

    expect(errors(lintRules([rule], { now: NOW }))).toEqual([]);
  });

  it('fails a technique tag the ATT&CK table does not know', () => {
    const rule = ruleWith('event.provider:"AWS IAM"', 'tags: [Cloud, T1529, T4242]\n');

    expect(errors(lintRules([rule], { now: NOW })).map((finding) => finding.field)).toEqual(['tags[2]']);
  });

  it('warns that an expired exception no longer applies, and about one expiring soon', () => {
    const extra = `exceptions:
  - id: old
    query: user.name:"old-ci"
    owner: platform@example.com
    reason: Retired pipeline.
    expires: 2026-05-01
  - id: soon
    query: user.name:"new-ci"
    owner: platform@example.com
    reason: Migration.
    expires: 2026-06-10
  - id: later
    query: user.name:"other-ci"
    owner: platform@example.com
    reason: Long-lived.
    expires: 2027-06-10
`;
    const rule = ruleWith('event.provider:"AWS IAM"', extra);

    const warnings = lintRules([rule], { now: NOW }).filter((finding) =>
      finding.field.startsWith('exceptions'),
    );

    expect(warnings.map((finding) => [finding.level, finding.field])).toEqual([
      ['warning', 'exceptions[0].expires'],
      ['warning', 'exceptions[1].expires'],
    ]);
    expect(warnings[0]?.message).toContain('no longer applies');
    expect(warnings[1]?.message).toContain('in 9 day(s)');
  });

  it('fails a rule whose id does not match its file name', () => {
    const rule = ruleWith('event.provider:"AWS IAM"', '', 'rules/other-name.yaml');

    const [finding] = errors(lintRules([rule], { now: NOW }));

    expect(finding).toMatchObject({ field: 'id', line: 1, file: 'rules/other-name.yaml' });
  });

  it('fails duplicate ids across rules', () => {
    const first = ruleWith('event.provider:"AWS IAM"');
    const second = ruleWith('event.provider:"gcp.iam"');

    expect(errors(lintRules([first, second], { now: NOW })).map((finding) => finding.field)).toEqual(['id']);
  });

  it('warns when a rule has no tests file', () => {
    const rule = ruleWith('event.provider:"AWS IAM"', '', '/nonexistent/sample-rule.yaml');

    const findings = lintRules([rule], { now: NOW });

    expect(findings).toEqual([
      expect.objectContaining({ level: 'warning', message: expect.stringContaining('no tests file') }),
    ]);
  });

  it('warns about each source lacking a positive or a negative test', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'abnormal-cloud-api-calls.yaml');
    await copyFile(SHIPPED_RULE, file);
    const onlyAws = (await readFile(SHIPPED_TESTS, 'utf8')).split('  # ── Azure Activity Log')[0] ?? '';
    await writeFile(path.join(dir, 'abnormal-cloud-api-calls.tests.yaml'), onlyAws);
    const rule = await loadRule(file);

    const messages = lintRules([rule], { now: NOW }).map((finding) => `${finding.level}: ${finding.message}`);

    expect(messages).toEqual([
      'warning: no positive test (expect: match) for source azure-activity-logs',
      'warning: no negative test (expect: no_match) for source azure-activity-logs',
      'warning: no positive test (expect: match) for source gcp-audit-logs',
      'warning: no negative test (expect: no_match) for source gcp-audit-logs',
    ]);
  });
});

describe('ATT&CK table', () => {
  it.each([
    ['T1098', 'Account Manipulation'],
    ['T1098.001', 'Additional Cloud Credentials'],
    ['T1098.003', 'Additional Cloud Roles'],
    ['T1531', 'Account Access Removal'],
    ['T1078.004', 'Cloud Accounts'],
    ['T1529', 'System Shutdown/Reboot'],
    ['T1136.003', 'Cloud Account'],
    ['T1562.008', 'Disable or Modify Cloud Logs'],
    ['T1580', 'Cloud Infrastructure Discovery'],
    ['T1526', 'Cloud Service Discovery'],
    ['T1069.003', 'Cloud Groups'],
    ['T1087.004', 'Cloud Account'],
    ['T1552.005', 'Cloud Instance Metadata API'],
    ['T1528', 'Steal Application Access Token'],
    ['T1550.001', 'Application Access Token'],
    ['T1484.002', 'Trust Modification'],
    ['T1556.006', 'Multi-Factor Authentication'],
  ])('names %s "%s"', (id, name) => {
    expect(attackTechnique(id)?.name).toBe(name);
  });

  it('gives sub-techniques their parent tactics and full name', () => {
    expect(attackTechnique('T1078.004')).toMatchObject({
      fullName: 'Valid Accounts: Cloud Accounts',
      parent: 'T1078',
      tactics: ['Defense Evasion', 'Persistence', 'Privilege Escalation', 'Initial Access'],
      reference: 'https://attack.mitre.org/techniques/T1078/004/',
    });
  });

  it('covers a few dozen techniques, each with a tactic', () => {
    expect(ATTACK_TECHNIQUES.size).toBeGreaterThanOrEqual(36);
    for (const technique of ATTACK_TECHNIQUES.values()) expect(technique.tactics.length).toBeGreaterThan(0);
  });
});
