/**
 * Jittered exponential backoff. "Equal jitter": half of the exponential step is waited for sure, the other
 * half at random, so retries of many forwarder instances throttled at the same moment spread out but none
 * comes back at once to a shard that just said it was over its limit.
 */

export interface BackoffOptions {
  /** The first retry's step. @default 100 */
  readonly baseMs?: number;
  /** The largest step. @default 5000 */
  readonly maxMs?: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry).
 *
 * @param random a number in [0, 1), `Math.random` unless a test injects one.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 5000;
  const step = Math.min(max, base * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** `setTimeout` as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
