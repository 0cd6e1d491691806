/**
 * The little HTTP the forwarders do themselves (identity tokens, oversize uploads), through an injectable
 * `fetch` so tests point it at servers on 127.0.0.1.
 */

/** The subset of the global `fetch` we use. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** Default timeout of a metadata/identity request: those endpoints are local and answer fast or not at all. */
export const METADATA_TIMEOUT_MS = 5_000;

/** A URL without its query string, safe to log (queries may carry nothing secret, but keep logs short). */
export function withoutQuery(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

/** The start of a response body for an error message; identity endpoints answer errors in a few bytes. */
export async function bodySnippet(response: Response, max = 300): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim();
    return text.length > max ? `${text.slice(0, max)}…` : text;
  } catch {
    return '';
  }
}

/** The `exp` claim of a JWT, in epoch milliseconds; undefined when the token is not a readable JWT. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
