/**
 * Tokens from the GCP metadata server, as the function's service account: a Google-signed ID token for the
 * audience the AWS role trusts (`format=full` so it carries the account's claims), and an OAuth access
 * token for Cloud Storage (the oversize bucket). Every answer must carry `Metadata-Flavor: Google`, so a
 * stray server on the metadata address cannot hand us a token.
 */
import { IdentityTokenError } from '../core/errors';
import { bodySnippet, type FetchLike, jwtExpiry, METADATA_TIMEOUT_MS, withoutQuery } from '../core/http';
import type { Expiring } from '../core/refreshing';

export const DEFAULT_METADATA_BASE_URL = 'http://metadata.google.internal';
const SERVICE_ACCOUNT_PATH = '/computeMetadata/v1/instance/service-accounts/default';

export interface MetadataOptions {
  /** @default 'http://metadata.google.internal' (or `http://$GCE_METADATA_HOST`, see config) */
  readonly baseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** An ID token for `audience`, signed by Google for the function's service account. */
export async function metadataIdentityToken(
  audience: string,
  options: MetadataOptions = {},
): Promise<Expiring<string>> {
  const query = new URLSearchParams({ audience, format: 'full' });
  const response = await metadataGet(
    `${SERVICE_ACCOUNT_PATH}/identity?${query}`,
    'an identity token',
    options,
  );
  const token = (await response.text()).trim();
  if (token.split('.').length !== 3) {
    throw new IdentityTokenError(
      'the metadata server answered something that is not a JWT for the identity token',
      endpoint(options),
    );
  }
  const now = (options.now ?? Date.now)();
  return { value: token, expiresAt: jwtExpiry(token) ?? now + 3_600_000 };
}

/** An OAuth access token of the service account (for the Cloud Storage JSON API). */
export async function metadataAccessToken(options: MetadataOptions = {}): Promise<Expiring<string>> {
  const response = await metadataGet(`${SERVICE_ACCOUNT_PATH}/token`, 'an access token', options);
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new IdentityTokenError('the metadata server answered a token that is not JSON', endpoint(options), {
      cause: error,
    });
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new IdentityTokenError('the metadata server answered without an access_token', endpoint(options));
  }
  const now = (options.now ?? Date.now)();
  const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
  return { value: body.access_token, expiresAt: now + seconds * 1000 };
}

function endpoint(options: MetadataOptions): string {
  return (options.baseUrl ?? DEFAULT_METADATA_BASE_URL).replace(/\/+$/, '');
}

async function metadataGet(pathAndQuery: string, what: string, options: MetadataOptions): Promise<Response> {
  const fetch = options.fetch ?? globalThis.fetch;
  const url = `${endpoint(options)}${pathAndQuery}`;
  const where = withoutQuery(url);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(options.timeoutMs ?? METADATA_TIMEOUT_MS),
    });
  } catch (error) {
    throw new IdentityTokenError(
      `could not reach the metadata server at ${where} for ${what}: ${(error as Error).message}`,
      where,
      { cause: error },
    );
  }
  if (!response.ok) {
    throw new IdentityTokenError(
      `the metadata server refused ${what}: HTTP ${response.status} ${await bodySnippet(response)}`,
      where,
      { status: response.status },
    );
  }
  if (response.headers.get('metadata-flavor') !== 'Google') {
    await response.body?.cancel();
    throw new IdentityTokenError(
      `the answer from ${where} lacks "Metadata-Flavor: Google": not the metadata server`,
      where,
      { status: response.status },
    );
  }
  return response;
}
