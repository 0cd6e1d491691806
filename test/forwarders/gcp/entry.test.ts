import { randomBytes } from 'node:crypto';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConfigurationError } from '../../../forwarders/core/errors';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import { listen, postPubSubEvent } from '../support/cloud-events';
import { FakeCloud, TEST_ROLE_ARN } from '../support/fake-cloud';
import { startFlakyProxy } from '../support/faulty-kinesis';
import { asDetectorSees, gcpEntries } from '../support/fixtures';
import { readStream } from '../support/stream';

const AUDIENCE = 'https://abnormal-cloud-api-calls.example.com';

let aws: LocalAws;
let cloud: FakeCloud;

beforeAll(async () => {
  aws = await startLocalAws();
  cloud = await FakeCloud.start();
});

afterAll(async () => {
  await cloud.close();
  await aws.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

/** Loads the entry module afresh, as a cold start with this environment. */
async function coldStart(env: Record<string, string>) {
  vi.resetModules();
  for (const name of [
    'KINESIS_ENDPOINT',
    'STS_ENDPOINT',
    'GCE_METADATA_HOST',
    'OVERSIZE_BUCKET',
    'STORAGE_ENDPOINT',
  ]) {
    vi.stubEnv(name, '');
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return import('../../../forwarders/gcp/index');
}

describe('the GCP forwarder entry point', () => {
  it('serves Pub/Sub CloudEvents end to end: ID token, STS, signed PutRecords, oversize object', async () => {
    // Arrange
    const streamName = uniqueName('gcp-entry');
    await createStream(aws.kinesis, streamName, 2);
    const proxy = await startFlakyProxy(aws.kinesisEndpoint, 0);
    const entry = await coldStart({
      KINESIS_STREAM_NAME: streamName,
      AWS_REGION: 'us-east-1',
      AWS_ROLE_ARN: TEST_ROLE_ARN,
      TOKEN_AUDIENCE: AUDIENCE,
      KINESIS_ENDPOINT: proxy.url,
      STS_ENDPOINT: cloud.stsEndpoint,
      GCE_METADATA_HOST: cloud.metadataHost,
      OVERSIZE_BUCKET: 'audit-oversize',
      STORAGE_ENDPOINT: cloud.url,
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const server = await listen(getTestServer(entry.FUNCTION_NAME));
    const entries = gcpEntries().slice(0, 4);
    const huge = JSON.stringify({
      ...(JSON.parse(entries[0] as string) as object),
      insertId: 'huge-entry',
      padding: randomBytes(1_200_000).toString('base64'),
    });

    // Act
    const answers = [];
    try {
      for (const data of [...entries, huge]) answers.push(await postPubSubEvent(server.url, { data }));
    } finally {
      await server.close();
      entry.kinesis.destroy();
      await proxy.close();
    }

    // Assert
    expect(answers.map((answer) => answer.status)).toEqual([204, 204, 204, 204, 204]);
    const stored = await readStream(aws.kinesis, streamName);
    expect(stored.map((item) => item.data.toString()).sort()).toEqual([...entries].sort());
    expect(
      stored.flatMap((item) => asDetectorSees(item.data)).every((view) => view.source === 'gcp-audit-logs'),
    ).toBe(true);
    const [sts] = cloud.stsRequests;
    const claims = JSON.parse(
      Buffer.from(sts?.get('WebIdentityToken')?.split('.')[1] ?? '', 'base64url').toString(),
    ) as { aud: string };
    expect(claims.aud).toBe(AUDIENCE);
    expect(sts?.get('RoleSessionName')).toBe('gcp-audit-log-forwarder');
    expect(proxy.headers[0]?.['x-amz-security-token']).toMatch(/^session-token-\d+$/);
    const objects = [...cloud.objects.keys()].filter((key) =>
      key.startsWith('audit-oversize/oversize/gcp-audit-logs/'),
    );
    expect(objects).toHaveLength(1);
    expect(cloud.objects.get(objects[0] as string)?.toString()).toBe(huge);
  });

  it('fails the cold start naming the misconfigured variables', async () => {
    const failure = await coldStart({
      KINESIS_STREAM_NAME: 'stream',
      AWS_REGION: 'us-east-1',
      AWS_ROLE_ARN: TEST_ROLE_ARN,
      TOKEN_AUDIENCE: AUDIENCE,
      GCE_METADATA_HOST: 'http://metadata',
    }).catch((error: unknown) => error);

    expect((failure as ConfigurationError).name).toBe('ConfigurationError');
    expect((failure as ConfigurationError).problems).toEqual([
      {
        variable: 'GCE_METADATA_HOST',
        problem: '"http://metadata" is not valid: host[:port] of the metadata server',
      },
    ]);
  });
});
