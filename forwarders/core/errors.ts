/**
 * Errors of the forwarders. Each carries what an operator needs to act without reading code: the
 * environment variable at fault, the role that could not be assumed, the records that were not delivered.
 * The platform adapters let `UndeliveredRecordsError` escape the function on purpose: that failure is what
 * makes Event Hubs (with the function's retry policy) and Pub/Sub (with retries on) deliver the batch again.
 */

/** One problem with one environment variable. */
export interface ConfigurationProblem {
  readonly variable: string;
  readonly problem: string;
}

/**
 * Thrown at cold start when the environment is incomplete or malformed. Lists every problem at once, so a
 * deployment is fixed in one round rather than one variable per failed start.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  readonly problems: readonly ConfigurationProblem[];
  /** The first variable at fault, for callers that report one. */
  readonly variable: string;

  constructor(problems: readonly ConfigurationProblem[]) {
    const lines = problems.map(({ variable, problem }) => `  - ${variable}: ${problem}`);
    super(`forwarder configuration is invalid:\n${lines.join('\n')}`);
    this.problems = problems;
    this.variable = problems[0]?.variable ?? '';
  }
}

/** The platform would not give us an identity token (managed identity endpoint, metadata server). */
export class IdentityTokenError extends Error {
  override readonly name = 'IdentityTokenError';
  /** Where the token was asked for, without query parameters. */
  readonly endpoint: string;
  /** HTTP status, when the endpoint answered. */
  readonly status?: number;

  constructor(message: string, endpoint: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.endpoint = endpoint;
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * AWS credentials could not be obtained: the identity token could not be fetched, or STS refused to
 * exchange it for the role. `retryable` says whether trying again soon may help (throttling, 5xx,
 * network) or whether configuration must change (AccessDenied, InvalidIdentityToken).
 */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  readonly roleArn: string;
  readonly retryable: boolean;

  constructor(message: string, roleArn: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.roleArn = roleArn;
    this.retryable = retryable;
  }
}

/** A record that left the forwarder neither in the stream nor in the oversize store. */
export interface UndeliveredRecord {
  /** Where it came from (`partition 3 sequence 1234 record 2`, `message 98765`). */
  readonly origin: string;
  readonly reason: string;
}

/**
 * Thrown from the function after everything that could be delivered was: failing the invocation is how the
 * platform learns to deliver the batch again. Records already in the stream are sent again with it; the
 * detector dedupes by event id, so that resend is safe.
 */
export class UndeliveredRecordsError extends Error {
  override readonly name = 'UndeliveredRecordsError';
  readonly undelivered: readonly UndeliveredRecord[];
  /** How many records of the batch did reach the stream or the oversize store. */
  readonly delivered: number;

  constructor(undelivered: readonly UndeliveredRecord[], delivered: number) {
    const shown = undelivered.slice(0, 5).map(({ origin, reason }) => `${origin}: ${reason}`);
    const more = undelivered.length > shown.length ? `; and ${undelivered.length - shown.length} more` : '';
    super(
      `${undelivered.length} of ${undelivered.length + delivered} records were not delivered ` +
        `(the batch will be redelivered): ${shown.join('; ')}${more}`,
    );
    this.undelivered = undelivered;
    this.delivered = delivered;
  }
}

/** The oversize store refused a record; the record counts as undelivered. */
export class OversizeStoreError extends Error {
  override readonly name = 'OversizeStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `error.message` for anything thrown, without assuming it is an `Error`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.name && error.name !== 'Error' && !error.message.startsWith(error.name)
      ? `${error.name}: ${error.message}`
      : error.message;
  }
  return String(error);
}
