/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`) and validated before any
 * construct is built, so that a typo fails `cdk synth` with the name of the setting instead of deploying a
 * detector that silently alerts nobody. Values given with `-c` arrive as strings; the same keys in
 * `cdk.json` arrive as JSON: both are accepted.
 */
import type { Node } from 'constructs';

/** Trust for the Azure forwarder: tokens issued by Microsoft Entra ID for one identity of one tenant. */
export interface AzureFederationSettings {
  /** The Entra ID tenant (directory) id, a GUID. */
  readonly tenantId: string;
  /** The `aud` claim the forwarder's tokens carry (the application ID URI or client id it requests). */
  readonly audience: string;
  /** The `sub` claim: the object id of the forwarder's managed identity or service principal. */
  readonly subject: string;
  /**
   * Which issuer the tokens name: `v1` is `https://sts.windows.net/<tenantId>/` (what managed identities
   * get by default), `v2` is `https://login.microsoftonline.com/<tenantId>/v2.0`.
   * @default 'v1'
   */
  readonly issuer?: 'v1' | 'v2';
}

/** Trust for the GCP forwarder: Google-signed ID tokens of one service account. */
export interface GcpFederationSettings {
  /** The `aud` claim the forwarder requests for its ID token. */
  readonly audience: string;
  /** The `sub` claim: the service account's unique (numeric) id, not its e-mail. */
  readonly subject: string;
}

/**
 * Where an existing CloudTrail trail delivers its log files, so the sweep can query them through a Glue
 * table with partition projection. The stack never creates or changes the trail or its bucket.
 */
export interface CloudTrailLogsSettings {
  /** The trail's S3 bucket name. */
  readonly bucket: string;
  /** The trail's S3 key prefix, empty or ending in `/`. */
  readonly prefix: string;
  /** For an organization trail: the organization id in its keys (`AWSLogs/o-…/<account>/…`). */
  readonly organizationId?: string;
  /** Accounts whose logs are swept; absent means the account the stack is deployed to. */
  readonly accounts?: readonly string[];
  /** Regions whose logs are swept; absent means us-east-1 (where IAM is logged) and the home region. */
  readonly regions?: readonly string[];
  /** The KMS key the trail encrypts its files with (SSE-KMS), when it has one. */
  readonly kmsKeyArn?: string;
  /** The first day of logs Athena should know about (`YYYY-MM-DD`): the start of the date projection. */
  readonly startDate: string;
}

/** Everything `bin/app.ts` needs to build the stacks. */
export interface DetectorSettings {
  /** The account to deploy to, when known at synth; otherwise the stacks are account-agnostic. */
  readonly account?: string;
  /** The region of the main stack. */
  readonly homeRegion: string;
  readonly alertEmails: readonly string[];
  readonly opsEmails: readonly string[];
  readonly slackWebhookSecretArn?: string;
  readonly organizationId?: string;
  readonly azureFederation?: AzureFederationSettings;
  readonly gcpFederation?: GcpFederationSettings;
  /** The trail's log files, for the CloudTrail sweep; absent means no CloudTrail table and no CloudTrail sweep. */
  readonly cloudTrailLogs?: CloudTrailLogsSettings;
  /** How far behind now the sweep stays (`SWEEP_LAG_MINUTES`), for CloudTrail and Firehose delivery delay. */
  readonly sweepLagMinutes: number;
  /** The Athena workgroup's per-query scan limit, in GiB. */
  readonly athenaBytesScannedCutoffGiB: number;
  /**
   * Skip Kinesis payloads that hold none of the rules' literals without parsing them (`LITERAL_PREFILTER`).
   * Off by default: a payload that would not parse but holds no literal is then skipped, not dead-lettered.
   */
  readonly literalPrefilter: boolean;
  /** False replaces the Lambda bundles by inline stubs: a quick synth that checks only the infrastructure. */
  readonly bundling: boolean;
}

/** A setting is missing or malformed; the message names the context key and how to set it. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  /** The context key at fault. */
  readonly key: string;

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`Context setting "${key}": ${message}`, options);
    this.key = key;
  }
}

