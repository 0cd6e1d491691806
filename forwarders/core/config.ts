/**
 * Configuration from the environment, read once at cold start and validated before anything runs, so that
 * a typo fails the deployment's first invocation with the variable's name and what is wrong with it, rather
 * than surfacing as an SDK error on every batch. All problems are reported together.
 */
import { ConfigurationError, type ConfigurationProblem } from './errors';

export type Environment = Readonly<Record<string, string | undefined>>;

/** What both forwarders need. */
export interface ForwarderConfig {
  /** `KINESIS_STREAM_NAME`: the detector stack's `AzureActivityStreamName` / `GcpAuditStreamName` output. */
  readonly streamName: string;
  /** `AWS_REGION`: the region of the detector stack (and so of the stream). */
  readonly region: string;
  /** `AWS_ROLE_ARN`: the stack's `AzureForwarderRoleArn` / `GcpForwarderRoleArn` output. */
  readonly roleArn: string;
  /** `TOKEN_AUDIENCE`: the audience of the identity token, as pinned in the role's trust. */
  readonly tokenAudience: string;
  /** `KINESIS_ENDPOINT`: another Kinesis endpoint (tests, VPC endpoints). */
  readonly kinesisEndpoint?: string;
  /** `STS_ENDPOINT`: another STS endpoint (tests, VPC endpoints). Default: the regional endpoint. */
  readonly stsEndpoint?: string;
  /** `DELIVERY_BUDGET_MS`: how long one invocation may retry, default 30 s. */
  readonly deliveryBudgetMs: number;
}

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** What may stand in the role trust's condition value (see lib/settings.ts). */
const AUDIENCE = /^[^\s*?"\\]{1,255}$/;

/** Collects problems while reading variables, then throws them all at once. */
export class EnvironmentReader {
  readonly #env: Environment;
  readonly #problems: ConfigurationProblem[] = [];

  constructor(env: Environment) {
    this.#env = env;
  }

  /** A required variable that must match `shape`; `hint` says what a good value looks like. */
  required(variable: string, shape: RegExp, hint: string): string {
    const value = this.optional(variable, shape, hint);
    if (value === undefined && !this.#problems.some((problem) => problem.variable === variable)) {
      this.problem(variable, `is not set: ${hint}`);
    }
    return value ?? '';
  }

  /** An optional variable; empty counts as unset. */
  optional(variable: string, shape: RegExp, hint: string): string | undefined {
    const raw = this.#env[variable];
    if (raw === undefined || raw.trim() === '') return undefined;
    const value = raw.trim();
    if (!shape.test(value)) {
      this.problem(variable, `"${truncate(value)}" is not valid: ${hint}`);
      return undefined;
    }
    return value;
  }

  /**
   * An optional http(s) URL without credentials in it. Unless `anyHost`, it must be https or loopback:
   * these endpoints receive identity tokens, session tokens and signed requests.
   */
  optionalUrl(variable: string, hint: string, options: { anyHost?: boolean } = {}): string | undefined {
    const value = this.optional(variable, /^\S+$/, hint);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problem(variable, `"${truncate(value)}" is not a URL: ${hint}`);
      return undefined;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
      this.problem(variable, `"${truncate(value)}" must be an http(s) URL without user or password: ${hint}`);
      return undefined;
    }
    if (options.anyHost !== true && !isHttpsOrLoopback(value)) {
      this.problem(
        variable,
        `"${truncate(value)}" must be https (or http to 127.0.0.1 / localhost): ${hint}`,
      );
      return undefined;
    }
    return value.replace(/\/+$/, '');
  }

  /** An optional whole number within bounds. */
  optionalInteger(variable: string, min: number, max: number, fallback: number): number {
    const value = this.optional(variable, /^\d+$/, `a whole number from ${min} to ${max}`);
    if (value === undefined) return fallback;
    const number = Number(value);
    if (number < min || number > max) {
      this.problem(variable, `${number} is out of range: a whole number from ${min} to ${max}`);
      return fallback;
    }
    return number;
  }

  problem(variable: string, problem: string): void {
    this.#problems.push({ variable, problem });
  }

  /** @throws {ConfigurationError} listing every problem found so far. */
  done(): void {
    if (this.#problems.length > 0) throw new ConfigurationError(this.#problems);
  }
}

/** Reads the variables both forwarders share; call `reader.done()` after reading the platform's own. */
export function readForwarderConfig(
  reader: EnvironmentReader,
  outputs: { readonly streamOutput: string; readonly roleOutput: string },
): ForwarderConfig {
  const streamName = reader.required(
    'KINESIS_STREAM_NAME',
    STREAM_NAME,
    `the stream name (1-128 of a-z A-Z 0-9 _ . -), the detector stack's ${outputs.streamOutput} output`,
  );
  const region = reader.required(
    'AWS_REGION',
    REGION,
    'the AWS region of the detector stack, like us-east-1 or eu-west-3',
  );
  const roleArn = reader.required(
    'AWS_ROLE_ARN',
    ROLE_ARN,
    `an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>), the detector stack's ${outputs.roleOutput} output`,
  );
  const tokenAudience = reader.required(
    'TOKEN_AUDIENCE',
    AUDIENCE,
    'the identity token audience the forwarder role trusts (no spaces, quotes or wildcards)',
  );
  const kinesisEndpoint = reader.optionalUrl(
    'KINESIS_ENDPOINT',
    'a Kinesis endpoint URL; leave unset in production',
  );
  const stsEndpoint = reader.optionalUrl('STS_ENDPOINT', 'an STS endpoint URL; leave unset in production');
  const deliveryBudgetMs = reader.optionalInteger('DELIVERY_BUDGET_MS', 1_000, 600_000, 30_000);
  return {
    streamName,
    region,
    roleArn,
    tokenAudience,
    ...(kinesisEndpoint === undefined ? {} : { kinesisEndpoint }),
    ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
    deliveryBudgetMs,
  };
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** https, or http to this machine (platform identity endpoints, test servers): where a bearer token may go. */
export function isHttpsOrLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return (
    protocol === 'https:' || hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]'
  );
}
