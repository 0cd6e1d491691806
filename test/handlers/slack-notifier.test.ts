import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CachedSecret } from '../../lambda/adapters/secrets';
import {
  SlackDeliveryLedger,
  SlackWebhookClient,
  slackDeliveryKey,
} from '../../lambda/adapters/slack-webhook';
import { alertPublishInput, digestPublishInput } from '../../lambda/adapters/sns-publisher';
import { type Alert, buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import type { AlertDigest } from '../../lambda/engine/alerts/publisher';
import { renderSlackMessage } from '../../lambda/engine/alerts/render-slack';
import { awsEvent, keyDeletionRule } from '../support/events';
import { createStateTable, type LocalAws, startLocalAws, uniqueName } from '../support/local-aws';

// The handler module reads its environment at load; set it before the import below is evaluated.
const ENV = vi.hoisted(() => {
  const values = {
    SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:slack-AbCdEf',
    TABLE_NAME: `slack-notifier-module-${process.pid}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
    AWS_SECRET_ACCESS_KEY: 'local-test-secret',
    POWERTOOLS_SERVICE_NAME: 'slack-notifier-test',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };
  Object.assign(process.env, values);
  return values;
});

import {
  clients,
  createSlackNotifier,
  handler,
  SlackDeliveryInProgressError,
} from '../../lambda/handlers/slack-notifier';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const WEBHOOK = 'https://hooks.slack.com/services/T0SECRETX/B0SECRETX/SECRETXtoken';
const WEBHOOK_ROTATED = 'https://hooks.slack.com/services/T0SECRETX/B1SECRETX/SECRETXrotated';

/* ------------------------------ a local stand-in for hooks.slack.com ------------------------------ */

interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

let slack: Server;
let slackBase: string;
let replies: Reply[] = [];
let posts: { path: string; body: string; status: number }[] = [];

/** The real `fetch`, kept before any test replaces the global. */
const realFetch = globalThis.fetch;

/** Real HTTP to the loopback server: the webhook's path is kept, only the origin is swapped. */
function loopbackFetch(): typeof fetch {
  return (input, init) => {
    const url = new URL(String(input));
    if (url.origin !== 'https://hooks.slack.com') throw new Error(`unexpected origin ${url.origin}`);
    return realFetch(`${slackBase}${url.pathname}`, init);
  };
}

/* ------------------------------------ dynalite and fixtures ------------------------------------ */

let aws: LocalAws;
let table: string;

beforeAll(async () => {
  slack = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = replies.shift() ?? { status: 200, body: 'ok' };
      posts.push({
        path: request.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        status: reply.status,
      });
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  slackBase = `http://127.0.0.1:${(slack.address() as AddressInfo).port}`;
  aws = await startLocalAws();
  await createStateTable(aws.dynamodb, ENV.TABLE_NAME);
});

afterAll(async () => {
  await aws.stop();
  await new Promise<void>((resolve) => slack.close(() => resolve()));
});

beforeEach(async () => {
  table = uniqueName('slack');
  await createStateTable(aws.dynamodb, table);
});

afterEach(() => {
  replies = [];
  posts = [];
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

function makeAlert(user = 'alice'): Alert {
  const rule = keyDeletionRule();
  const event = awsEvent({ user });
  return buildAlert(rule, event, matchKeys(rule, event.doc));
}

const DIGEST: AlertDigest = {
  alertId: 'test-rule#abc',
  rule: { id: 'test-rule', name: 'Test rule', severity: 'high' },
  groupBy: { 'user.name': 'alice' },
  windowStart: '2026-11-28T09:00:00.000Z',
  windowEnd: '2026-11-28T10:00:00.000Z',
  count: 4,
  firstSeen: '2026-11-28T09:16:12.000Z',
  lastSeen: '2026-11-28T09:40:00.000Z',
  sampleEventIds: ['evt-2'],
};

/** What the `lambda` protocol receives for this publish. */
function lambdaMessage(input: { Message?: string }): string {
  return (JSON.parse(input.Message ?? '{}') as { lambda: string }).lambda;
}

function snsEvent(message: string, messageId: string = randomUUID()): SNSEvent {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${TOPIC}:0000-subscription`,
        Sns: {
          Type: 'Notification',
          MessageId: messageId,
          TopicArn: TOPIC,
          Subject: 'subject',
          Message: message,
          Timestamp: '2026-11-28T09:16:20.000Z',
          SignatureVersion: '1',
          Signature: 'signature',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/cert.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

const alertEvent = (alert: Alert, messageId?: string): SNSEvent =>
  snsEvent(lambdaMessage(alertPublishInput(alert, TOPIC)), messageId);

const context = (remainingMs = 30_000) => ({ getRemainingTimeInMillis: () => remainingMs });

/** Every line the Powertools loggers write, captured instead of printed. */
function captureLogs(): string[] {
  const lines: string[] = [];
  const capture = (chunk: unknown): boolean => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as typeof process.stderr.write);
  return lines;
}

function secretsReturning(...values: string[]) {
  const client = new SecretsManagerClient({ region: 'us-east-1' });
  const send = vi.spyOn(client, 'send').mockImplementation(() => {
    const value = values.length > 1 ? values.shift() : values[0];
    return Promise.resolve({ SecretString: value }) as never;
  });
  return { client, send };
}

function notifier(options: { secrets?: string[]; sleeps?: number[] } = {}) {
  const secrets = secretsReturning(...(options.secrets ?? [WEBHOOK]));
  const ledger = new SlackDeliveryLedger(aws.dynamodb, table);
  const webhook = new SlackWebhookClient({
    secret: new CachedSecret(secrets.client, ENV.SLACK_WEBHOOK_SECRET_ARN),
    fetch: loopbackFetch(),
    sleep: async (ms) => {
      options.sleeps?.push(ms);
    },
  });
  const logger = new Logger({ serviceName: 'slack-notifier-test', logLevel: 'DEBUG' });
  return { notify: createSlackNotifier({ webhook, ledger, logger }), ledger, secrets };
}

async function deliveryState(key: string, tableName = table): Promise<string | undefined> {
  const { Item } = await aws.dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
  );
  return Item?.state?.S;
}

describe('slack notifier', () => {
  it('posts the rendered alert to the webhook and records it', async () => {
    captureLogs();
    const { notify } = notifier();
    const alert = makeAlert();

    await notify(alertEvent(alert), context());

    expect(posts).toHaveLength(1);
    expect(posts[0]?.path).toBe(new URL(WEBHOOK).pathname);
    expect(JSON.parse(posts[0]?.body ?? '')).toEqual(renderSlackMessage(JSON.parse(JSON.stringify(alert))));
    expect(await deliveryState(slackDeliveryKey('alert', alert.id))).toBe('POSTED');
  });

  it('does not post twice when SNS redelivers the message', async () => {
    const logs = captureLogs();
    const { notify } = notifier();
    const event = alertEvent(makeAlert(), 'sns-message-1');

    await notify(event, context());
    await notify(event, context());

    expect(posts).toHaveLength(1);
    expect(logs.join('')).toContain('already posted to Slack; skipping the redelivery');
  });

  it('does not post twice when the outbox publishes the same alert again', async () => {
    captureLogs();
    const { notify } = notifier();
    const alert = makeAlert();

    await notify(alertEvent(alert, 'first-publish'), context());
    await notify(alertEvent(alert, 'second-publish'), context());

    expect(posts).toHaveLength(1);
  });

  it('throws, without posting, while another invocation holds the claim', async () => {
    captureLogs();
    const { notify, ledger } = notifier();
    const alert = makeAlert();
    await ledger.claim(slackDeliveryKey('alert', alert.id), {
      now: Date.now(),
      claimUntil: Date.now() + 60_000,
      snsMessageId: 'other',
    });

    await expect(notify(alertEvent(alert), context())).rejects.toBeInstanceOf(SlackDeliveryInProgressError);
    expect(posts).toHaveLength(0);
  });

  it('posts when a crashed invocation left a claim whose lease has expired', async () => {
    captureLogs();
    const { notify, ledger } = notifier();
    const alert = makeAlert();
    await ledger.claim(slackDeliveryKey('alert', alert.id), {
      now: Date.now() - 120_000,
      claimUntil: Date.now() - 1,
      snsMessageId: 'crashed',
    });

    await notify(alertEvent(alert), context());

    expect(posts).toHaveLength(1);
    expect(await deliveryState(slackDeliveryKey('alert', alert.id))).toBe('POSTED');
  });

  it('releases the claim when Slack fails, so the retry posts at once', async () => {
    captureLogs();
    const { notify } = notifier();
    const event = alertEvent(makeAlert());
    replies = [{ status: 500, body: 'rollup_error' }];

    await expect(notify(event, context())).rejects.toMatchObject({ status: 500, retryable: true });
    await notify(event, context());

    expect(posts.map((post) => post.status)).toEqual([500, 200]);
  });

  it('waits out a 429 within the time the invocation has left', async () => {
    captureLogs();
    const sleeps: number[] = [];
    const { notify } = notifier({ sleeps });
    replies = [
      { status: 429, headers: { 'retry-after': '3' } },
      { status: 200, body: 'ok' },
    ];

    await notify(alertEvent(makeAlert()), context(30_000));

    expect(sleeps).toEqual([3000]);
    expect(posts.map((post) => post.status)).toEqual([429, 200]);
  });

  it('throws on a 429 it has no time to wait out, and the retry posts', async () => {
    captureLogs();
    const sleeps: number[] = [];
    const { notify } = notifier({ sleeps });
    const event = alertEvent(makeAlert());
    replies = [{ status: 429, headers: { 'retry-after': '30' } }];

    await expect(notify(event, context(10_000))).rejects.toMatchObject({ status: 429, retryable: true });
    await notify(event, context(10_000));

    expect(sleeps).toEqual([]);
    expect(posts.map((post) => post.status)).toEqual([429, 200]);
  });

  it('posts the plain fallback text when Slack rejects the blocks', async () => {
    captureLogs();
    const { notify } = notifier();
    replies = [
      { status: 400, body: 'invalid_blocks' },
      { status: 200, body: 'ok' },
    ];

    await notify(alertEvent(makeAlert()), context());

    expect(posts).toHaveLength(2);
    const fallback = JSON.parse(posts[1]?.body ?? '') as Record<string, unknown>;
    expect(fallback).toMatchObject({ unfurl_links: false, unfurl_media: false });
    expect(fallback).not.toHaveProperty('blocks');
    expect(fallback.text).toContain('the full alert could not be shown in Slack');
  });

  it('posts a digest once', async () => {
    captureLogs();
    const { notify } = notifier();
    const event = snsEvent(lambdaMessage(digestPublishInput(DIGEST, TOPIC)));

    await notify(event, context());
    await notify(event, context());

    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toContain('Digest: Test rule');
    expect(await deliveryState(slackDeliveryKey('digest', DIGEST.alertId))).toBe('POSTED');
  });

  it.each([
    ['text that is not JSON', 'hello', 'message is not JSON'],
    ['the e-mail text', 'Alert: [HIGH 75] Test rule', 'message is not JSON'],
    [
      'another version',
      JSON.stringify({ kind: 'alert', version: 99, alert: {} }),
      'unsupported message version 99',
    ],
    [
      'an alert without fields',
      JSON.stringify({ kind: 'alert', version: 1, alert: { id: 'x' } }),
      'alert.rule is not an object',
    ],
  ])('logs and skips %s without throwing', async (_name, message, reason) => {
    const logs = captureLogs();
    const { notify } = notifier();

    await notify(snsEvent(message), context());

    expect(posts).toHaveLength(0);
    const warning = logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.level === 'WARN');
    expect(warning).toMatchObject({
      message: 'skipping an SNS message that is not an alert or digest',
      reason,
    });
  });
});

describe('handler', () => {
  it('works end to end with its module-scope clients and never logs the webhook URL', async () => {
    const logs = captureLogs();
    const secretValues = [JSON.stringify({ webhookUrl: WEBHOOK }), JSON.stringify({ webhookUrl: WEBHOOK })];
    const secretsSend = vi.spyOn(clients.secretsManager, 'send').mockImplementation(() => {
      const value = secretValues.length > 1 ? secretValues.shift() : secretValues[0];
      return Promise.resolve({ SecretString: value }) as never;
    });
    vi.spyOn(clients.dynamodb, 'send').mockImplementation(((command: never) =>
      aws.dynamodb.send(command)) as never);
    vi.stubGlobal('fetch', loopbackFetch());
    const first = alertEvent(makeAlert('alice'));
    const revoked = alertEvent(makeAlert('bob'));
    const unreachableAfterRotation = alertEvent(makeAlert('carol'));

    await handler(first, context() as never);
    await handler(first, context() as never);
    await handler(snsEvent('garbage'), context() as never);
    replies = [{ status: 404, body: 'no_service' }];
    await expect(handler(revoked, context() as never)).rejects.toMatchObject({ status: 404 });
    secretValues.splice(0, secretValues.length, WEBHOOK_ROTATED);
    replies = [
      { status: 403, body: 'invalid_token' },
      { status: 200, body: 'ok' },
    ];
    await handler(unreachableAfterRotation, context() as never);

    expect(posts.map((post) => [post.path, post.status])).toEqual([
      [new URL(WEBHOOK).pathname, 200],
      [new URL(WEBHOOK).pathname, 404],
      [new URL(WEBHOOK).pathname, 403],
      [new URL(WEBHOOK_ROTATED).pathname, 200],
    ]);
    expect(secretsSend).toHaveBeenCalledTimes(3);
    const output = logs.join('');
    expect(output).toContain('posted to Slack');
    expect(output).toContain('already posted to Slack');
    expect(output).toContain('Slack delivery failed; the invocation will be retried');
    expect(output).not.toContain('SECRETX');
    expect(output).not.toContain('hooks.slack.com');
  });
});
