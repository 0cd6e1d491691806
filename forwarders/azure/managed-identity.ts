/**
 * Tokens of the function app's managed identity. On App Service and Azure Functions the platform sets
 * `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` and serves tokens there (API version 2019-08-01); elsewhere
 * (a VM, a container instance) the Instance Metadata Service at 169.254.169.254 does. The token's audience
 * is the `resource` asked for: for AWS, the application ID URI the forwarder role trusts; for the oversize
 * store, `https://storage.azure.com/`.
 */
import { IdentityTokenError } from '../core/errors';
import { bodySnippet, type FetchLike, jwtExpiry, METADATA_TIMEOUT_MS, withoutQuery } from '../core/http';
import type { Expiring } from '../core/refreshing';

export interface ManagedIdentityOptions {
  /** `IDENTITY_ENDPOINT`, set by App Service / Functions. */
  readonly identityEndpoint?: string;
  /** `IDENTITY_HEADER`, set with it: proves the caller runs inside the app. */
  readonly identityHeader?: string;
  /** The client id of a user-assigned identity (`AZURE_CLIENT_ID`); the system-assigned one otherwise. */
  readonly clientId?: string;
  /** @default 'http://169.254.169.254' */
  readonly imdsBaseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

interface TokenResponse {
  access_token?: unknown;
  expires_on?: unknown;
  expires_in?: unknown;
}

/** Fetches a token for `resource` (its `aud`) from the identity endpoint, or IMDS when there is none. */
export async function managedIdentityToken(
  resource: string,
  options: ManagedIdentityOptions = {},
): Promise<Expiring<string>> {
  const fetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const query = new URLSearchParams({ resource });
  if (options.clientId !== undefined) query.set('client_id', options.clientId);
  let url: string;
  let headers: Record<string, string>;
  let which: string;
  if (options.identityEndpoint !== undefined && options.identityHeader !== undefined) {
    query.set('api-version', '2019-08-01');
    url = `${options.identityEndpoint}?${query}`;
    headers = { 'X-IDENTITY-HEADER': options.identityHeader };
    which = 'the App Service identity endpoint (IDENTITY_ENDPOINT)';
  } else {
    query.set('api-version', '2018-02-01');
    url = `${(options.imdsBaseUrl ?? 'http://169.254.169.254').replace(/\/+$/, '')}/metadata/identity/oauth2/token?${query}`;
    headers = { Metadata: 'true' };
    which = 'the Instance Metadata Service';
  }
  const endpoint = withoutQuery(url);

  let response: Response;
  try {
    response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? METADATA_TIMEOUT_MS),
    });
  } catch (error) {
    throw new IdentityTokenError(
      `could not reach ${which} at ${endpoint} for a managed identity token: ${(error as Error).message}`,
      endpoint,
      { cause: error },
    );
  }
  if (!response.ok) {
    throw new IdentityTokenError(
      `${which} refused a managed identity token for "${resource}": HTTP ${response.status} ${await bodySnippet(response)}` +
        ' (is a managed identity assigned to the app, and AZURE_CLIENT_ID right if it is user-assigned?)',
      endpoint,
      { status: response.status },
    );
  }
  let body: TokenResponse;
  try {
    body = (await response.json()) as TokenResponse;
  } catch (error) {
    throw new IdentityTokenError(`${which} answered with a body that is not JSON`, endpoint, {
      cause: error,
    });
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new IdentityTokenError(`${which} answered without an access_token`, endpoint);
  }
  return { value: body.access_token, expiresAt: expiry(body, body.access_token, now()) };
}

/** `expires_on` (epoch seconds, as a string or number), else `expires_in`, else the JWT's `exp`, else 1 h. */
function expiry(body: TokenResponse, token: string, now: number): number {
  const on = Number(body.expires_on);
  if (typeof body.expires_on !== 'undefined' && Number.isFinite(on) && on > 0) return on * 1000;
  const inSeconds = Number(body.expires_in);
  if (typeof body.expires_in !== 'undefined' && Number.isFinite(inSeconds) && inSeconds > 0) {
    return now + inSeconds * 1000;
  }
  return jwtExpiry(token) ?? now + 3_600_000;
}
