/**
 * Memoizes an asynchronous load: the first call starts it, concurrent and later calls share its promise.
 * A failed load is forgotten, so the next call tries again instead of failing forever. What the handlers
 * load once per container — rules, AWS SDK packages, clients — goes through it.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
