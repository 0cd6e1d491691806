import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStsClient } from '../../../forwarders/core/aws-clients';
import { WebIdentityCredentials } from '../../../forwarders/core/credentials';
import { CredentialsError, IdentityTokenError } from '../../../forwarders/core/errors';
import { RefreshingValue } from '../../../forwarders/core/refreshing';
import { FakeCloud, TEST_ROLE_ARN } from '../support/fake-cloud';

const MINUTE = 60_000;
const START = Date.parse('2030-01-01T00:00:00Z');

let cloud: FakeCloud;

beforeAll(async () => {
  cloud = await FakeCloud.start();
});

afterAll(async () => {
  await cloud.close();
});

afterEach(() => {
  cloud.requests.length = 0;
  cloud.stsFailure = undefined;
  cloud.stsDelayMs = 0;
});

/** Credentials against the fake STS with a clock the test moves; STS uses the same clock. */
function credentialsWithClock(token: () => Promise<string> = async () => 'the-identity-token') {
  let now = START;
  cloud.clock = () => now;
  const sts = createStsClient({ region: 'eu-west-3', stsEndpoint: cloud.stsEndpoint });
  const credentials = new WebIdentityCredentials({
    roleArn: TEST_ROLE_ARN,
    roleSessionName: 'test-forwarder',
    webIdentityToken: token,
    sts,
    now: () => now,
  });
  return {
    credentials,
    advanceTo: (ms: number) => {
      now = ms;
    },
    [Symbol.dispose]: () => sts.destroy(),
  };
}

describe('WebIdentityCredentials', () => {
  it('exchanges the identity token for the role with an unsigned AssumeRoleWithWebIdentity, then caches', async () => {
    using setup = credentialsWithClock();

    const first = await setup.credentials.get();
    const second = await setup.credentials.get();

    expect(first).toEqual({
      accessKeyId: 'ASIAFAKE00000001',
      secretAccessKey: 'secret-1',
      sessionToken: 'session-token-1',
      expiration: new Date(START + 60 * MINUTE),
    });
    expect(second).toBe(first);
    expect(cloud.stsRequests).toHaveLength(1);
    const form = cloud.stsRequests[0] as URLSearchParams;
    expect(Object.fromEntries(form)).toMatchObject({
      Action: 'AssumeRoleWithWebIdentity',
      RoleArn: TEST_ROLE_ARN,
      RoleSessionName: 'test-forwarder',
      WebIdentityToken: 'the-identity-token',
      DurationSeconds: '3600',
    });
    const request = cloud.requests.find((item) => item.url.pathname.startsWith('/sts'));
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('does not refresh while more than 5 minutes remain', async () => {
    using setup = credentialsWithClock();
    await setup.credentials.get();

    setup.advanceTo(START + 54 * MINUTE);
    await setup.credentials.get();

    expect(cloud.stsRequests).toHaveLength(1);
  });

  it('refreshes once, 5 minutes before expiry, even with many concurrent callers', async () => {
    using setup = credentialsWithClock();
    const old = await setup.credentials.get();
    cloud.stsDelayMs = 50;

    setup.advanceTo(START + 56 * MINUTE);
    const results = await Promise.all(Array.from({ length: 20 }, () => setup.credentials.get()));

    expect(cloud.stsRequests).toHaveLength(2);
    expect(new Set(results.map((credentials) => credentials.accessKeyId))).toEqual(
      new Set(['ASIAFAKE00000002']),
    );
    expect(results[0]?.expiration.getTime()).toBeGreaterThan(old.expiration.getTime());
  });

  it('surfaces STS refusing the token as a clear, non-retryable error', async () => {
    using setup = credentialsWithClock();
    cloud.stsFailure = {
      status: 403,
      code: 'AccessDenied',
      message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
    };

    const failure = await setup.credentials.get().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(CredentialsError);
    expect(failure).toMatchObject({ roleArn: TEST_ROLE_ARN, retryable: false });
    expect((failure as Error).message).toBe(
      `STS AssumeRoleWithWebIdentity for ${TEST_ROLE_ARN} failed: AccessDenied: Not authorized to perform ` +
        'sts:AssumeRoleWithWebIdentity (check the role trust: issuer, audience and subject of the identity token)',
    );
  });

  it('marks an STS outage as retryable', async () => {
    using setup = credentialsWithClock();
    cloud.stsFailure = { status: 503, code: 'ServiceUnavailable', message: 'try later' };

    await expect(setup.credentials.get()).rejects.toMatchObject({
      name: 'CredentialsError',
      retryable: true,
    });
  });

  it('keeps using valid credentials while a refresh fails, and fails once they have expired', async () => {
    using setup = credentialsWithClock();
    const valid = await setup.credentials.get();
    cloud.stsFailure = { status: 400, code: 'InvalidIdentityToken', message: 'token expired' };

    setup.advanceTo(START + 58 * MINUTE);
    const during = await setup.credentials.get();
    setup.advanceTo(START + 61 * MINUTE);
    const after = setup.credentials.get();

    expect(during).toBe(valid);
    await expect(after).rejects.toThrow(/InvalidIdentityToken(Exception)?: token expired/);
  });

  it('reports a failed identity token as a retryable credentials error naming the role', async () => {
    using setup = credentialsWithClock(async () => {
      throw new IdentityTokenError(
        'the metadata server refused an identity token: HTTP 404',
        'http://metadata',
      );
    });

    await expect(setup.credentials.get()).rejects.toMatchObject({
      name: 'CredentialsError',
      retryable: true,
      message: `could not get an identity token to assume ${TEST_ROLE_ARN}: IdentityTokenError: the metadata server refused an identity token: HTTP 404`,
    });
    expect(cloud.stsRequests).toHaveLength(0);
  });
});

describe('RefreshingValue', () => {
  it('tries again on the next call after a failed load', async () => {
    let calls = 0;
    const value = new RefreshingValue(async () => {
      calls += 1;
      if (calls === 1) throw new Error('first load fails');
      return { value: calls, expiresAt: Date.now() + 60 * MINUTE };
    });

    await expect(value.get()).rejects.toThrow('first load fails');
    await expect(value.get()).resolves.toBe(2);
    await expect(value.get()).resolves.toBe(2);
  });
});
