import { describe, expect, it } from 'vitest';
import { type Alert, buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import type { AlertDigest } from '../../lambda/engine/alerts/publisher';
import {
  renderSlackDigest,
  renderSlackMessage,
  SLACK_MAX_BLOCKS,
  SLACK_MAX_CONTEXT_ELEMENTS,
  SLACK_MAX_FIELD_TEXT,
  SLACK_MAX_FIELDS,
  SLACK_MAX_HEADER_TEXT,
  SLACK_MAX_SECTION_TEXT,
  type SlackMessage,
  slackInert,
  trustedConsoleUrl,
} from '../../lambda/engine/alerts/render-slack';
import type { DetectorRule } from '../../lambda/engine/detector/detector';
import { awsEvent, keyDeletionRule } from '../support/events';

const HUGE = 'A'.repeat(100 * 1024);

/** Values an attacker can put into a user name, user agent, resource name or any other log field. */
const HOSTILE: readonly [string, string][] = [
  ['channel mention', '<!channel>'],
  ['here mention with label', '<!here|here>'],
  ['user mention', '<@U123>'],
  ['disguised link', '<https://evil.example|Approve>'],
  ['bold', '*bold*'],
  ['code', '`code`'],
  ['italic', '_x_'],
  ['strike', '~x~'],
  ['CR/LF', 'line1\r\nFAKE: approved'],
  ['ANSI escape', '\u001b[31mred'],
  ['bidi override', 'admin\u202etxt.exe'],
  ['bidi isolate', '\u2066evil\u2069'],
  ['entity', '&amp;'],
  ['triple backticks', '```\n<!channel>\n```'],
  ['emoji code', ':rotating_light:'],
  ['100 KB', HUGE],
];

/** An alert whose every log-derived field holds `value`. */
function hostileAlert(value: string, rule: DetectorRule = keyDeletionRule()): Alert {
  const event = awsEvent({ user: value, id: value, account: value });
  const doc = event.doc;
  doc.user_agent = { original: value };
  doc.source = { ip: value };
  doc.cloud.region = value;
  doc.error = { code: value, message: value };
  doc.target = { kind: value, id: value, principal: value, name: value };
  return buildAlert(rule, event, matchKeys(rule, doc));
}

function plainAlert(rule: DetectorRule = keyDeletionRule()): Alert {
  const event = awsEvent();
  return buildAlert(rule, event, matchKeys(rule, event.doc));
}

/** Every mrkdwn string Slack will parse: the fallback text and each mrkdwn text object. */
function mrkdwnTexts(message: SlackMessage): string[] {
  const texts = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'section') {
      if (block.text) texts.push(block.text.text);
      for (const field of block.fields ?? []) texts.push(field.text);
    }
    if (block.type === 'context') {
      for (const element of block.elements) if (element.type === 'mrkdwn') texts.push(element.text);
    }
  }
  return texts;
}

const CODE = /```[^`]*```|`[^`\n]*`/g;

/** What Slack would format: the text with every code span and code block taken out. */
function outsideCode(text: string): string {
  return text.replace(CODE, '');
}

function expectWithinSlackLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
  expect(message.text.length).toBeLessThanOrEqual(3000);
  for (const block of message.blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_MAX_HEADER_TEXT);
    if (block.type === 'section') {
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_MAX_SECTION_TEXT);
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_MAX_FIELDS);
      for (const field of block.fields ?? [])
        expect(field.text.length).toBeLessThanOrEqual(SLACK_MAX_FIELD_TEXT);
    }
    if (block.type === 'context') {
      expect(block.elements.length).toBeLessThanOrEqual(SLACK_MAX_CONTEXT_ELEMENTS);
      for (const element of block.elements) expect(element.text.length).toBeLessThanOrEqual(3000);
    }
  }
}

