import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  alertPublishInput,
  digestPublishInput,
  parseTopicMessage,
  publishSize,
  SNS_MAX_MESSAGE_BYTES,
  SnsAlertPublisher,
  SnsPublishError,
} from '../../lambda/adapters/sns-publisher';
import { type Alert, buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import type { AlertDigest } from '../../lambda/engine/alerts/publisher';
import { renderEmail } from '../../lambda/engine/alerts/render-email';
import { awsEvent, keyDeletionRule } from '../support/events';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';

function makeAlert(edit: (doc: ReturnType<typeof awsEvent>['doc']) => void = () => {}): Alert {
  const rule = keyDeletionRule();
  const event = awsEvent();
  edit(event.doc);
  return buildAlert(rule, event, matchKeys(rule, event.doc), { file: 'trail.json', index: 1 });
}

const DIGEST: AlertDigest = {
  alertId: 'test-rule#abc',
  rule: { id: 'test-rule', name: 'Test rule', severity: 'high' },
  groupBy: { 'cloud.account.id': '111122223333', 'user.name': 'alice', 'event.action': 'DeleteAccessKey' },
  windowStart: '2026-11-28T09:00:00.000Z',
  windowEnd: '2026-11-28T10:00:00.000Z',
  count: 3,
  firstSeen: '2026-11-28T09:16:12.000Z',
  lastSeen: '2026-11-28T09:40:00.000Z',
  sampleEventIds: ['evt-2', 'evt-3'],
};

/** A real client whose `send` is replaced: nothing leaves the process. */
function mockedSns(result: Promise<unknown>) {
  const client = new SNSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const send = vi.spyOn(client, 'send').mockImplementation(() => result as never);
  return { client, send };
}

function protocols(message: string | undefined): Record<string, string> {
  return JSON.parse(message ?? '') as Record<string, string>;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('alertPublishInput', () => {
  it('sends text to e-mail readers, the alert JSON to machines, and filterable attributes', () => {
    const alert = makeAlert();

    const input = alertPublishInput(alert, TOPIC);

    const { subject, body } = renderEmail(alert);
    expect(input).toEqual({
      TopicArn: TOPIC,
      Subject: subject,
      MessageStructure: 'json',
      Message: expect.any(String),
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        rule_id: { DataType: 'String', StringValue: 'test-rule' },
        cloud: { DataType: 'String', StringValue: 'aws' },
        event_action: { DataType: 'String', StringValue: 'DeleteAccessKey' },
        kind: { DataType: 'String', StringValue: 'alert' },
      },
    });
    const message = protocols(input.Message);
    expect(Object.keys(message).sort()).toEqual(['default', 'email', 'https', 'lambda', 'sqs']);
    expect(message.default).toBe(body);
    expect(message.email).toBe(body);
    expect(message.sqs).toBe(message.lambda);
    expect(message.https).toBe(message.lambda);
    expect(JSON.parse(message.lambda ?? '')).toEqual({
      kind: 'alert',
      version: 1,
      alert: JSON.parse(JSON.stringify(alert)),
    });
  });

  it('cleans attribute values that come from the log', () => {
    const alert = makeAlert((doc) => {
      doc.event.action = `Delete\u0000Key\u202e${'x'.repeat(400)}`;
    });

    const input = alertPublishInput(alert, TOPIC);

    const value = input.MessageAttributes?.event_action?.StringValue ?? '';
    expect(value).toMatch(/^DeleteKeyx+$/);
    expect(value.length).toBe(256);
  });

  it('stays under 256 KB with a 400 KB user agent and says where the full event is', () => {
    const alert = makeAlert((doc) => {
      doc.user_agent = { original: 'Mozilla/5.0 '.repeat(34_000) };
    });

    const input = alertPublishInput(alert, TOPIC);

    expect(publishSize(input)).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    const message = protocols(input.Message);
    expect(message.email).toContain('shortened to fit the 256 KB SNS message limit');
    expect(message.email).toContain(`item pk = grp#${alert.id}`);
    const parsed = parseTopicMessage(message.lambda ?? '');
    expect(parsed).toMatchObject({
      kind: 'alert',
      truncated: {
        reason: 'sns-size-limit',
        originalBytes: expect.any(Number),
        fullEvent: {
          eventId: 'evt-1',
          dataset: 'aws-cloudtrail',
          consoleUrl: alert.consoleUrl,
          stateItem: `grp#${alert.id}`,
        },
      },
    });
    if (parsed.kind !== 'alert') throw new Error('not an alert');
    expect(parsed.alert.id).toBe(alert.id);
    expect(parsed.alert.event.userName).toBe('alice');
    expect(parsed.truncated?.originalBytes).toBeGreaterThan(SNS_MAX_MESSAGE_BYTES);
  });

  it('cuts the raw event first and keeps the alert fields whole when that is enough', () => {
    const alert = makeAlert((doc) => {
      doc.aws = { cloudtrail: { request_parameters: 'p'.repeat(150_000) } };
    });

    const input = alertPublishInput(alert, TOPIC);

    expect(publishSize(input)).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    const parsed = parseTopicMessage(protocols(input.Message).lambda ?? '');
    if (parsed.kind !== 'alert') throw new Error('not an alert');
    expect(parsed.alert.event).toEqual(alert.event);
    expect(parsed.alert.runbook).toEqual(alert.runbook);
    expect(JSON.stringify(parsed.alert.document)).toContain('…[cut ');
  });

  it('stays under 256 KB with multi-byte values, many fields and deep nesting', () => {
    const alert = makeAlert((doc) => {
      doc.user = { name: '日本語'.repeat(50_000) };
      doc.extra = Object.fromEntries(
        Array.from({ length: 5000 }, (_, index) => [`f${index}`, '€'.repeat(100)]),
      );
      let nested: Record<string, unknown> = {};
      doc.deep = nested as never;
      for (let depth = 0; depth < 200; depth += 1) {
        const next: Record<string, unknown> = {};
        nested.child = next;
        nested = next;
      }
    });

    const input = alertPublishInput(alert, TOPIC);

    expect(publishSize(input)).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    expect(parseTopicMessage(protocols(input.Message).lambda ?? '').kind).toBe('alert');
  });

  it('still sends a readable, valid alert when every part of it is huge', () => {
    const steps = Array.from({ length: 200 }, (_, index) => ({
      id: `s${index}`,
      text: 't'.repeat(3000),
      commands: [
        {
          cloud: 'aws',
          command: `aws iam get-user --user-name ${index < 3 ? '{{user.name}}' : 'bob'} ${'--x '.repeat(500)}`,
        },
      ],
    }));
    const rule = keyDeletionRule({
      name: 'n'.repeat(5000),
      references: Array.from({ length: 500 }, () => 'https://example.com/'.repeat(50)),
      techniques: Array.from({ length: 500 }, () => ({ id: 'T1098', name: 'm'.repeat(2000) })),
      runbook: { triage: steps, containment: steps, remediation: steps, post_incident_review: steps },
    });
    const event = awsEvent({ user: 'u'.repeat(300_000) });
    const alert = buildAlert(rule, event, matchKeys(rule, event.doc));

    const input = alertPublishInput(alert, TOPIC);

    expect(publishSize(input)).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
    const parsed = parseTopicMessage(protocols(input.Message).lambda ?? '');
    expect(parsed.kind).toBe('alert');
    if (parsed.kind !== 'alert') return;
    expect(parsed.alert.runbook.containment.length).toBeGreaterThan(0);
    expect(parsed.alert.rule.techniques.every((technique) => typeof technique === 'object')).toBe(true);
  });

  it('leaves a huge containment command out of the message instead of cutting it', () => {
    const alert = makeAlert((doc) => {
      doc.target = { kind: 'access_key', id: 'AKIA1', principal: `bob; ${'x'.repeat(300_000)}` };
    });

    const input = alertPublishInput(alert, TOPIC);

    const parsed = parseTopicMessage(protocols(input.Message).lambda ?? '');
    if (parsed.kind !== 'alert') throw new Error('not an alert');
    const command = parsed.alert.runbook.containment[0]?.commands[0]?.command ?? '';
    expect(command).toMatch(/^# command left out: \d+ characters/);
    expect(publishSize(input)).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
  });
});

describe('digestPublishInput', () => {
  it('sends a short summary with the attributes and kind=digest', () => {
    const input = digestPublishInput(DIGEST, TOPIC);

    expect(input).toMatchObject({
      TopicArn: TOPIC,
      Subject: '[HIGH] Digest: Test rule (3 matches)',
      MessageStructure: 'json',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        rule_id: { DataType: 'String', StringValue: 'test-rule' },
        event_action: { DataType: 'String', StringValue: 'DeleteAccessKey' },
        kind: { DataType: 'String', StringValue: 'digest' },
      },
    });
    const message = protocols(input.Message);
    expect(message.email).toContain('3 matches in the window');
    expect(parseTopicMessage(message.lambda ?? '')).toEqual({ kind: 'digest', version: 1, digest: DIGEST });
  });
});

describe('SnsAlertPublisher', () => {
  it('publishes exactly the alert publish input', async () => {
    const { client, send } = mockedSns(Promise.resolve({ MessageId: 'm-1' }));
    const alert = makeAlert();

    await new SnsAlertPublisher(client, TOPIC).publishAlert(alert);

    expect(send).toHaveBeenCalledTimes(1);
    const command = send.mock.calls[0]?.[0];
    expect(command).toBeInstanceOf(PublishCommand);
    expect((command as PublishCommand).input).toEqual(alertPublishInput(alert, TOPIC));
  });

  it('publishes exactly the digest publish input', async () => {
    const { client, send } = mockedSns(Promise.resolve({ MessageId: 'm-2' }));

    await new SnsAlertPublisher(client, TOPIC).publishDigest(DIGEST);

    const command = send.mock.calls[0]?.[0] as PublishCommand | undefined;
    expect(command?.input).toEqual(digestPublishInput(DIGEST, TOPIC));
  });

  it('throws when SNS fails, so the outbox retries', async () => {
    const failure = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
    const { client } = mockedSns(Promise.reject(failure));
    const alert = makeAlert();

    const publishing = new SnsAlertPublisher(client, TOPIC).publishAlert(alert);

    await expect(publishing).rejects.toBeInstanceOf(SnsPublishError);
    await expect(publishing).rejects.toMatchObject({ alertId: alert.id, cause: failure });
  });

  it('throws when SNS returns no message id', async () => {
    const { client } = mockedSns(Promise.resolve({}));

    await expect(new SnsAlertPublisher(client, TOPIC).publishDigest(DIGEST)).rejects.toThrow(/no MessageId/);
  });
});

describe('parseTopicMessage', () => {
  const valid = JSON.parse(protocols(alertPublishInput(makeAlert(), TOPIC).Message).lambda ?? '') as Record<
    string,
    unknown
  >;
  const without = (path: string[]): string => {
    const copy = structuredClone(valid) as Record<string, Record<string, unknown>>;
    let node: Record<string, unknown> = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    delete node[path.at(-1) as string];
    return JSON.stringify(copy);
  };

  it.each([
    ['not JSON', 'hello', 'message is not JSON'],
    ['an array', '[]', 'message is not a JSON object'],
    ['another version', JSON.stringify({ ...valid, version: 2 }), 'unsupported message version 2'],
    [
      'an unknown kind',
      JSON.stringify({ ...valid, kind: 'other' }),
      'message kind is neither alert nor digest',
    ],
    ['no rule name', without(['alert', 'rule', 'name']), 'alert.rule.name is not a string'],
    ['no runbook phase', without(['alert', 'runbook', 'triage']), 'alert.runbook.triage is not an array'],
    ['no document', without(['alert', 'document']), 'alert.document is not an object'],
  ])('rejects %s with a reason', (_name, text, reason) => {
    expect(parseTopicMessage(text)).toEqual({ kind: 'invalid', reason });
  });

  it('reads back what the publisher sends', () => {
    expect(parseTopicMessage(JSON.stringify(valid))).toEqual(valid);
  });
});
