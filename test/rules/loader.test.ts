import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKql } from '../../lambda/engine/kql';
import {
  activeExceptions,
  isExpired,
  loadRule,
  loadRuleDirectory,
  loadRules,
  parseRule,
  RuleLoadError,
  RuleValidationError,
} from '../../lambda/engine/rules';
import { SEED_FILE, SHIPPED_RULE, seedQuery, seedYaml, tempDir, VALID_RULE } from './helpers';

const seedMarkdown = await readFile(SEED_FILE, 'utf8');

/** Parses and returns the validation error, failing the test when there is none. */
function rejection(text: string, file = 'rules/sample-rule.yaml'): RuleValidationError {
  try {
    parseRule(text, file);
  } catch (error) {
    if (error instanceof RuleValidationError) return error;
    throw error;
  }
  throw new Error('expected the rule to be rejected');
}

function event(provider: string, action: string, dataset = 'aws-cloudtrail'): Record<string, unknown> {
  return { event: { provider, action, dataset, id: 'e1', kind: 'event' }, cloud: { provider: 'aws' } };
}

describe('loadRule', () => {
  it('loads the shipped rule with every field of the seed', async () => {
    const rule = await loadRule(SHIPPED_RULE);

    expect(rule.id).toBe('abnormal-cloud-api-calls');
    expect(rule.name).toBe('Abnormal Cloud API Calls');
    expect(rule.description).toBe(
      'Detects rare or sensitive cloud API calls, such as IAM privilege changes, key deletions, or role ' +
        'assumptions, which may indicate account compromise or malicious automation.',
    );
    expect(rule.references).toEqual(
      expect.arrayContaining([
        'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference.html',
        'https://learn.microsoft.com/en-us/azure/role-based-access-control/change-roles',
      ]),
    );
    expect(rule.references).not.toContain('https://attack.mitre.org/techniques/T1529/');
    expect(rule.tags).toEqual(['Cloud', 'API Abuse', 'Privilege Escalation', 'Initial Access']);
    expect(rule.severity).toBe('high');
    expect(rule.risk_score).toBe(75);
    expect(rule.type).toBe('query');
    expect(rule.index).toEqual(['aws-cloudtrail-*', 'azure-activity-logs-*', 'gcp-audit-logs-*']);
    expect(rule.language).toBe('kuery');
    expect(rule.query).toBe(seedQuery(seedMarkdown));
    expect(rule.schedule).toEqual({ interval: '5m', intervalMs: 300_000, enabled: true });
  });

  it('derives sources, suppression, threat, runbook and deviations for the shipped rule', async () => {
    const rule = await loadRule(SHIPPED_RULE);

    expect(rule.sources).toEqual(['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs']);
    expect(rule.suppression).toEqual({
      group_by: ['cloud.account.id', 'user.name', 'event.action'],
      window: '60m',
      windowMs: 3_600_000,
    });
    expect(rule.exceptions).toEqual([]);
    expect(rule.threat.map((technique) => technique.id)).toEqual([
      'T1098',
      'T1098.001',
      'T1098.003',
      'T1531',
      'T1078.004',
    ]);
    expect(rule.techniques).toBe(rule.threat);
    expect(rule.seed_deviations.map((deviation) => deviation.field)).toContain('tags');
    expect(Object.keys(rule.runbook)).toEqual([
      'triage',
      'containment',
      'remediation',
      'post_incident_review',
    ]);
    expect(rule.runbook.containment.map((step) => step.text)).toEqual(
      expect.arrayContaining([
        'Revoke affected user credentials or API tokens immediately.',
        'Suspend the involved user or service principal if unauthorized behavior is confirmed.',
        'Rotate access keys, secrets, and invalidate any long-lived tokens.',
      ]),
    );
  });

  it('selects runbook commands by the event cloud and the command condition', async () => {
    const rule = await loadRule(SHIPPED_RULE);
    const undo = rule.runbook.containment.find((step) => step.id === 'containment-undo-change');
    const doc = event('AWS IAM', 'CreatePolicyVersion');

    const shown = undo?.commands.filter((command) => command.when(doc)).map((command) => command.command);

    expect(shown).toEqual([
      'aws iam list-policy-versions --policy-arn {{target.id}}',
      'aws iam set-default-policy-version --policy-arn {{target.id}} --version-id "$PREVIOUS_VERSION_ID"',
      'aws iam delete-policy-version --policy-arn {{target.id}} --version-id "$NEW_VERSION_ID"',
    ]);
  });

  it('compiles the query into a predicate over normalized events', async () => {
    const rule = await loadRule(SHIPPED_RULE);

    expect(rule.predicate(event('AWS IAM', 'DeleteAccessKey'))).toBe(true);
    expect(rule.predicate(event('AWS IAM', 'CreateAccessKey'))).toBe(false);
    expect(rule.predicate(event('Microsoft.Authorization', 'elevateAccess', 'azure-activity-logs'))).toBe(
      true,
    );
    expect(rule.predicate(event('gcp.iam', 'SetIamPolicy', 'gcp-audit-logs'))).toBe(true);
  });

  it("loads the seed's own list-of-single-key-maps YAML to an equivalent rule", async () => {
    const shipped = await loadRule(SHIPPED_RULE);

    const seed = parseRule(seedYaml(seedMarkdown), 'rules/abnormal-cloud-api-calls.yaml');

    expect(seed.id).toBe(shipped.id);
    for (const field of [
      'name',
      'description',
      'severity',
      'risk_score',
      'type',
      'index',
      'language',
    ] as const) {
      expect(seed[field]).toEqual(shipped[field]);
    }
    expect(seed.query).toBe(shipped.query);
    expect(seed.schedule).toEqual(shipped.schedule);
    expect(seed.sources).toEqual(shipped.sources);
    expect(seed.tags).toEqual(['T1529', ...shipped.tags]);
    expect(seed.suppression).toEqual(shipped.suppression);
    for (const doc of [event('AWS IAM', 'UpdateAssumeRolePolicy'), event('gcp.iam', 'DeleteAccessKey')]) {
      expect(seed.predicate(doc)).toBe(shipped.predicate(doc));
    }
  });

  it('reads a list-of-single-key-maps schedule inside a plain mapping', () => {
    const text = VALID_RULE.replace(
      'schedule:\n  interval: 5m\n  enabled: true',
      'schedule:\n  - interval: 10m\n  - enabled: false',
    );

    const rule = parseRule(text, 'rules/sample-rule.yaml');

    expect(rule.schedule).toEqual({ interval: '10m', intervalMs: 600_000, enabled: false });
  });

  it('takes the id from the file name when the rule has none', () => {
    const rule = parseRule(VALID_RULE.replace('id: sample-rule\n', ''), 'some/dir/from-file.yaml');

    expect(rule.id).toBe('from-file');
  });
});

