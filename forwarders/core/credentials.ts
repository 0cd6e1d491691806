/**
 * AWS credentials from the platform's own identity, without a long-lived key: the function's identity token
 * (an Azure managed identity token, a Google-signed ID token) is exchanged for the forwarder role with
 * `AssumeRoleWithWebIdentity`. That STS call needs no AWS credentials (the SDK sends it unsigned), so no
 * secret exists anywhere. Credentials are cached and refreshed 5 minutes before they expire.
 */
import {
  AssumeRoleWithWebIdentityCommand,
  type AssumeRoleWithWebIdentityCommandOutput,
} from '@aws-sdk/client-sts';
import { classifyCallError } from './deliver';
import { CredentialsError, describeError } from './errors';
import { RefreshingValue } from './refreshing';

/** Structurally the SDK's `AwsCredentialIdentity`, so it can be the Kinesis client's `credentials`. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** The one STS call we make; an `STSClient` is one. */
export interface AssumeRoleClient {
  send(command: AssumeRoleWithWebIdentityCommand): Promise<AssumeRoleWithWebIdentityCommandOutput>;
}

export interface WebIdentityCredentialsOptions {
  readonly roleArn: string;
  /** Appears in CloudTrail as the session name of every call the forwarder makes. */
  readonly roleSessionName: string;
  /** A fresh identity token for the audience the role trusts. */
  readonly webIdentityToken: () => Promise<string>;
  readonly sts: AssumeRoleClient;
  /**
   * The session length asked for; the forwarder role allows at most one hour.
   * @default 3600
   */
  readonly durationSeconds?: number;
  readonly now?: () => number;
  /** @default 300000 (5 minutes) */
  readonly refreshBeforeMs?: number;
}

/** STS errors that say the token or the trust is wrong: retrying will not help until configuration changes. */
const PERMANENT_STS_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidIdentityToken',
  'InvalidIdentityTokenException',
  'MalformedPolicyDocument',
  'PackedPolicyTooLarge',
  'RegionDisabledException',
  'ValidationError',
]);

export class WebIdentityCredentials {
  readonly #options: WebIdentityCredentialsOptions;
  readonly #cache: RefreshingValue<AwsCredentials>;

  constructor(options: WebIdentityCredentialsOptions) {
    this.#options = options;
    this.#cache = new RefreshingValue(() => this.#assumeRole(), {
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.refreshBeforeMs === undefined ? {} : { refreshBeforeMs: options.refreshBeforeMs }),
    });
  }

  /** Credentials good for at least `refreshBeforeMs` more (or, if STS is failing, until they expire). */
  get(): Promise<AwsCredentials> {
    return this.#cache.get();
  }

  /** A credential provider for an SDK client's `credentials` option. */
  readonly provider = (): Promise<AwsCredentials> => this.get();

  async #assumeRole(): Promise<{ value: AwsCredentials; expiresAt: number }> {
    const { roleArn } = this.#options;
    let token: string;
    try {
      token = await this.#options.webIdentityToken();
    } catch (error) {
      throw new CredentialsError(
        `could not get an identity token to assume ${roleArn}: ${describeError(error)}`,
        roleArn,
        true,
        { cause: error },
      );
    }
    let output: AssumeRoleWithWebIdentityCommandOutput;
    try {
      output = await this.#options.sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleArn,
          RoleSessionName: this.#options.roleSessionName,
          WebIdentityToken: token,
          DurationSeconds: this.#options.durationSeconds ?? 3600,
        }),
      );
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const retryable = !PERMANENT_STS_ERRORS.has(name) && classifyCallError(error).retryable;
      throw new CredentialsError(
        `STS AssumeRoleWithWebIdentity for ${roleArn} failed: ${describeError(error)}` +
          (retryable ? '' : ' (check the role trust: issuer, audience and subject of the identity token)'),
        roleArn,
        retryable,
        { cause: error },
      );
    }
    const credentials = output.Credentials;
    if (
      !credentials?.AccessKeyId ||
      !credentials.SecretAccessKey ||
      !credentials.SessionToken ||
      !(credentials.Expiration instanceof Date)
    ) {
      throw new CredentialsError(`STS answered without complete credentials for ${roleArn}`, roleArn, true);
    }
    return {
      value: {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
        expiration: credentials.Expiration,
      },
      expiresAt: credentials.Expiration.getTime(),
    };
  }
}
