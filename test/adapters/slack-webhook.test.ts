import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CachedSecret, SecretReadError } from '../../lambda/adapters/secrets';
import {
  isSlackWebhookUrl,
  retryAfterMs,
  SlackPayloadRejectedError,
  SlackWebhookClient,
  SlackWebhookConfigError,
  SlackWebhookError,
  webhookUrlFromSecret,
} from '../../lambda/adapters/slack-webhook';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:slack-webhook-AbCdEf';
const URL_A = 'https://hooks.slack.com/services/T0000SECRET/B0000SECRET/aaaaSECRETaaaa';
const URL_B = 'https://hooks.slack.com/services/T0000SECRET/B1111SECRET/bbbbSECRETbbbb';

/* ------------------------------ a local stand-in for hooks.slack.com ------------------------------ */

interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}
interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

let server: Server;
let base: string;
let replies: Reply[] = [];
let received: Received[] = [];

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void readBody(request).then((body) => {
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'], body });
      const reply = replies.shift() ?? { status: 200, body: 'ok' };
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      response.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  replies = [];
  received = [];
  vi.restoreAllMocks();
});

/** Real HTTP to the loopback server: the webhook's path is kept, only the origin is swapped. */
function loopbackFetch(): typeof fetch {
  return (input, init) => {
    const url = new URL(String(input));
    if (url.origin !== 'https://hooks.slack.com') throw new Error(`unexpected origin ${url.origin}`);
    return fetch(`${base}${url.pathname}`, init);
  };
}

/** A real Secrets Manager client whose `send` answers with the given secret strings in turn. */
function secretsReturning(...values: string[]) {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const send = vi.spyOn(client, 'send').mockImplementation((command) => {
    expect(command).toBeInstanceOf(GetSecretValueCommand);
    expect((command as GetSecretValueCommand).input).toEqual({ SecretId: SECRET_ARN });
    const value = values.length > 1 ? values.shift() : values[0];
    return Promise.resolve({ SecretString: value }) as never;
  });
  return { client, send };
}

function webhookClient(secretValues: string[], clock = { now: 1_000_000 }) {
  const secrets = secretsReturning(...secretValues);
  const sleeps: number[] = [];
  const client = new SlackWebhookClient({
    secret: new CachedSecret(secrets.client, SECRET_ARN, { now: () => clock.now }),
    fetch: loopbackFetch(),
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
  });
  return { client, sleeps, secrets, clock };
}

const MESSAGE = { text: 'hello', unfurl_links: false, unfurl_media: false } as const;

