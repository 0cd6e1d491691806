import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** How long a secret value is reused before it is read again: rotation takes effect within this time. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60 * 1000;

/**
 * A secret could not be read. The message names the secret by its id (an ARN is not secret) and
 * never carries the value; the SDK error kept as `cause` describes the call, not the value.
 */
export class SecretReadError extends Error {
  override readonly name = 'SecretReadError';
  constructor(
    message: string,
    readonly secretId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The part of the Secrets Manager client this module uses; tests replace `send`. */
export type SecretsSender = Pick<SecretsManagerClient, 'send'>;

/** A string secret, cached in memory, that callers can force to be read again. */
export interface SecretSource {
  get(): Promise<string>;
  /** Reads the secret again now, e.g. after the service that uses it rejected the cached value. */
  refresh(): Promise<string>;
}

/**
 * Reads a string secret and keeps it in memory for `ttlMs`, so a warm Lambda does not call Secrets
 * Manager per message, and a rotated secret is picked up within the TTL (or at once via `refresh`).
 * Concurrent callers share one in-flight read.
 */
export class CachedSecret implements SecretSource {
  private cached: { value: string; readAt: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly client: SecretsSender,
    private readonly secretId: string,
    private readonly options: { ttlMs?: number; now?: () => number } = {},
  ) {}

  async get(): Promise<string> {
    const now = this.now();
    if (this.cached && now - this.cached.readAt < (this.options.ttlMs ?? DEFAULT_SECRET_TTL_MS)) {
      return this.cached.value;
    }
    return this.read();
  }

  async refresh(): Promise<string> {
    this.cached = undefined;
    return this.read();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private read(): Promise<string> {
    this.inFlight ??= this.readOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async readOnce(): Promise<string> {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await this.client.send(
        new GetSecretValueCommand({ SecretId: this.secretId }),
      ));
    } catch (error) {
      throw new SecretReadError(`reading secret ${this.secretId} failed`, this.secretId, { cause: error });
    }
    if (secretString === undefined || secretString.trim() === '') {
      throw new SecretReadError(`secret ${this.secretId} has no string value`, this.secretId);
    }
    this.cached = { value: secretString, readAt: this.now() };
    return secretString;
  }
}