describe('slackInert', () => {
  it.each([
    ['<!channel>', '`&lt;!channel&gt;`'],
    ['<!here|here>', '`&lt;!here|here&gt;`'],
    ['<@U123>', '`&lt;@U123&gt;`'],
    ['<https://evil.example|Approve>', '`&lt;https://evil.example|Approve&gt;`'],
    ['*bold*', '`*bold*`'],
    ['`code`', '`\u02cbcode\u02cb`'],
    ['_x_', '`_x_`'],
    ['~x~', '`~x~`'],
    ['a\r\nb', '`a\\u{d}\\u{a}b`'],
    ['\u001b[31mred', '`\\u{1b}[31mred`'],
    ['admin\u202etxt', '`admin\\u{202e}txt`'],
    ['\u2066x\u2069', '`\\u{2066}x\\u{2069}`'],
    ['zero\u200bwidth', '`zero\\u{200b}width`'],
    ['line\u2028sep', '`line\\u{2028}sep`'],
    ['half \ud83d', '`half \\u{d83d}`'],
    ['&amp;', '`&amp;amp;`'],
    ['build_bot', '`build_bot`'],
    ['', '_(empty)_'],
  ])('renders %j as %s', (value, expected) => {
    expect(slackInert(value)).toBe(expected);
  });

  it('cuts a 100 KB value to the budget and says how much was cut', () => {
    const rendered = slackInert(HUGE, 300);

    expect(rendered.length).toBeLessThanOrEqual(300);
    expect(rendered).toMatch(/^`A+`… \(\d+ more characters\)$/);
    const kept = rendered.indexOf('`', 1) - 1;
    expect(rendered).toContain(`(${HUGE.length - kept} more characters)`);
  });

  it('counts escapes against the budget', () => {
    const rendered = slackInert('<'.repeat(1000), 100);

    expect(rendered.length).toBeLessThanOrEqual(100);
    expect(rendered).not.toMatch(/&(?!lt;)/);
    expect(rendered.endsWith('more characters)')).toBe(true);
  });
});

describe('trustedConsoleUrl', () => {
  it.each([
    'https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/e1',
    'https://portal.azure.com/#view/Microsoft_Azure_ActivityLog/ActivityLogBlade',
    'https://console.cloud.google.com/logs/query;query=insertId%3D%22x%22',
  ])('accepts %s', (url) => {
    expect(trustedConsoleUrl(url)).toBe(url);
  });

  it.each([
    'http://us-east-1.console.aws.amazon.com/cloudtrail/home',
    'https://console.aws.amazon.com.evil.example/',
    'https://evil.example/?next=https://portal.azure.com/',
    'https://user@portal.azure.com/',
    'https://portal.azure.com:8443/',
    'javascript:alert(1)',
    'not a url',
    `https://portal.azure.com/${'x'.repeat(3000)}`,
  ])('rejects %s', (url) => {
    expect(trustedConsoleUrl(url)).toBeUndefined();
  });
});