/** A loopback port that was free a moment ago and has nothing listening on it now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function everythingAbout(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return JSON.stringify({ ...error, message: error.message, stack: error.stack, cause: String(error.cause) });
}

describe('webhookUrlFromSecret', () => {
  it.each([
    ['a bare URL', URL_A],
    ['a bare URL with a trailing newline', `${URL_A}\n`],
    ['JSON', JSON.stringify({ webhookUrl: URL_A })],
    ['indented JSON', `  {\n  "webhookUrl": "${URL_A}"\n}\n`],
  ])('reads %s', (_name, secret) => {
    expect(webhookUrlFromSecret(secret)).toBe(URL_A);
  });

  it.each([
    ['http', 'http://hooks.slack.com/services/T/B/SECRETX'],
    ['another host', 'https://hooks.slack.com.evil.example/services/T/B/SECRETX'],
    ['a look-alike host', 'https://evil.example/hooks.slack.com/SECRETX'],
    ['credentials in the URL', 'https://SECRETX@hooks.slack.com/services/T/B/x'],
    ['a port', 'https://hooks.slack.com:8443/services/T/B/SECRETX'],
    ['no path', 'https://hooks.slack.com/'],
    ['broken JSON', '{"webhookUrl": "https://hooks.slack.com/services/SECRETX"'],
    ['JSON without webhookUrl', '{"url": "https://hooks.slack.com/services/SECRETX"}'],
    ['not a URL', 'SECRETX'],
  ])('rejects %s without repeating the secret', (_name, secret) => {
    let caught: unknown;
    try {
      webhookUrlFromSecret(secret);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(SlackWebhookConfigError);
    expect(everythingAbout(caught)).not.toContain('SECRETX');
  });

  it('accepts only https hooks.slack.com URLs', () => {
    expect(isSlackWebhookUrl(URL_A)).toBe(true);
    expect(isSlackWebhookUrl('https://hooks.slack.com/workflows/T/A/1/x')).toBe(true);
    expect(isSlackWebhookUrl('https://slack.com/services/x')).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it.each([
    ['30', 30_000],
    [' 2 ', 2000],
    ['Thu, 01 Jan 1970 00:00:10 GMT', 9000],
    ['soon', 1000],
    [null, 1000],
  ])('reads %j as %i ms', (header, expected) => {
    expect(retryAfterMs(header, 1000)).toBe(expected);
  });
});

describe('CachedSecret', () => {
  it('reads once within the TTL, again after it, and at once on refresh', async () => {
    const { client, send } = secretsReturning('one', 'two', 'three');
    const clock = { now: 0 };
    const secret = new CachedSecret(client, SECRET_ARN, { ttlMs: 1000, now: () => clock.now });

    const first = await Promise.all([secret.get(), secret.get()]);
    clock.now = 999;
    const cached = await secret.get();
    clock.now = 1000;
    const expired = await secret.get();
    const refreshed = await secret.refresh();

    expect(first).toEqual(['one', 'one']);
    expect(cached).toBe('one');
    expect(expired).toBe('two');
    expect(refreshed).toBe('three');
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('names the secret, not its value, when it cannot be read', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    vi.spyOn(client, 'send').mockImplementation(
      () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })) as never,
    );

    await expect(new CachedSecret(client, SECRET_ARN).get()).rejects.toThrow(
      new SecretReadError(`reading secret ${SECRET_ARN} failed`, SECRET_ARN),
    );
  });

  it('rejects an empty secret', async () => {
    const { client } = secretsReturning('  ');

    await expect(new CachedSecret(client, SECRET_ARN).get()).rejects.toThrow(/has no string value/);
  });
});

describe('SlackWebhookClient', () => {
  it('posts the message as JSON to the webhook path', async () => {
    const { client } = webhookClient([URL_A]);

    await client.post({ ...MESSAGE, text: 'hello <b>' }, 1_000_000 + 30_000);

    expect(received).toEqual([
      {
        path: new URL(URL_A).pathname,
        contentType: 'application/json; charset=utf-8',
        body: '{"text":"hello <b>","unfurl_links":false,"unfurl_media":false}',
      },
    ]);
  });

  it('reuses the cached webhook URL across posts', async () => {
    const { client, secrets } = webhookClient([JSON.stringify({ webhookUrl: URL_A })]);

    await client.post(MESSAGE, 2_000_000);
    await client.post(MESSAGE, 2_000_000);

    expect(received).toHaveLength(2);
    expect(secrets.send).toHaveBeenCalledTimes(1);
  });

  it('waits out a 429 for its Retry-After, then posts again', async () => {
    replies = [
      { status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } },
      { status: 200, body: 'ok' },
    ];
    const { client, sleeps } = webhookClient([URL_A]);

    await client.post(MESSAGE, 1_000_000 + 30_000);

    expect(sleeps).toEqual([2000]);
    expect(received).toHaveLength(2);
  });

  it('throws a retryable error when the wait would outlast the time left', async () => {
    replies = [{ status: 429, body: 'rate_limited', headers: { 'retry-after': '30' } }];
    const { client, sleeps } = webhookClient([URL_A]);

    const posting = client.post(MESSAGE, 1_000_000 + 10_000);

    await expect(posting).rejects.toBeInstanceOf(SlackWebhookError);
    await expect(posting).rejects.toMatchObject({ status: 429, retryable: true });
    expect(sleeps).toEqual([]);
    expect(received).toHaveLength(1);
  });

  it('gives up after a few 429s in a row', async () => {
    replies = Array.from({ length: 5 }, () => ({ status: 429, headers: { 'retry-after': '1' } }));
    const { client, sleeps } = webhookClient([URL_A]);

    await expect(client.post(MESSAGE, 1_000_000 + 60_000)).rejects.toMatchObject({ status: 429 });
    expect(sleeps).toEqual([1000, 1000, 1000]);
    expect(received).toHaveLength(4);
  });

  it.each([403, 404, 410])('re-reads the secret once after %i and posts to the new URL', async (status) => {
    replies = [
      { status, body: 'no_service' },
      { status: 200, body: 'ok' },
    ];
    const { client, secrets } = webhookClient([URL_A, URL_B]);

    await client.post(MESSAGE, 2_000_000);

    expect(received.map((request) => request.path)).toEqual([
      new URL(URL_A).pathname,
      new URL(URL_B).pathname,
    ]);
    expect(secrets.send).toHaveBeenCalledTimes(2);
  });

  it('does not post again when the re-read secret is unchanged', async () => {
    replies = [{ status: 404, body: 'no_service' }];
    const { client, secrets } = webhookClient([URL_A]);

    const posting = client.post(MESSAGE, 2_000_000);

    await expect(posting).rejects.toMatchObject({ status: 404, slackError: 'no_service' });
    expect(received).toHaveLength(1);
    expect(secrets.send).toHaveBeenCalledTimes(2);
  });

  it('reports a 400 as a rejected payload', async () => {
    replies = [{ status: 400, body: 'invalid_blocks' }];
    const { client } = webhookClient([URL_A]);

    const posting = client.post(MESSAGE, 2_000_000);

    await expect(posting).rejects.toBeInstanceOf(SlackPayloadRejectedError);
    await expect(posting).rejects.toMatchObject({
      status: 400,
      retryable: false,
      slackError: 'invalid_blocks',
    });
  });

  it('reports a 500 as retryable', async () => {
    replies = [{ status: 500, body: 'rollup_error' }];
    const { client } = webhookClient([URL_A]);

    await expect(client.post(MESSAGE, 2_000_000)).rejects.toMatchObject({ status: 500, retryable: true });
  });

  it('does not start a request with less than a second left', async () => {
    const { client } = webhookClient([URL_A]);

    await expect(client.post(MESSAGE, 1_000_000 + 500)).rejects.toThrow(/no time left/);
    expect(received).toHaveLength(0);
  });

  it('never puts the webhook URL into an error', async () => {
    const failures: unknown[] = [];
    const secrets = secretsReturning(URL_A);
    const closedPort = await freePort();
    const unreachable = new SlackWebhookClient({
      secret: new CachedSecret(secrets.client, SECRET_ARN),
      // A real network error: nothing listens on this loopback port any more.
      fetch: (input, init) => fetch(`http://127.0.0.1:${closedPort}${new URL(String(input)).pathname}`, init),
    });
    await unreachable.post(MESSAGE, Date.now() + 10_000).catch((error: unknown) => failures.push(error));
    for (const reply of [
      { status: 404 },
      { status: 400 },
      { status: 500 },
      { status: 429, headers: { 'retry-after': '99' } },
    ]) {
      replies = [reply];
      await webhookClient([URL_A])
        .client.post(MESSAGE, 1_010_000)
        .catch((error: unknown) => failures.push(error));
    }

    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({
      message: expect.stringMatching(/request to the Slack webhook failed \(ECONNREFUSED\)/),
    });
    for (const failure of failures) expect(everythingAbout(failure)).not.toContain('SECRET');
  });
});
