import { randomBytes } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConfigurationError } from '../../../forwarders/core/errors';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../../support/local-aws';
import { APP_SERVICE_IDENTITY_HEADER, FakeCloud, TEST_ROLE_ARN } from '../support/fake-cloud';
import { startFlakyProxy } from '../support/faulty-kinesis';
import { asDetectorSees, azureRecords } from '../support/fixtures';
import { readStream } from '../support/stream';

const AUDIENCE = 'api://abnormal-cloud-api-calls-forwarder';

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
    'IDENTITY_ENDPOINT',
    'IDENTITY_HEADER',
    'OVERSIZE_CONTAINER_URL',
  ]) {
    vi.stubEnv(name, '');
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const entry = await import('../../../forwarders/azure/index');
  return { entry, warn };
}

describe('the Azure forwarder entry point', () => {
  it('registers the Event Hub trigger for batches with an unlimited retry policy', async () => {
    const { entry, warn } = await coldStart({
      KINESIS_STREAM_NAME: 'stream',
      AWS_REGION: 'eu-west-3',
      AWS_ROLE_ARN: TEST_ROLE_ARN,
      TOKEN_AUDIENCE: AUDIENCE,
    });

    expect(entry.activityLogFunction).toMatchObject({
      connection: 'ActivityLogEventHub',
      eventHubName: 'insights-activity-logs',
      consumerGroup: '$Default',
      cardinality: 'many',
      retry: { strategy: 'exponentialBackoff', maxRetryCount: -1 },
    });
    // Outside the Functions host, @azure/functions says it skipped registering (its test mode).
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`register function "${entry.FUNCTION_NAME}"`));
  });

  it('forwards a batch end to end: managed identity token, STS, signed PutRecords, oversize blob', async () => {
    // Arrange: every endpoint on loopback; Kinesis behind a proxy that records the signed requests.
    const streamName = uniqueName('azure-entry');
    await createStream(aws.kinesis, streamName, 2);
    const proxy = await startFlakyProxy(aws.kinesisEndpoint, 0);
    const { entry } = await coldStart({
      KINESIS_STREAM_NAME: streamName,
      AWS_REGION: 'us-east-1',
      AWS_ROLE_ARN: TEST_ROLE_ARN,
      TOKEN_AUDIENCE: AUDIENCE,
      KINESIS_ENDPOINT: proxy.url,
      STS_ENDPOINT: cloud.stsEndpoint,
      IDENTITY_ENDPOINT: cloud.identityEndpoint,
      IDENTITY_HEADER: APP_SERVICE_IDENTITY_HEADER,
      OVERSIZE_CONTAINER_URL: `${cloud.url}/blob/oversize`,
    });
    const records = azureRecords().slice(0, 5);
    const huge = {
      operationName: 'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE',
      blob: randomBytes(1_200_000).toString('base64'),
    };
    const logs: unknown[][] = [];
    const context = new InvocationContext({ logHandler: (...args) => logs.push(args) });

    // Act
    try {
      await entry.activityLogFunction.handler([{ records }, { records: [huge] }], context);
    } finally {
      entry.kinesis.destroy();
      await proxy.close();
    }

    // Assert: the records are in the stream, as the detector reads them.
    const stored = await readStream(aws.kinesis, streamName);
    expect(stored.flatMap((item) => asDetectorSees(item.data)).map((view) => view.record)).toEqual(
      expect.arrayContaining(records),
    );
    expect(stored).toHaveLength(5);
    // The managed identity token for the audience was exchanged for the role, unsigned.
    const tokenRequests = cloud.requests.filter((request) => request.url.pathname === '/msi/token');
    expect(tokenRequests.map((request) => request.url.searchParams.get('resource'))).toEqual(
      expect.arrayContaining([AUDIENCE, 'https://storage.azure.com/']),
    );
    const [sts] = cloud.stsRequests;
    expect(sts?.get('RoleArn')).toBe(TEST_ROLE_ARN);
    expect(sts?.get('WebIdentityToken')).toMatch(
      new RegExp(`^azure-token\\.${Buffer.from(AUDIENCE).toString('base64url')}\\.`),
    );
    // PutRecords was signed with the assumed role's session.
    expect(proxy.headers[0]?.authorization).toMatch(
      /Credential=ASIAFAKE\d{8}\/\d{8}\/us-east-1\/kinesis\/aws4_request/,
    );
    expect(proxy.headers[0]?.['x-amz-security-token']).toMatch(/^session-token-\d+$/);
    // The oversize record went to the container.
    const blobs = [...cloud.blobs.entries()].filter(([key]) =>
      key.startsWith('/blob/oversize/oversize/azure-activity-logs/'),
    );
    expect(blobs).toHaveLength(1);
    expect(JSON.parse(blobs[0]?.[1].toString() ?? '{}')).toEqual(huge);
    expect(
      logs.some(
        ([level, line]) => level === 'error' && String(line).includes('ForwarderOversizeRecordsStored'),
      ),
    ).toBe(true);
  });

  it('fails the cold start with every misconfigured setting named', async () => {
    const failure = await coldStart({
      KINESIS_STREAM_NAME: 'stream',
      AWS_REGION: 'westeurope',
      AWS_ROLE_ARN: '',
      TOKEN_AUDIENCE: AUDIENCE,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).name).toBe('ConfigurationError');
    expect((failure as ConfigurationError).problems.map((problem) => problem.variable)).toEqual([
      'AWS_REGION',
      'AWS_ROLE_ARN',
    ]);
  });
});