const QUERY_ERROR = 'event.provider:"AWS IAM" and (event.action:"DeleteAccessKey"';
const queryErrorPosition = (() => {
  try {
    parseKql(QUERY_ERROR);
  } catch (error) {
    return (error as { position: number }).position;
  }
  throw new Error('the query used for the syntax-error case parses');
})();

const EXCEPTION = `exceptions:
  - id: ci
    query: user.name:"terraform-ci"
    owner: platform@example.com
    reason: Terraform rotates policy versions.
    expires: 2027-03-31
`;

const RUNBOOK = `runbook:
  containment:
    - id: step-one
      text: Do it.
      commands:
        - cloud: aws
          command: aws iam list-access-keys --user-name {{user.name}}
`;

describe('parseRule rejections', () => {
  it.each<[string, (text: string) => string, string, number | undefined]>([
    ['another language', (t) => t.replace('language: kuery', 'language: eql'), 'language', undefined],
    ['another rule type', (t) => t.replace('type: query', 'type: threshold'), 'type', undefined],
    ['an unknown severity', (t) => t.replace('severity: high', 'severity: urgent'), 'severity', undefined],
    [
      'a risk score above 100',
      (t) => t.replace('risk_score: 75', 'risk_score: 101'),
      'risk_score',
      undefined,
    ],
    [
      'a fractional risk score',
      (t) => t.replace('risk_score: 75', 'risk_score: 7.5'),
      'risk_score',
      undefined,
    ],
    ['a negative risk score', (t) => t.replace('risk_score: 75', 'risk_score: -1'), 'risk_score', undefined],
    ['a textual risk score', (t) => t.replace('risk_score: 75', 'risk_score: high'), 'risk_score', undefined],
    [
      'an unparsable query',
      (t) => t.replace(/^query: .*$/m, `query: '${QUERY_ERROR}'`),
      'query',
      queryErrorPosition,
    ],
    [
      'an interval in words',
      (t) => t.replace('interval: 5m', 'interval: 5 minutes'),
      'schedule.interval',
      undefined,
    ],
    ['a zero interval', (t) => t.replace('interval: 5m', 'interval: 0m'), 'schedule.interval', undefined],
    [
      'an interval in weeks',
      (t) => t.replace('interval: 5m', 'interval: 2w'),
      'schedule.interval',
      undefined,
    ],
    ['a missing schedule', (t) => t.replace(/schedule:\n( {2}.*\n)+/, ''), 'schedule', undefined],
    [
      'a non-boolean enabled',
      (t) => t.replace('enabled: true', 'enabled: sometimes'),
      'schedule.enabled',
      undefined,
    ],
    ['an unknown top-level field', (t) => `${t}severty: high\n`, 'severty', undefined],
    [
      'an unknown schedule field',
      (t) => t.replace('interval: 5m', 'interval: 5m\n  intervall: 5m'),
      'schedule.intervall',
      undefined,
    ],
    [
      'an index pattern that selects no source',
      (t) => t.replace('- aws-cloudtrail-*', '- logs-*'),
      'index[0]',
      undefined,
    ],
    ['a missing name', (t) => t.replace('name: Sample rule\n', ''), 'name', undefined],
    [
      'a suppression window in words',
      (t) => `${t}suppression:\n  window: an hour\n`,
      'suppression.window',
      undefined,
    ],
    [
      'an exception without an owner',
      (t) => t + EXCEPTION.replace('    owner: platform@example.com\n', ''),
      'exceptions[0].owner',
      undefined,
    ],
    [
      'an exception with an unreadable expiry',
      (t) => t + EXCEPTION.replace('2027-03-31', '31/03/2027'),
      'exceptions[0].expires',
      undefined,
    ],
    [
      'an exception with an impossible date',
      (t) => t + EXCEPTION.replace('2027-03-31', '2027-02-30'),
      'exceptions[0].expires',
      undefined,
    ],
    [
      'an exception without an expiry',
      (t) => t + EXCEPTION.replace('    expires: 2027-03-31\n', ''),
      'exceptions[0].expires',
      undefined,
    ],
    [
      'an exception with an unparsable query',
      (t) => t + EXCEPTION.replace('user.name:"terraform-ci"', `'${QUERY_ERROR}'`),
      'exceptions[0].query',
      queryErrorPosition,
    ],
    [
      'an unknown runbook phase',
      (t) => t + RUNBOOK.replace('containment:', 'contaiment:'),
      'runbook.contaiment',
      undefined,
    ],
    [
      'a runbook command for an unknown cloud',
      (t) => t + RUNBOOK.replace('cloud: aws', 'cloud: oci'),
      'runbook.containment[0].commands[0].cloud',
      undefined,
    ],
    [
      'a runbook placeholder inside quotes',
      (t) => t + RUNBOOK.replace('--user-name {{user.name}}', `--user-name "{{user.name}}"`),
      'runbook.containment[0].commands[0].command',
      'aws iam list-access-keys --user-name "'.length,
    ],
    [
      'a runbook condition that does not parse',
      (t) =>
        t +
        RUNBOOK.replace('        - cloud: aws\n', `        - cloud: aws\n          when: '${QUERY_ERROR}'\n`),
      'runbook.containment[0].commands[0].when',
      queryErrorPosition,
    ],
    [
      'a threat entry with a malformed id',
      (t) => `${t}threat:\n  - id: TA0003\n    name: Persistence\n    tactics: [Persistence]\n`,
      'threat[0].id',
      undefined,
    ],
    ['a duplicated key', (t) => `${t}name: Again\n`, '', undefined],
    [
      'a key given twice in the seed shape',
      () => '- name: One\n- severity: high\n- name: Two\n',
      'name',
      undefined,
    ],
  ])('rejects %s, naming the file and the field', (_case, mutate, field, position) => {
    const file = 'rules/sample-rule.yaml';

    const error = rejection(mutate(VALID_RULE), file);

    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    const problem = error.problems.find((candidate) => candidate.field === field);
    expect(problem, `problems: ${JSON.stringify(error.problems)}`).toBeDefined();
    if (field !== '') expect(error.message).toContain(`${field}`);
    expect(problem?.line).toEqual(expect.any(Number));
    if (position !== undefined) {
      expect(problem?.position).toBe(position);
      expect(error.message).toContain(`(position ${position})`);
    }
  });

  it('suggests the field that was meant', () => {
    const error = rejection(`${VALID_RULE}risk-score: 3\n`);

    expect(error.message).toContain('Did you mean "risk_score"?');
  });

  it('carries the KQL caret line and the YAML line of the offending character in a folded query', () => {
    const text = VALID_RULE.replace(
      /^query: .*$/m,
      'query: >\n  event.provider:"AWS IAM"\n  and event.action:("DeleteAccessKey" or)\n  and user.name:*',
    );
    const queryLine = text.split('\n').findIndex((line) => line.startsWith('query:')) + 1;

    const error = rejection(text);

    expect(error.field).toBe('query');
    expect(error.position).toEqual(expect.any(Number));
    expect(error.line).toBe(queryLine + 2);
    expect(error.message).toMatch(/\n-*\^/);
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe('KqlSyntaxError');
  });

  it('lists every problem of a file, not only the first', () => {
    const text = VALID_RULE.replace('severity: high', 'severity: urgent')
      .replace('risk_score: 75', 'risk_score: 300')
      .replace('interval: 5m', 'interval: soon');

    const error = rejection(text);

    expect(error.problems.map((problem) => problem.field)).toEqual([
      'severity',
      'risk_score',
      'schedule.interval',
    ]);
  });
});

