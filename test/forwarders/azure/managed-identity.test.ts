import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BlobOversizeSink } from '../../../forwarders/azure/blob-sink';
import { managedIdentityToken } from '../../../forwarders/azure/managed-identity';
import { IdentityTokenError } from '../../../forwarders/core/errors';
import { APP_SERVICE_IDENTITY_HEADER, FakeCloud } from '../support/fake-cloud';

const AUDIENCE = 'api://abnormal-cloud-api-calls-forwarder';
const CLIENT_ID = '0b9f3c1e-5d2a-4c6b-9e8f-7a1b2c3d4e5f';

let cloud: FakeCloud;

beforeAll(async () => {
  cloud = await FakeCloud.start();
});

afterAll(async () => {
  await cloud.close();
});

afterEach(() => {
  cloud.requests.length = 0;
  cloud.identityFailureStatus = undefined;
  cloud.storageStatus = undefined;
  cloud.clock = Date.now;
});

describe('managedIdentityToken', () => {
  it('asks the App Service identity endpoint with its header and the audience as resource', async () => {
    cloud.clock = () => Date.parse('2030-01-01T00:00:00Z');

    const token = await managedIdentityToken(AUDIENCE, {
      identityEndpoint: cloud.identityEndpoint,
      identityHeader: APP_SERVICE_IDENTITY_HEADER,
    });

    expect(token.value).toMatch(/^azure-token\./);
    expect(token.expiresAt).toBe(Date.parse('2030-01-02T00:00:00Z'));
    const [request] = cloud.requests;
    expect(request?.url.pathname).toBe('/msi/token');
    expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({
      resource: AUDIENCE,
      'api-version': '2019-08-01',
    });
  });

  it('asks for a user-assigned identity by client id', async () => {
    await managedIdentityToken(AUDIENCE, {
      identityEndpoint: cloud.identityEndpoint,
      identityHeader: APP_SERVICE_IDENTITY_HEADER,
      clientId: CLIENT_ID,
    });

    expect(cloud.requests[0]?.url.searchParams.get('client_id')).toBe(CLIENT_ID);
  });

  it('falls back to IMDS with the Metadata header when there is no identity endpoint', async () => {
    const token = await managedIdentityToken(AUDIENCE, { imdsBaseUrl: cloud.url });

    expect(token.value).toMatch(/^azure-token\./);
    expect(cloud.requests[0]?.url.pathname).toBe('/metadata/identity/oauth2/token');
    expect(cloud.requests[0]?.headers.metadata).toBe('true');
    expect(cloud.requests[0]?.url.searchParams.get('api-version')).toBe('2018-02-01');
  });

  it('says which endpoint refused and why, without the query string', async () => {
    cloud.identityFailureStatus = 400;

    const failure = await managedIdentityToken(AUDIENCE, {
      identityEndpoint: cloud.identityEndpoint,
      identityHeader: APP_SERVICE_IDENTITY_HEADER,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(IdentityTokenError);
    expect(failure).toMatchObject({ endpoint: cloud.identityEndpoint, status: 400 });
    expect((failure as Error).message).toContain(
      `the App Service identity endpoint (IDENTITY_ENDPOINT) refused a managed identity token for "${AUDIENCE}": HTTP 400 {"error":"invalid_request","error_description":"Identity not found"}`,
    );
  });

  it('fails clearly when the endpoint cannot be reached', async () => {
    await expect(
      managedIdentityToken(AUDIENCE, { imdsBaseUrl: 'http://127.0.0.1:9', timeoutMs: 2_000 }),
    ).rejects.toThrow(
      /could not reach the Instance Metadata Service at http:\/\/127\.0\.0\.1:9\/metadata\/identity\/oauth2\/token/,
    );
  });
});

describe('BlobOversizeSink', () => {
  const item = {
    source: 'azure-activity-logs' as const,
    data: Buffer.from('{"operationName":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"}'),
    origin: 'partition 0 sequence 42 record 1',
    receivedAt: new Date('2030-01-02T03:04:05Z'),
  };

  it('puts a block blob with a storage token under a dated, content-addressed name', async () => {
    const sink = new BlobOversizeSink({
      containerUrl: `${cloud.url}/blob/oversize`,
      token: async () => 'storage-token',
    });

    const location = await sink.store(item);

    expect(location).toMatch(
      new RegExp(`^${cloud.url}/blob/oversize/oversize/azure-activity-logs/2030/01/02/[0-9a-f]{64}\\.json$`),
    );
    const request = cloud.requests[0];
    expect(request?.method).toBe('PUT');
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer storage-token',
      'x-ms-blob-type': 'BlockBlob',
      'content-type': 'application/json',
      'if-none-match': '*',
    });
    expect(request?.body.equals(item.data)).toBe(true);
  });

  it('treats a blob that already exists as stored (a redelivered batch)', async () => {
    const sink = new BlobOversizeSink({ containerUrl: `${cloud.url}/blob/again`, token: async () => 't' });

    const first = await sink.store(item);
    const second = await sink.store(item);

    expect(second).toBe(first);
    expect(cloud.blobs.size).toBeGreaterThan(0);
  });

  it('throws when the service refuses', async () => {
    cloud.storageStatus = 503;
    const sink = new BlobOversizeSink({ containerUrl: `${cloud.url}/blob/busy`, token: async () => 't' });

    await expect(sink.store(item)).rejects.toThrow(/Put Blob .* failed: HTTP 503 <Error><Code>ServerBusy/);
  });
});
