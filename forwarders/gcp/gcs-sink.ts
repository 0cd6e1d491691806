/**
 * The GCP oversize store: one object per record in a bucket, written with the function's service account
 * (role `roles/storage.objectCreator` on the bucket) through the Cloud Storage JSON API's simple upload, so
 * the bundle needs no storage SDK.
 */
import { OversizeStoreError } from '../core/errors';
import { bodySnippet, type FetchLike } from '../core/http';
import { type OversizeItem, type OversizeSink, oversizeObjectName } from '../core/oversize';

export interface GcsOversizeSinkOptions {
  /** `OVERSIZE_BUCKET`. */
  readonly bucket: string;
  /** An OAuth access token of the service account. */
  readonly token: () => Promise<string>;
  /** @default 'https://storage.googleapis.com' */
  readonly baseUrl?: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

export class GcsOversizeSink implements OversizeSink {
  readonly #options: GcsOversizeSinkOptions;

  constructor(options: GcsOversizeSinkOptions) {
    this.#options = options;
  }

  async store(item: OversizeItem): Promise<string> {
    const name = oversizeObjectName(item);
    const base = (this.#options.baseUrl ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
    // ifGenerationMatch=0: create only; content-addressed, so an existing object already holds these bytes.
    const query = new URLSearchParams({ uploadType: 'media', name, ifGenerationMatch: '0' });
    const url = `${base}/upload/storage/v1/b/${encodeURIComponent(this.#options.bucket)}/o?${query}`;
    const location = `gs://${this.#options.bucket}/${name}`;
    const fetch = this.#options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${await this.#options.token()}`,
          'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        },
        body: item.data,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new OversizeStoreError(
        `could not reach Cloud Storage for ${location}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (response.ok || response.status === 412) {
      await response.body?.cancel();
      return location;
    }
    throw new OversizeStoreError(
      `upload of ${location} failed: HTTP ${response.status} ${await bodySnippet(response)}`,
    );
  }
}
