/**
 * A value with an expiry (AWS credentials, an OAuth access token) kept for as long as it is good and
 * refreshed ahead of its expiry. Concurrent callers during a refresh share the one request instead of each
 * asking STS or the metadata server.
 */

export interface Expiring<T> {
  readonly value: T;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface RefreshingValueOptions {
  /** @default Date.now */
  readonly now?: () => number;
  /**
   * How long before expiry the value is refreshed.
   * @default 300000 (5 minutes)
   */
  readonly refreshBeforeMs?: number;
}

export class RefreshingValue<T> {
  readonly #load: () => Promise<Expiring<T>>;
  readonly #now: () => number;
  readonly #refreshBeforeMs: number;
  #current: Expiring<T> | undefined;
  #refreshing: Promise<Expiring<T>> | undefined;

  constructor(load: () => Promise<Expiring<T>>, options: RefreshingValueOptions = {}) {
    this.#load = load;
    this.#now = options.now ?? Date.now;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
  }

  /**
   * The cached value while it is fresh; otherwise the result of one shared refresh. If the refresh fails
   * while the cached value has not yet expired, the cached value is returned (the next call tries again);
   * once it has expired, the refresh's error is thrown.
   */
  async get(): Promise<T> {
    const current = this.#current;
    const now = this.#now();
    if (current !== undefined && now < current.expiresAt - this.#refreshBeforeMs) return current.value;
    if (this.#refreshing === undefined) {
      const refreshing = this.#load().then((loaded) => {
        this.#current = loaded;
        return loaded;
      });
      this.#refreshing = refreshing;
      // Cleared whether it succeeds or fails, so the next caller after a failure tries again.
      refreshing.then(
        () => this.#clear(refreshing),
        () => this.#clear(refreshing),
      );
    }
    try {
      return (await this.#refreshing).value;
    } catch (error) {
      if (current !== undefined && this.#now() < current.expiresAt) return current.value;
      throw error;
    }
  }

  #clear(refreshing: Promise<Expiring<T>>): void {
    if (this.#refreshing === refreshing) this.#refreshing = undefined;
  }
}