describe('loadRules', () => {
  it('loads every rule file of a folder and skips tests files', async () => {
    const dir = await tempDir({
      'sample-rule.yaml': VALID_RULE,
      'sample-rule.tests.yaml': 'rule: sample-rule\ntests: []\n',
      'notes.md': 'not a rule',
    });

    const rules = await loadRules(dir);

    expect(rules.map((rule) => rule.id)).toEqual(['sample-rule']);
    expect(rules[0]?.file).toBe(path.join(dir, 'sample-rule.yaml'));
  });

  it('rejects a duplicate rule id, naming the second file', async () => {
    const dir = await tempDir({ 'a.yaml': VALID_RULE, 'b.yaml': VALID_RULE });

    const failure = loadRules(dir);

    await expect(failure).rejects.toBeInstanceOf(RuleValidationError);
    await expect(failure).rejects.toMatchObject({ file: path.join(dir, 'b.yaml'), field: 'id', line: 1 });
  });

  it('reports every bad file of a folder', async () => {
    const dir = await tempDir({
      'a.yaml': VALID_RULE.replace('severity: high', 'severity: urgent'),
      'b.yaml': VALID_RULE.replace('id: sample-rule', 'id: other-rule').replace('type: query', 'type: eql'),
    });

    const { rules, errors } = await loadRuleDirectory(dir);

    expect(rules).toEqual([]);
    expect(errors.map((error) => [path.basename(error.file), (error as RuleValidationError).field])).toEqual([
      ['a.yaml', 'severity'],
      ['b.yaml', 'type'],
    ]);
  });

  it('fails with a RuleLoadError for a folder that cannot be read', async () => {
    await expect(loadRules('/nonexistent/rules')).rejects.toBeInstanceOf(RuleLoadError);
  });

  it('fails with a RuleLoadError for a file that cannot be read', async () => {
    await expect(loadRule('/nonexistent/rule.yaml')).rejects.toMatchObject({
      name: 'RuleLoadError',
      file: '/nonexistent/rule.yaml',
    });
  });
});

describe('exceptions', () => {
  const rule = parseRule(VALID_RULE + EXCEPTION, 'rules/sample-rule.yaml');

  it('compiles every field of an exception', () => {
    expect(rule.exceptions).toHaveLength(1);
    expect(rule.exceptions[0]).toMatchObject({
      id: 'ci',
      query: 'user.name:"terraform-ci"',
      owner: 'platform@example.com',
      reason: 'Terraform rotates policy versions.',
      expires: new Date('2027-03-31T00:00:00Z'),
    });
    expect(rule.exceptions[0]?.predicate({ user: { name: 'terraform-ci' } })).toBe(true);
  });

  it.each([
    ['2027-03-30T23:59:59Z', false, 1],
    ['2027-03-31T00:00:00Z', true, 0],
    ['2028-01-01T00:00:00Z', true, 0],
  ])('at %s the exception is expired: %s', (now, expired, active) => {
    const exception = rule.exceptions[0];
    if (!exception) throw new Error('no exception');

    expect(isExpired(exception, new Date(now))).toBe(expired);
    expect(activeExceptions(rule, new Date(now))).toHaveLength(active);
  });
});
