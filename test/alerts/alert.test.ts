import { describe, expect, it } from 'vitest';
import { buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import { fillCommand, shellQuote } from '../../lambda/engine/alerts/commands';
import { consoleLink } from '../../lambda/engine/alerts/console-link';
import { inert, renderAlertText } from '../../lambda/engine/alerts/render-text';
import type { EcsEvent } from '../../lambda/engine/ecs';
import { awsEvent, keyDeletionRule } from '../support/events';

describe('shellQuote', () => {
  it.each([
    ['AKIA5EXAMPLEOLDKEY01', 'AKIA5EXAMPLEOLDKEY01'],
    ['arn:aws:iam::111122223333:policy/Deploy', 'arn:aws:iam::111122223333:policy/Deploy'],
    ['bob; rm -rf /', `'bob; rm -rf /'`],
    [`o'brien`, `'o'\\''brien'`],
    ['$(curl evil)', `'$(curl evil)'`],
    ['a\nb', `'a\\u{a}b'`],
    ['admin\u202etxt.exe', `'admin\\u{202e}txt.exe'`],
    ['', `''`],
  ])('quotes %j as %s', (value, expected) => {
    expect(shellQuote(value)).toBe(expected);
  });
});

describe('fillCommand', () => {
  it('fills placeholders from the event and lists the ones it has no value for', () => {
    const doc = { user: { name: 'alice' }, target: { id: 'AKIA1' } };

    const filled = fillCommand(
      'aws iam update-access-key --user-name {{ user.name }} --access-key-id {{target.id}} --x {{target.principal}}',
      doc,
    );

    expect(filled).toEqual({
      command: 'aws iam update-access-key --user-name alice --access-key-id AKIA1 --x <target.principal>',
      missing: ['target.principal'],
    });
  });
});

describe('consoleLink', () => {
  it('opens CloudTrail event history on the event in its region', () => {
    expect(consoleLink(awsEvent({ id: 'e/1' }).doc)).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/e%2F1',
    );
  });

  it('queries Logs Explorer for the GCP entry by insertId in its project', () => {
    const doc = {
      '@timestamp': '2026-11-28T13:05:12.481Z',
      event: {
        id: 'abc"1',
        provider: 'gcp.iam',
        action: 'SetIamPolicy',
        dataset: 'gcp-audit-logs',
        kind: 'event',
      },
      cloud: { provider: 'gcp', account: { id: 'acme-prod' } },
    } satisfies EcsEvent;

    const link = consoleLink(doc) ?? '';

    expect(link.startsWith('https://console.cloud.google.com/logs/query;query=')).toBe(true);
    expect(decodeURIComponent(link)).toContain('insertId="abc\\"1"');
    expect(link.endsWith('?project=acme-prod')).toBe(true);
  });

  it('opens the Azure subscription activity log', () => {
    const doc = {
      '@timestamp': '2026-11-28T11:02:07Z',
      event: {
        id: 'x',
        provider: 'Microsoft.Authorization',
        action: 'elevateAccess',
        dataset: 'azure-activity-logs',
        kind: 'event',
      },
      cloud: { provider: 'azure', account: { id: '0000-1111' } },
    } satisfies EcsEvent;

    expect(consoleLink(doc)).toBe(
      'https://portal.azure.com/#view/Microsoft_Azure_ActivityLog/ActivityLogBlade/subscriptionId/0000-1111',
    );
  });
});

describe('buildAlert', () => {
  const rule = keyDeletionRule();

  it('carries the rule, the triage fields, the filled runbook and the keys', () => {
    const event = awsEvent();

    const alert = buildAlert(rule, event, matchKeys(rule, event.doc), { file: 'x.jsonl', line: 3 });

    expect(alert.rule).toMatchObject({ id: 'test-rule', severity: 'high', riskScore: 75 });
    expect(alert.event).toMatchObject({
      userName: 'alice',
      accountId: '111122223333',
      sourceIp: '203.0.113.24',
      userAgent: 'aws-cli/2.17.12',
      action: 'DeleteAccessKey',
      provider: 'AWS IAM',
      region: 'us-east-1',
      target: { id: 'AKIA5EXAMPLEOLDKEY01' },
    });
    expect(alert.runbook.containment[0]?.commands).toEqual([
      {
        cloud: 'aws',
        command:
          'aws iam update-access-key --user-name build-bot --access-key-id AKIA5EXAMPLEOLDKEY01 --status Inactive',
        missing: [],
      },
    ]);
    expect(alert.provenance.providerEntry).toBe('aws.service.iam');
    expect(alert.dedupe.groupBy).toEqual({
      'cloud.account.id': '111122223333',
      'user.name': 'alice',
      'event.action': 'DeleteAccessKey',
    });
    expect(alert.dedupe.windowStart).toBe('2026-11-28T09:00:00.000Z');
    expect(alert.id).toBe(alert.dedupe.groupKey);
  });

  it('derives the same keys from the same event, whichever path delivers it', () => {
    const one = matchKeys(rule, awsEvent({ id: 'k' }).doc);
    const two = matchKeys(rule, structuredClone(awsEvent({ id: 'k' })).doc);

    expect(one).toEqual(two);
  });

  it('keeps keys short when a user name is huge', () => {
    const keys = matchKeys(rule, awsEvent({ user: 'x'.repeat(100_000) }).doc);

    expect(keys.groupKey.length).toBeLessThan(100);
    expect(keys.occurrenceKey.length).toBeLessThan(100);
  });
});

describe('renderAlertText', () => {
  it('renders attacker-controlled values inert', () => {
    const event = awsEvent({ user: 'evil\u001b[2J\r\nFAKE: approved\u202e' });
    const alert = buildAlert(keyDeletionRule(), event, matchKeys(keyDeletionRule(), event.doc));

    const text = renderAlertText(alert);

    for (const forbidden of ['\u001b', '\r', '\u202e']) expect(text).not.toContain(forbidden);
    expect(text).toContain('evil\\u{1b}[2J\\u{d}\\u{a}FAKE: approved\\u{202e}');
    expect(text).toContain('$ aws iam update-access-key --user-name build-bot');
  });

  it('cuts very long values and says how much was cut', () => {
    expect(inert('y'.repeat(1000), 10)).toBe('yyyyyyyyyy… (990 more characters)');
  });
});
