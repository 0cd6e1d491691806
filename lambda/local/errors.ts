/** A path given to the local detector that cannot be read: the one condition that stops a scan. */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read ${path}: ${message}`, options);
  }
}

/** A state file that exists but cannot be used; refusing it beats silently forgetting dedupe state. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`state file ${file}: ${message}`, options);
  }
}
