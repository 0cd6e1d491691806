import { describe, expect, it } from 'vitest';
import { type Alert, buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import type { AlertDigest } from '../../lambda/engine/alerts/publisher';
import {
  alertSubject,
  digestSubject,
  renderDigestText,
  renderEmail,
  SUBJECT_MAX_LENGTH,
} from '../../lambda/engine/alerts/render-email';
import { renderAlertText } from '../../lambda/engine/alerts/render-text';
import type { DetectorRule } from '../../lambda/engine/detector/detector';
import { awsEvent, keyDeletionRule } from '../support/events';

function alertWith(
  options: { rule?: DetectorRule; action?: string; provider?: string; user?: string; cloud?: string } = {},
): Alert {
  const rule = options.rule ?? keyDeletionRule();
  const event = awsEvent({ action: options.action, user: options.user });
  if (options.provider !== undefined) event.doc.event.provider = options.provider;
  const alert = buildAlert(rule, event, matchKeys(rule, event.doc));
  return options.cloud === undefined ? alert : { ...alert, event: { ...alert.event, cloud: options.cloud } };
}

function expectValidSubject(subject: string): void {
  expect(subject.length).toBeGreaterThan(0);
  expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
  expect(subject).toMatch(/^[\x20-\x7e]+$/);
  expect(subject).toMatch(/^[A-Za-z0-9[\](){}!?.,:;'"-]/);
}

describe('alertSubject', () => {
  it('names severity, rule, cloud and action', () => {
    const subject = alertSubject(alertWith({ rule: keyDeletionRule({ name: 'Abnormal Cloud API Calls' }) }));

    expect(subject).toBe('[HIGH] Abnormal Cloud API Calls: AWS DeleteAccessKey');
  });

  it.each([
    ['a newline', 'Delete\nAccessKey'],
    ['a channel mention', '<!channel>'],
    ['a space', 'Delete AccessKey'],
    ['an ANSI escape', '\u001b[31mDelete'],
    ['a bidi override', 'Delete\u202eyeK'],
    ['65 characters', 'A'.repeat(65)],
    ['nothing', ''],
  ])('leaves out an action with %s', (_name, action) => {
    const subject = alertSubject(alertWith({ action }));

    expect(subject).toBe('[HIGH] Test rule: AWS');
    expectValidSubject(subject);
  });

  it('never puts the user name in the subject', () => {
    expect(alertSubject(alertWith({ user: 'mallory' }))).not.toContain('mallory');
  });

  it.each([
    ['a 300-character name', 'Abnormal cloud API calls '.repeat(12)],
    ['a name with a line break', 'Abnormal\r\nBcc: victim@example.com'],
    ['a non-ASCII name', 'Änderung der Rollen ✓ — 日本'],
    ['an empty name', ''],
    ['a name of control characters', '\u0000\u0007\u001b'],
  ])('keeps SNS subject rules for %s', (_name, name) => {
    const subject = alertSubject(alertWith({ rule: keyDeletionRule({ name }) }));

    expectValidSubject(subject);
    expect(subject.startsWith('[HIGH] ')).toBe(true);
    expect(subject.endsWith(': AWS DeleteAccessKey')).toBe(true);
  });

  it('drops accents and marks other non-ASCII characters', () => {
    expect(alertSubject(alertWith({ rule: keyDeletionRule({ name: 'Änderung ✓' }) }))).toBe(
      '[HIGH] Anderung ?: AWS DeleteAccessKey',
    );
  });

  it('falls back to ALERT for a severity that is not a plain word', () => {
    const subject = alertSubject(alertWith({ rule: keyDeletionRule({ severity: 'high]\n[LOW' }) }));

    expect(subject).toBe('[ALERT] Test rule: AWS DeleteAccessKey');
  });

  it('keeps room for the rule name when cloud and action are long', () => {
    const subject = alertSubject(
      alertWith({
        rule: keyDeletionRule({ name: 'Long rule name here' }),
        cloud: 'c'.repeat(64),
        action: 'a'.repeat(64),
      }),
    );

    expectValidSubject(subject);
    expect(subject).toContain('Long rule');
    expect(subject).toContain('a'.repeat(64));
  });
});

describe('renderEmail', () => {
  it('is the plain-text alert followed by a footer that says where the full event is', () => {
    const alert = alertWith();

    const { subject, body } = renderEmail(alert);

    expect(subject).toBe('[HIGH] Test rule: AWS DeleteAccessKey');
    expect(body.startsWith(renderAlertText(alert))).toBe(true);
    expect(body).toContain("in the cloud's own log: event.id evt-1 (aws-cloudtrail)");
    expect(body).toContain(
      'https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/evt-1',
    );
    expect(body).toContain(`item pk = grp#${alert.id}`);
    expect(body).toContain('unsubscribe link');
    expect(body).toContain(
      'filter policy on the message attributes severity, rule_id, cloud, event_action or kind',
    );
  });

  it('renders hostile values inert in the body', () => {
    const { body } = renderEmail(alertWith({ user: 'x\r\nFrom: ceo\u001b[2J\u202e' }));

    expect(body.replace(/\n/g, '')).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    expect(body).toContain('x\\u{d}\\u{a}From: ceo\\u{1b}[2J\\u{202e}');
  });
});

describe('digest text', () => {
  const digest: AlertDigest = {
    alertId: 'test-rule#abc',
    rule: { id: 'test-rule', name: 'Test rule', severity: 'high' },
    groupBy: { 'user.name': 'evil\nline', 'cloud.account.id': null },
    windowStart: '2026-11-28T09:00:00.000Z',
    windowEnd: '2026-11-28T10:00:00.000Z',
    count: 12,
    firstSeen: '2026-11-28T09:16:12.000Z',
    lastSeen: '2026-11-28T09:58:00.000Z',
    sampleEventIds: ['evt-1', 'evt-2'],
  };

  it('has a subject with the count and a short inert body', () => {
    const text = renderDigestText(digest);

    expect(digestSubject(digest)).toBe('[HIGH] Digest: Test rule (12 matches)');
    expect(text).toContain('12 matches in the window 2026-11-28T09:00:00.000Z – 2026-11-28T10:00:00.000Z');
    expect(text).toContain('user.name = evil\\u{a}line');
    expect(text).toContain('cloud.account.id = (none)');
    expect(text).toContain('  evt-2');
    expect(text).toContain('state table item pk = grp#test-rule#abc');
  });
});
