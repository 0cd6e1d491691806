/**
 * The environment, read once at module scope. A missing variable is a deployment bug: failing the cold
 * start with its name is clearer than an `undefined` table name surfacing as an SDK error per record.
 */

/** Thrown at module load when the stack did not set a variable the handler needs. */
export class MissingEnvironmentError extends Error {
  override readonly name = 'MissingEnvironmentError';
  readonly variable: string;

  constructor(variable: string) {
    super(`environment variable ${variable} is not set`);
    this.variable = variable;
  }
}

/** The value of `name`; throws `MissingEnvironmentError` naming it when unset or empty. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new MissingEnvironmentError(name);
  return value;
}

/** The value of `name`, or `fallback` when unset or empty. */
export function envOr(name: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value;
}

/** Thrown at module load when a variable holds a value the handler does not accept. */
export class InvalidEnvironmentError extends Error {
  override readonly name = 'InvalidEnvironmentError';
  readonly variable: string;

  constructor(variable: string, expected: string) {
    super(`environment variable ${variable} must be ${expected}`);
    this.variable = variable;
  }
}

/** `on` → true, `off` → false, unset or empty → `fallback`; anything else throws naming the variable. */
export function envSwitch(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = envOr(name, fallback ? 'on' : 'off', env).trim();
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new InvalidEnvironmentError(name, '"on" or "off"');
}
