import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdentityTokenError } from '../../../forwarders/core/errors';
import { GcsOversizeSink } from '../../../forwarders/gcp/gcs-sink';
import { metadataAccessToken, metadataIdentityToken } from '../../../forwarders/gcp/metadata';
import { FakeCloud } from '../support/fake-cloud';

const AUDIENCE = 'https://abnormal-cloud-api-calls.example.com';

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
  cloud.omitMetadataFlavor = false;
  cloud.storageStatus = undefined;
  cloud.clock = Date.now;
});

describe('metadataIdentityToken', () => {
  it('asks for a full-format ID token for the audience with Metadata-Flavor: Google', async () => {
    const token = await metadataIdentityToken(AUDIENCE, { baseUrl: cloud.url });

    const [request] = cloud.requests;
    expect(request?.url.pathname).toBe('/computeMetadata/v1/instance/service-accounts/default/identity');
    expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({
      audience: AUDIENCE,
      format: 'full',
    });
    expect(request?.headers['metadata-flavor']).toBe('Google');
    const claims = JSON.parse(Buffer.from(token.value.split('.')[1] ?? '', 'base64url').toString()) as {
      aud: string;
    };
    expect(claims.aud).toBe(AUDIENCE);
  });

  it('takes the expiry from the token', async () => {
    cloud.clock = () => Date.parse('2030-01-01T00:00:00Z');

    const token = await metadataIdentityToken(AUDIENCE, { baseUrl: cloud.url, now: () => 0 });

    expect(token.expiresAt).toBe(Date.parse('2030-01-01T01:00:00Z'));
  });

  it('refuses an answer without Metadata-Flavor: Google', async () => {
    cloud.omitMetadataFlavor = true;

    await expect(metadataIdentityToken(AUDIENCE, { baseUrl: cloud.url })).rejects.toThrow(
      /lacks "Metadata-Flavor: Google": not the metadata server/,
    );
  });

  it('says what the metadata server answered when it refuses', async () => {
    cloud.identityFailureStatus = 404;

    const failure = await metadataIdentityToken(AUDIENCE, { baseUrl: cloud.url }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(IdentityTokenError);
    expect(failure).toMatchObject({
      status: 404,
      message: 'the metadata server refused an identity token: HTTP 404 service account not found',
    });
  });
});

describe('metadataAccessToken', () => {
  it('returns the access token with its lifetime', async () => {
    const token = await metadataAccessToken({ baseUrl: cloud.url, now: () => 1_000 });

    expect(token).toEqual({
      value: expect.stringMatching(/^gcs-access-token-/),
      expiresAt: 1_000 + 3_599_000,
    });
  });
});

describe('GcsOversizeSink', () => {
  const item = {
    source: 'gcp-audit-logs' as const,
    data: Buffer.from('{"insertId":"abc","protoPayload":{}}'),
    origin: 'message 12345',
    eventId: 'abc',
    receivedAt: new Date('2030-01-02T03:04:05Z'),
  };

  it('uploads the record once, create-only, under a dated content-addressed name', async () => {
    const sink = new GcsOversizeSink({
      bucket: 'oversize-bucket',
      token: async () => 'access',
      baseUrl: cloud.url,
    });

    const location = await sink.store(item);
    const again = await sink.store(item);

    expect(location).toMatch(
      /^gs:\/\/oversize-bucket\/oversize\/gcp-audit-logs\/2030\/01\/02\/[0-9a-f]{64}\.json$/,
    );
    expect(again).toBe(location);
    const [request] = cloud.requests;
    expect(request?.url.searchParams.get('uploadType')).toBe('media');
    expect(request?.url.searchParams.get('ifGenerationMatch')).toBe('0');
    expect(request?.headers.authorization).toBe('Bearer access');
    expect(cloud.objects.get(location.slice('gs://'.length))?.equals(item.data)).toBe(true);
  });

  it('throws when Cloud Storage refuses', async () => {
    cloud.storageStatus = 503;
    const sink = new GcsOversizeSink({ bucket: 'busy', token: async () => 'access', baseUrl: cloud.url });

    await expect(sink.store(item)).rejects.toThrow(/upload of gs:\/\/busy\/.* failed: HTTP 503/);
  });
});