/** The context keys this app reads, documented in README.md ("Settings"). */
export const SETTING_KEYS = [
  'account',
  'homeRegion',
  'alertEmails',
  'opsEmails',
  'slackWebhookSecretArn',
  'organizationId',
  'azureFederation',
  'gcpFederation',
  'cloudTrailLogs',
  'sweepLagMinutes',
  'athenaBytesScannedCutoffGiB',
  'literalPrefilter',
  'bundling',
] as const;

/** Defaults of the sweep settings (documented in README.md, "Settings"). */
export const SWEEP_SETTING_DEFAULTS = {
  /** The handler's own default (`SWEEP_LAG_MINUTES`); at least the lake's 5-minute Firehose buffer. */
  sweepLagMinutes: 15,
  /** 10 GiB: about USD 0.05 of scanning at most per query. */
  athenaBytesScannedCutoffGiB: 10,
  /** The first day the CloudTrail table's date projection covers. */
  trailStartDate: '2025-01-01',
} as const;

/** The Firehose buffer interval of the lake is 5 minutes: a smaller lag would sweep hours not yet delivered. */
const MIN_SWEEP_LAG_MINUTES = 5;
/** Whole GiB keep the setting readable (Athena's own floor is 10 MB); above 1 PiB it is a typo, not a limit. */
const MAX_CUTOFF_GIB = 1024 * 1024;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT = /^\d{12}$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const GCP_UNIQUE_ID = /^\d{10,30}$/;
/** What may stand in an IAM condition value without turning into a wildcard or breaking the policy. */
const CLAIM = /^[^\s*?"\\]{1,255}$/;
const BUCKET = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** What may stand in an object key prefix that also goes into IAM resource ARNs and a Glue location template. */
const KEY_PREFIX = /^([A-Za-z0-9_.=-]+\/)*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Reads and validates the settings.
 *
 * @param node the App's node, to read context from.
 * @param env the process environment, for `CDK_DEFAULT_REGION` / `CDK_DEFAULT_ACCOUNT` that the CDK CLI sets
 *   from the caller's AWS profile.
 * @throws {SettingsError} naming the first bad setting.
 */
export function readSettings(
  node: Node,
  env: Readonly<Record<string, string | undefined>>,
): DetectorSettings {
  const context = (key: (typeof SETTING_KEYS)[number]): unknown => {
    const value: unknown = node.tryGetContext(key);
    return value === '' || value === null ? undefined : value;
  };

  const homeRegion = optionalString(context('homeRegion'), 'homeRegion') ?? nonEmpty(env.CDK_DEFAULT_REGION);
  if (homeRegion === undefined) {
    throw new SettingsError(
      'homeRegion',
      'the region of the main stack is unknown: set it with `-c homeRegion=us-east-1` (or in cdk.json), ' +
        'or configure a default region for the AWS CLI profile so that CDK_DEFAULT_REGION is set',
    );
  }
  if (!REGION.test(homeRegion))
    throw new SettingsError('homeRegion', `"${homeRegion}" is not an AWS region name`);

  const account = optionalString(context('account'), 'account') ?? nonEmpty(env.CDK_DEFAULT_ACCOUNT);
  if (account !== undefined && !ACCOUNT.test(account)) {
    throw new SettingsError('account', `"${account}" is not a 12-digit AWS account id`);
  }

  const alertEmails = emails(context('alertEmails'), 'alertEmails') ?? [];
  const opsEmails = emails(context('opsEmails'), 'opsEmails') ?? alertEmails;

  const slackWebhookSecretArn = optionalString(context('slackWebhookSecretArn'), 'slackWebhookSecretArn');
  if (slackWebhookSecretArn !== undefined && !SECRET_ARN.test(slackWebhookSecretArn)) {
    throw new SettingsError(
      'slackWebhookSecretArn',
      `"${slackWebhookSecretArn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`,
    );
  }

  const organizationId = optionalString(context('organizationId'), 'organizationId');
  if (organizationId !== undefined && !ORGANIZATION_ID.test(organizationId)) {
    throw new SettingsError('organizationId', `"${organizationId}" is not an AWS Organizations id (o-…)`);
  }

  return {
    ...(account === undefined ? {} : { account }),
    homeRegion,
    alertEmails,
    opsEmails,
    ...(slackWebhookSecretArn === undefined ? {} : { slackWebhookSecretArn }),
    ...(organizationId === undefined ? {} : { organizationId }),
    ...optionalField('azureFederation', azureFederation(context('azureFederation'))),
    ...optionalField('gcpFederation', gcpFederation(context('gcpFederation'))),
    ...optionalField('cloudTrailLogs', cloudTrailLogs(context('cloudTrailLogs'))),
    sweepLagMinutes:
      integer(context('sweepLagMinutes'), 'sweepLagMinutes', MIN_SWEEP_LAG_MINUTES, 24 * 60) ??
      SWEEP_SETTING_DEFAULTS.sweepLagMinutes,
    athenaBytesScannedCutoffGiB:
      integer(context('athenaBytesScannedCutoffGiB'), 'athenaBytesScannedCutoffGiB', 1, MAX_CUTOFF_GIB) ??
      SWEEP_SETTING_DEFAULTS.athenaBytesScannedCutoffGiB,
    literalPrefilter: bool(context('literalPrefilter'), 'literalPrefilter') ?? false,
    bundling: bool(context('bundling'), 'bundling') ?? true,
  };
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SettingsError(key, 'must be a string');
  return nonEmpty(value);
}

function bool(value: unknown, key: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SettingsError(key, 'must be true or false');
}

/** A whole number from cdk.json, or its digits from `-c`. */
function integer(value: unknown, key: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new SettingsError(
      key,
      `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  }
  return number;
}

/** A list of strings: a JSON array in cdk.json or a JSON object setting, or comma-separated from `-c`. */
function stringList(value: unknown, key: string, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  let list: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    list = text.startsWith('[') ? parseJson(text, key) : text.split(',');
  }
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
    throw new SettingsError(key, `must be a list of ${what} (a JSON array, or comma-separated)`);
  }
  const items = [...new Set((list as string[]).map((item) => item.trim()).filter((item) => item !== ''))];
  if (items.length === 0) throw new SettingsError(key, `must name at least one of ${what}, or be left out`);
  return items;
}

/** A list from cdk.json, a JSON array string, or a comma-separated string from `-c`. */
function emails(value: unknown, key: string): string[] | undefined {
  if (value === undefined) return undefined;
  let list: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    list = text.startsWith('[') ? parseJson(text, key) : text.split(',').map((item) => item.trim());
  }
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
    throw new SettingsError(
      key,
      'must be a list of e-mail addresses (a JSON array, or comma-separated with -c)',
    );
  }
  const addresses = (list as string[]).map((item) => item.trim()).filter((item) => item !== '');
  const bad = addresses.find((address) => !EMAIL.test(address));
  if (bad !== undefined) throw new SettingsError(key, `"${bad}" is not an e-mail address`);
  return [...new Set(addresses)];
}

function parseJson(text: string, key: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SettingsError(key, `is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function objectSetting(value: unknown, key: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'string' ? parseJson(value, key) : value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(key, 'must be an object (in cdk.json) or a JSON object string (with -c)');
  }
  return parsed as Record<string, unknown>;
}

function claim(object: Record<string, unknown>, key: string, field: string, shape = CLAIM): string {
  const value = object[field];
  if (typeof value !== 'string' || !shape.test(value)) {
    throw new SettingsError(`${key}.${field}`, `is required and must be ${describe(shape)}`);
  }
  return value;
}

function describe(shape: RegExp): string {
  if (shape === GUID) return 'a GUID';
  if (shape === GCP_UNIQUE_ID) return "the service account's numeric unique id";
  return 'a non-empty value without spaces, quotes or wildcards (* ?)';
}

function azureFederation(value: unknown): AzureFederationSettings | undefined {
  const key = 'azureFederation';
  const object = objectSetting(value, key);
  if (object === undefined) return undefined;
  unknownFields(object, key, ['tenantId', 'audience', 'subject', 'issuer']);
  const issuer = object.issuer ?? 'v1';
  if (issuer !== 'v1' && issuer !== 'v2') throw new SettingsError(`${key}.issuer`, 'must be "v1" or "v2"');
  return {
    tenantId: claim(object, key, 'tenantId', GUID).toLowerCase(),
    audience: claim(object, key, 'audience'),
    subject: claim(object, key, 'subject'),
    issuer,
  };
}

function gcpFederation(value: unknown): GcpFederationSettings | undefined {
  const key = 'gcpFederation';
  const object = objectSetting(value, key);
  if (object === undefined) return undefined;
  unknownFields(object, key, ['audience', 'subject']);
  return { audience: claim(object, key, 'audience'), subject: claim(object, key, 'subject', GCP_UNIQUE_ID) };
}

function cloudTrailLogs(value: unknown): CloudTrailLogsSettings | undefined {
  const key = 'cloudTrailLogs';
  const object = objectSetting(value, key);
  if (object === undefined) return undefined;
  unknownFields(object, key, [
    'bucket',
    'prefix',
    'organizationId',
    'accounts',
    'regions',
    'kmsKeyArn',
    'startDate',
  ]);
  const field = (name: string): string | undefined => optionalString(object[name], `${key}.${name}`);

  const bucket = field('bucket');
  if (bucket === undefined || !BUCKET.test(bucket)) {
    throw new SettingsError(
      `${key}.bucket`,
      "is required and must be an S3 bucket name (the trail's bucket)",
    );
  }
  let prefix = field('prefix') ?? '';
  if (prefix !== '' && !prefix.endsWith('/')) prefix = `${prefix}/`;
  if (!KEY_PREFIX.test(prefix) || prefix.length > 200) {
    throw new SettingsError(
      `${key}.prefix`,
      `"${prefix}" is not a key prefix: use letters, digits and _ . = - in /-separated parts (the trail's S3 key prefix)`,
    );
  }
  const organizationId = field('organizationId');
  if (organizationId !== undefined && !ORGANIZATION_ID.test(organizationId)) {
    throw new SettingsError(
      `${key}.organizationId`,
      `"${organizationId}" is not an AWS Organizations id (o-…)`,
    );
  }
  const accounts = stringList(object.accounts, `${key}.accounts`, '12-digit account ids');
  const badAccount = accounts?.find((account) => !ACCOUNT.test(account));
  if (badAccount !== undefined) {
    throw new SettingsError(`${key}.accounts`, `"${badAccount}" is not a 12-digit AWS account id`);
  }
  const regions = stringList(object.regions, `${key}.regions`, 'region names');
  const badRegion = regions?.find((region) => !REGION.test(region));
  if (badRegion !== undefined) {
    throw new SettingsError(`${key}.regions`, `"${badRegion}" is not an AWS region name`);
  }
  const kmsKeyArn = field('kmsKeyArn');
  if (kmsKeyArn !== undefined && !KMS_KEY_ARN.test(kmsKeyArn)) {
    throw new SettingsError(
      `${key}.kmsKeyArn`,
      `"${kmsKeyArn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias)`,
    );
  }
  const startDate = field('startDate') ?? SWEEP_SETTING_DEFAULTS.trailStartDate;
  if (!isDate(startDate))
    throw new SettingsError(`${key}.startDate`, `"${startDate}" is not a date (YYYY-MM-DD)`);
  return {
    bucket,
    prefix,
    ...(organizationId === undefined ? {} : { organizationId }),
    ...(accounts === undefined ? {} : { accounts }),
    ...(regions === undefined ? {} : { regions }),
    ...(kmsKeyArn === undefined ? {} : { kmsKeyArn }),
    startDate,
  };
}

function isDate(text: string): boolean {
  const match = DATE.exec(text);
  if (match === null) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text) && Number(match[1]) >= 2013;
}

function unknownFields(object: Record<string, unknown>, key: string, known: readonly string[]): void {
  const extra = Object.keys(object).find((field) => !known.includes(field));
  if (extra !== undefined)
    throw new SettingsError(`${key}.${extra}`, `is not a known field (known: ${known.join(', ')})`);
}
