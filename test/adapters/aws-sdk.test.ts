import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsSdk, lazyClient } from '../../lambda/adapters/aws-sdk';
import { once } from '../../lambda/engine/once';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A stand-in for an SDK client: counts how many were built and what each was sent. */
class CountingClient {
  static built = 0;
  readonly sent: unknown[] = [];

  constructor() {
    CountingClient.built += 1;
  }

  async send(command: unknown): Promise<{ echo: unknown }> {
    this.sent.push(command);
    return { echo: command };
  }
}

describe('once', () => {
  it('runs the load once for concurrent and later callers, and shares its result', async () => {
    const load = vi.fn(async () => ({ loaded: true }));
    const get = once(load);

    const [first, second] = await Promise.all([get(), get()]);
    const third = await get();

    expect(load).toHaveBeenCalledTimes(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('forgets a failed load, so the next call tries again', async () => {
    const load = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('no network'));
    load.mockResolvedValueOnce('loaded');
    const get = once(load);

    await expect(get()).rejects.toThrow('no network');
    await expect(get()).resolves.toBe('loaded');

    expect(load).toHaveBeenCalledTimes(2);
  });
});

describe('lazyClient', () => {
  it('creates nothing until the first send', () => {
    const create = vi.fn(async () => new CountingClient());

    lazyClient(create);

    expect(create).not.toHaveBeenCalled();
  });

  it('creates one client for concurrent first sends and sends each command through it', async () => {
    CountingClient.built = 0;
    const lazy = lazyClient(async () => new CountingClient());

    const answers = await Promise.all([lazy.send('a'), lazy.send('b'), lazy.send('c')]);
    const client = await lazy.client();

    expect(CountingClient.built).toBe(1);
    expect(answers).toEqual([{ echo: 'a' }, { echo: 'b' }, { echo: 'c' }]);
    expect(client.sent).toEqual(['a', 'b', 'c']);
    expect(await lazy.client()).toBe(client);
  });

  it('passes a failed creation to the caller and retries it on the next send', async () => {
    const create = vi
      .fn<() => Promise<CountingClient>>()
      .mockRejectedValueOnce(new Error('package missing'))
      .mockImplementation(async () => new CountingClient());
    const lazy = lazyClient(create);

    await expect(lazy.send('a')).rejects.toThrow('package missing');
    await expect(lazy.send('b')).resolves.toEqual({ echo: 'b' });

    expect(create).toHaveBeenCalledTimes(2);
  });
});

describe('awsSdk', () => {
  it('imports each package once and hands out the module the adapters build commands from', async () => {
    const [first, second] = await Promise.all([awsSdk.s3(), awsSdk.s3()]);

    expect(second).toBe(first);
    expect(first.S3Client).toBe(S3Client);
  });
});