describe('renderSlackMessage', () => {
  it('shows the triage fields, the event, the filled runbook and a console button', () => {
    const message = renderSlackMessage(plainAlert());

    const json = JSON.stringify(message);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':red_circle: HIGH · Test rule', emoji: true },
    });
    for (const value of [
      '`alice`',
      '`111122223333`',
      '`203.0.113.24`',
      '`aws-cli/2.17.12`',
      '`DeleteAccessKey`',
    ]) {
      expect(json).toContain(value);
    }
    for (const value of ['`AWS IAM`', '`AKIA5EXAMPLEOLDKEY01`', '`success`', '`us-east-1`', '`evt-1`']) {
      expect(json).toContain(value);
    }
    expect(json).toContain(
      '```aws iam update-access-key --user-name build-bot --access-key-id AKIA5EXAMPLEOLDKEY01 --status Inactive```',
    );
    expect(json).toContain('*Triage*');
    expect(json).toContain('*Containment*');
    expect(message.blocks).toContainEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in AWS console', emoji: false },
          url: 'https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events/evt-1',
          action_id: 'open_console',
        },
      ],
    });
    expect(message.text).toBe('[HIGH] Test rule: `AWS` `DeleteAccessKey` by `alice`');
    expect(message).toMatchObject({ unfurl_links: false, unfurl_media: false });
    expectWithinSlackLimits(message);
  });

  it.each(HOSTILE)('renders a hostile value (%s) inert in every mrkdwn text', (_name, value) => {
    const message = renderSlackMessage(hostileAlert(value));

    expectWithinSlackLimits(message);
    for (const text of mrkdwnTexts(message)) {
      expect(text).not.toMatch(/[<>]/);
      // Only our own line breaks: no CR, ANSI escape, bidi control or zero-width character.
      expect(text.replace(/\n/g, '')).not.toMatch(/[\p{Cc}\p{Cf}]/u);
      const formatted = outsideCode(text);
      for (const marker of [
        '*bold*',
        '_x_',
        '~x~',
        'code',
        'FAKE',
        'evil',
        'red',
        ':rotating_light:',
        'AAAA',
      ]) {
        expect(formatted).not.toContain(marker);
      }
      expect(formatted).not.toContain('`');
    }
    for (const block of message.blocks) {
      if (block.type === 'section' || block.type === 'context') {
        const objects = block.type === 'section' ? [block.text, ...(block.fields ?? [])] : block.elements;
        for (const object of objects) if (object?.type === 'mrkdwn') expect(object.verbatim).toBe(true);
      }
    }
  });

  it('keeps the alert JSON under a sane size with 100 KB values everywhere', () => {
    const message = renderSlackMessage(hostileAlert(HUGE));

    expect(JSON.stringify(message).length).toBeLessThan(40_000);
  });

  it('leaves out a command too long to show whole instead of cutting it', () => {
    const message = renderSlackMessage(hostileAlert(HUGE));

    const json = JSON.stringify(message);
    expect(json).toContain('command left out');
    expect(json).not.toContain('```aws iam update-access-key');
  });

  it('cuts a long runbook to 50 blocks with a note', () => {
    const steps = Array.from({ length: 200 }, (_, index) => ({
      id: `step-${index}`,
      text: `Step ${index}: ${'check the thing. '.repeat(50)}`,
      commands: [{ cloud: 'aws', command: `aws iam get-user --user-name {{user.name}} # ${index}` }],
    }));
    const rule = keyDeletionRule({
      runbook: { triage: steps, containment: steps, remediation: steps, post_incident_review: steps },
    });

    const message = renderSlackMessage(plainAlert(rule));

    expectWithinSlackLimits(message);
    expect(message.blocks).toHaveLength(SLACK_MAX_BLOCKS);
    expect(JSON.stringify(message)).toMatch(
      /Runbook cut to fit Slack: \d+ more sections are in the e-mail alert/,
    );
  });

  it('makes a hostile rule name harmless in the plain-text header', () => {
    const message = renderSlackMessage(plainAlert(keyDeletionRule({ name: '<!channel> & \u202eevil' })));

    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':red_circle: HIGH · \uff1c!channel\uff1e \uff06 \\u{202e}evil',
        emoji: true,
      },
    });
  });

  it('leaves the console button out when the link is not a console URL', () => {
    const alert = { ...plainAlert(), consoleUrl: 'https://evil.example/approve' };

    const message = renderSlackMessage(alert);

    expect(message.blocks.some((block) => block.type === 'actions')).toBe(false);
  });
});

describe('renderSlackDigest', () => {
  const digest: AlertDigest = {
    alertId: 'test-rule#abc',
    rule: { id: 'test-rule', name: 'Test rule', severity: 'high' },
    groupBy: { 'user.name': '<!channel> *bold*', 'cloud.account.id': null },
    windowStart: '2026-11-28T09:00:00.000Z',
    windowEnd: '2026-11-28T10:00:00.000Z',
    count: 12,
    firstSeen: '2026-11-28T09:16:12.000Z',
    lastSeen: '2026-11-28T09:58:00.000Z',
    sampleEventIds: ['evt-1', '<@U123>', HUGE],
  };

  it('summarizes the group with every value inert', () => {
    const message = renderSlackDigest(digest);

    expectWithinSlackLimits(message);
    expect(message.text).toBe('[HIGH] Digest: Test rule (12 matches)');
    for (const text of mrkdwnTexts(message)) {
      expect(text).not.toMatch(/[<>]/);
      expect(outsideCode(text)).not.toContain('*bold*');
    }
    expect(JSON.stringify(message)).toContain('`&lt;!channel&gt; *bold*`');
  });
});
