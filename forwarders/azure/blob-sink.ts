/**
 * The Azure oversize store: a block blob per record in a container, written with the function's managed
 * identity (role "Storage Blob Data Contributor" on the container), through the Blob REST API so the
 * bundle needs no storage SDK.
 */
import { OversizeStoreError } from '../core/errors';
import { bodySnippet, type FetchLike } from '../core/http';
import { type OversizeItem, type OversizeSink, oversizeObjectName } from '../core/oversize';

export interface BlobOversizeSinkOptions {
  /** `https://<account>.blob.core.windows.net/<container>` (`OVERSIZE_CONTAINER_URL`). */
  readonly containerUrl: string;
  /** A bearer token for `https://storage.azure.com/`. */
  readonly token: () => Promise<string>;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

/** The Blob service version whose semantics we rely on (OAuth, single Put Blob up to 5000 MiB). */
const BLOB_API_VERSION = '2021-12-02';

export class BlobOversizeSink implements OversizeSink {
  readonly #options: BlobOversizeSinkOptions;

  constructor(options: BlobOversizeSinkOptions) {
    this.#options = options;
  }

  async store(item: OversizeItem): Promise<string> {
    const name = oversizeObjectName(item);
    const url = `${this.#options.containerUrl.replace(/\/+$/, '')}/${name}`;
    const fetch = this.#options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${await this.#options.token()}`,
          'x-ms-version': BLOB_API_VERSION,
          'x-ms-date': new Date().toUTCString(),
          'x-ms-blob-type': 'BlockBlob',
          'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          // Content-addressed: an existing blob already holds these bytes.
          'If-None-Match': '*',
          'x-ms-meta-origin': encodeURIComponent(item.origin),
        },
        body: item.data,
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new OversizeStoreError(`could not reach ${url}: ${(error as Error).message}`, { cause: error });
    }
    // 409 BlobAlreadyExists: the same content was stored by an earlier delivery of the batch.
    if (response.status === 201 || response.status === 409 || response.status === 412) {
      await response.body?.cancel();
      return url;
    }
    throw new OversizeStoreError(
      `Put Blob ${url} failed: HTTP ${response.status} ${await bodySnippet(response)}`,
    );
  }
}
