/**
 * The rule model and its validation. Written by hand rather than with a schema library so that every
 * message names the field by its dotted path, points into the query when the query is at fault, and
 * lists every problem of a file at once.
 */
import type { CloudProvider, SourceName } from '../ecs';
import { SOURCE_NAMES } from '../ecs';
import type { KqlNode } from '../kql';
import { compileKql, KqlSyntaxError, parseKql } from '../kql';
import { TECHNIQUE_ID } from './attack';
import type { RuleProblem } from './errors';
import { RuleValidationError } from './errors';
import { hint } from './suggest';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** `kuery` is what Elastic writes; `kql` is accepted as its other name. */
export const RULE_LANGUAGES = ['kuery', 'kql'] as const;
export type RuleLanguage = (typeof RULE_LANGUAGES)[number];

export const RULE_TYPES = ['query'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const RUNBOOK_PHASES = ['triage', 'containment', 'remediation', 'post_incident_review'] as const;
export type RunbookPhase = (typeof RUNBOOK_PHASES)[number];

export const CLOUDS: readonly CloudProvider[] = ['aws', 'azure', 'gcp'];

/** Every top-level field a rule file may carry; anything else is rejected with a suggestion. */
export const RULE_FIELDS = [
  'id',
  'name',
  'description',
  'author',
  'license',
  'version',
  'references',
  'tags',
  'severity',
  'risk_score',
  'type',
  'index',
  'language',
  'query',
  'schedule',
  'suppression',
  'exceptions',
  'runbook',
  'threat',
  'seed_deviations',
] as const;

/** Suppression applied when a rule says nothing: one alert per caller, account and action an hour. */
export const DEFAULT_SUPPRESSION = {
  group_by: ['cloud.account.id', 'user.name', 'event.action'],
  window: '60m',
} as const;

/** A compiled KQL condition over normalized events. */
export type EventPredicate = (doc: unknown) => boolean;

/**
 * A reviewed allowlist entry. Every field is required because an exception nobody owns, or that
 * never expires, silently blinds the rule for good.
 */
export interface RuleException {
  readonly id: string;
  readonly query: string;
  readonly ast: KqlNode;
  readonly predicate: EventPredicate;
  readonly owner: string;
  readonly reason: string;
  /** The exception stops applying at this instant; a date-only `expires` means 00:00 UTC that day. */
  readonly expires: Date;
}

/** A CLI command shown to the analyst (never run), with `{{field.path}}` placeholders. */
export interface RunbookCommand {
  readonly cloud: CloudProvider;
  readonly command: string;
  /** The KQL condition as written, if any. */
  readonly whenQuery?: string;
  readonly whenAst?: KqlNode;
  /** True when the command applies to the event: its cloud is the event's and `whenQuery` matches. */
  readonly when: EventPredicate;
  /** The field paths the template reads, in order of appearance. */
  readonly placeholders: readonly string[];
}

export interface RunbookStep {
  readonly id: string;
  readonly text: string;
  readonly details?: string;
  readonly commands: readonly RunbookCommand[];
}

export type Runbook = Readonly<Record<RunbookPhase, readonly RunbookStep[]>>;

/** An ATT&CK technique the rule detects, with the tactics it serves in this rule. */
export interface ThreatTechnique {
  readonly id: string;
  readonly name: string;
  readonly tactics: readonly string[];
  /** `tactics` joined for display. */
  readonly tactic: string;
  readonly reference: string;
  readonly note?: string;
}

/** Where and why the rule departs from the seed it came from, for auditors. */
export interface SeedDeviation {
  readonly field: string;
  readonly change: string;
  readonly reason: string;
}

export interface RuleSchedule {
  readonly interval: string;
  readonly intervalMs: number;
  readonly enabled: boolean;
}

export interface RuleSuppression {
  readonly group_by: readonly string[];
  readonly window: string;
  readonly windowMs: number;
}

/** Maps a field path (and optionally an offset inside its text) to a 1-based line of the source file. */
export type Locator = (field: string, position?: number) => number | undefined;

/**
 * A validated, compiled rule. Fields read from the file keep their YAML names (`risk_score`,
 * `group_by`), so a field path in an error or a lint finding is also a property path here.
 */
export interface Rule {
  readonly id: string;
  /** The file the rule was read from, as given to the loader. */
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly author: readonly string[];
  readonly license?: string;
  readonly version?: number;
  readonly references: readonly string[];
  readonly tags: readonly string[];
  readonly severity: Severity;
  readonly risk_score: number;
  readonly type: RuleType;
  readonly index: readonly string[];
  readonly language: RuleLanguage;
  /** The KQL text exactly as the file has it (a folded block keeps its trailing newline). */
  readonly query: string;
  readonly schedule: RuleSchedule;
  readonly suppression: RuleSuppression;
  readonly exceptions: readonly RuleException[];
  readonly runbook: Runbook;
  readonly threat: readonly ThreatTechnique[];
  /** The same entries as `threat`, under the name alerts use. */
  readonly techniques: readonly ThreatTechnique[];
  readonly seed_deviations: readonly SeedDeviation[];
  /** The log sources the `index` patterns select; only their events are evaluated. */
  readonly sources: readonly SourceName[];
  readonly ast: KqlNode;
  /** The single source of truth for a match; every pre-filter must accept at least what this accepts. */
  readonly predicate: EventPredicate;
  readonly locate: Locator;
}

/** Parses `<n>s|m|h|d` (n a positive integer) to milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return amount > 0 && Number.isSafeInteger(amount * unit) ? amount * unit : undefined;
}

/** An anchored regular expression for a glob given as the literal parts between its `*`s. */
export function globRegExp(parts: readonly string[]): RegExp {
  return new RegExp(`^${parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The sources an index pattern selects: those whose index name `<source>-default` it glob-matches. */
export function sourcesForPattern(pattern: string): SourceName[] {
  const regex = globRegExp(pattern.split('*'));
  return SOURCE_NAMES.filter((source) => regex.test(`${source}-default`));
}

const RULE_ID = /^[a-z0-9][a-z0-9-]*$/;
const FIELD_PATH = /^[A-Za-z_@][A-Za-z0-9_@]*(\.[A-Za-z_@][A-Za-z0-9_@]*)*$/;

type Mapping = Record<string, unknown>;

/** Collects problems with their lines; the first underlying error becomes the `cause`. */
class Problems {
  readonly list: RuleProblem[] = [];
  cause: unknown;

  constructor(private readonly locate: Locator) {}

  add(field: string, message: string, position?: number, cause?: unknown): void {
    const line = this.locate(field, position);
    this.list.push({
      field,
      message,
      ...(position === undefined ? {} : { position }),
      ...(line === undefined ? {} : { line }),
    });
    if (cause !== undefined && this.cause === undefined) this.cause = cause;
  }
}

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** A value as an error message names it: its kind, and the value itself when it is a scalar. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The dotted field path of a key (`schedule` + `interval`) or list item (`index` + 0 → `index[0]`). */
export function fieldPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Rejects keys outside `allowed`, suggesting the closest allowed one. */
function checkKeys(problems: Problems, value: Mapping, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const where = path === '' ? 'rule' : path;
    problems.add(
      fieldPath(path, key),
      `unknown field "${key}" in ${where}.${hint(key, allowed)} Allowed: ${allowed.join(', ')}.`,
    );
  }
}

function readString(problems: Problems, value: unknown, path: string, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) problems.add(path, 'is required');
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    problems.add(path, `must be a non-empty string, not ${describe(value)}`);
    return undefined;
  }
  return value;
}

function readStringList(problems: Problems, value: unknown, path: string, required: boolean): string[] {
  if (value === undefined || value === null) {
    if (required) problems.add(path, 'is required');
    return [];
  }
  if (typeof value === 'string' && value.trim() !== '') return [value];
  if (!Array.isArray(value)) {
    problems.add(path, `must be a list of strings, not ${describe(value)}`);
    return [];
  }
  const result: string[] = [];
  value.forEach((item, index) => {
    const text = readString(problems, item, fieldPath(path, index), true);
    if (text !== undefined) result.push(text);
  });
  return result;
}

function readEnum<T extends string>(
  problems: Problems,
  value: unknown,
  path: string,
  allowed: readonly T[],
  what: string,
): T | undefined {
  const text = readString(problems, value, path, true);
  if (text === undefined) return undefined;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  problems.add(
    path,
    `${what} "${text}" is not supported; use one of ${allowed.join(', ')}.${hint(text, allowed)}`,
  );
  return undefined;
}

function readDuration(problems: Problems, value: unknown, path: string): number | undefined {
  if (typeof value !== 'string') {
    problems.add(path, `must be a duration such as 5m (<n>s|m|h|d), not ${describe(value)}`);
    return undefined;
  }
  const ms = parseDuration(value);
  if (ms === undefined) {
    problems.add(path, `"${value}" is not a duration: write <n>s, <n>m, <n>h or <n>d with n > 0`);
  }
  return ms;
}

interface Compiled {
  readonly ast: KqlNode;
  readonly predicate: EventPredicate;
}

/**
 * Parses and compiles KQL; a syntax error becomes a problem at its offset inside the field's text.
 * `lazy` defers the compilation to the predicate's first call, for conditions read only when an alert is
 * rendered (runbook commands): the detect Lambda then does not compile dozens of them before it can
 * evaluate its first record. Parsing, and so every syntax error, still happens here.
 */
function compileQuery(
  problems: Problems,
  query: string,
  path: string,
  options: { lazy?: boolean } = {},
): Compiled | undefined {
  let ast: KqlNode;
  try {
    ast = parseKql(query);
  } catch (error) {
    if (!(error instanceof KqlSyntaxError)) throw error;
    problems.add(path, error.message, error.position, error);
    return undefined;
  }
  // compileKql only rejects hand-built ASTs (KqlAstError); a parsed one always compiles.
  if (options.lazy !== true) return { ast, predicate: compileKql(ast) };
  let compiled: EventPredicate | undefined;
  const predicate: EventPredicate = (doc) => {
    compiled ??= compileKql(ast);
    return compiled(doc);
  };
  return { ast, predicate };
}

/**
 * Parses an exception's expiry. Only unambiguous forms are accepted: a calendar date (00:00 UTC) or an
 * ISO 8601 timestamp with a zone, because "03/04/2027" means two different days to two reviewers.
 */
export function parseExpiry(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== 'string') return undefined;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (day) {
    const date = new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])));
    return date.toISOString().startsWith(value) ? date : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A placeholder the alert filler will replace, with where it sits in the template. */
interface Placeholder {
  readonly path: string;
  readonly start: number;
  readonly quoted: boolean;
}

/**
 * Finds `{{field.path}}` placeholders and whether each sits inside shell quotes. The filler quotes
 * every value itself, so a placeholder inside quotes would be quoted twice (or break out of them).
 */
function scanPlaceholders(template: string): { placeholders: Placeholder[]; errors: string[] } {
  const placeholders: Placeholder[] = [];
  const errors: string[] = [];
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < template.length; i += 1) {
    const char = template[i];
    if (quote !== "'" && char === '\\') {
      i += 1;
    } else if (quote === undefined && (char === '"' || char === "'")) {
      quote = char;
    } else if (char === quote) {
      quote = undefined;
    } else if (template.startsWith('{{', i)) {
      const end = template.indexOf('}}', i + 2);
      if (end < 0) {
        errors.push(`unclosed placeholder at offset ${i}`);
        break;
      }
      const path = template.slice(i + 2, end).trim();
      if (!FIELD_PATH.test(path)) errors.push(`placeholder "{{${path}}}" is not a field path`);
      else placeholders.push({ path, start: i, quoted: quote !== undefined });
      i = end + 1;
    } else if (template.startsWith('}}', i)) {
      errors.push(`stray "}}" at offset ${i}`);
      i += 1;
    }
  }
  if (quote !== undefined) errors.push(`unbalanced ${quote} quote`);
  return { placeholders, errors };
}

function validateCommand(problems: Problems, value: unknown, path: string): RunbookCommand | undefined {
  if (!isMapping(value)) {
    problems.add(path, `must be a mapping with cloud, command and optionally when, not ${describe(value)}`);
    return undefined;
  }
  checkKeys(problems, value, path, ['cloud', 'when', 'command']);
  const cloud = readEnum(problems, value.cloud, fieldPath(path, 'cloud'), CLOUDS, 'cloud');
  const command = readString(problems, value.command, fieldPath(path, 'command'), true);
  const whenQuery = readString(problems, value.when, fieldPath(path, 'when'), false);
  let placeholders: string[] = [];
  if (command !== undefined) {
    const commandPath = fieldPath(path, 'command');
    if (/[\r\n]/.test(command)) {
      problems.add(commandPath, 'must be a single line (analysts paste it as one command)');
    }
    const scan = scanPlaceholders(command);
    for (const error of scan.errors) problems.add(commandPath, error);
    for (const placeholder of scan.placeholders) {
      if (placeholder.quoted) {
        problems.add(
          commandPath,
          `placeholder {{${placeholder.path}}} sits inside quotes; write it as a bare word, the filler quotes each value`,
          placeholder.start,
        );
      }
    }
    placeholders = scan.placeholders.map((placeholder) => placeholder.path);
  }
  const compiled =
    whenQuery === undefined
      ? undefined
      : compileQuery(problems, whenQuery, fieldPath(path, 'when'), { lazy: true });
  if (cloud === undefined || command === undefined || (whenQuery !== undefined && compiled === undefined)) {
    return undefined;
  }
  const condition = compiled?.predicate;
  const when: EventPredicate = (doc) => cloudOf(doc) === cloud && (condition?.(doc) ?? true);
  return {
    cloud,
    command,
    when,
    placeholders,
    ...(whenQuery === undefined ? {} : { whenQuery }),
    ...(compiled === undefined ? {} : { whenAst: compiled.ast }),
  };
}

function cloudOf(doc: unknown): unknown {
  if (!isMapping(doc)) return undefined;
  const cloud = doc.cloud;
  return isMapping(cloud) ? cloud.provider : undefined;
}

function validateRunbook(problems: Problems, value: unknown): Runbook {
  const runbook: Record<RunbookPhase, RunbookStep[]> = {
    triage: [],
    containment: [],
    remediation: [],
    post_incident_review: [],
  };
  if (value === undefined || value === null) return runbook;
  if (!isMapping(value)) {
    problems.add('runbook', `must be a mapping of ${RUNBOOK_PHASES.join(', ')}, not ${describe(value)}`);
    return runbook;
  }
  checkKeys(problems, value, 'runbook', RUNBOOK_PHASES);
  const seenIds = new Map<string, string>();
  for (const phase of RUNBOOK_PHASES) {
    const steps = value[phase];
    const phasePath = fieldPath('runbook', phase);
    if (steps === undefined || steps === null) continue;
    if (!Array.isArray(steps)) {
      problems.add(phasePath, `must be a list of steps, not ${describe(steps)}`);
      continue;
    }
    steps.forEach((step, index) => {
      const stepPath = fieldPath(phasePath, index);
      if (!isMapping(step)) {
        problems.add(stepPath, `must be a mapping with id and text, not ${describe(step)}`);
        return;
      }
      checkKeys(problems, step, stepPath, ['id', 'text', 'details', 'commands']);
      const id = readString(problems, step.id, fieldPath(stepPath, 'id'), true);
      if (id !== undefined) {
        if (!RULE_ID.test(id)) {
          problems.add(fieldPath(stepPath, 'id'), `"${id}" must be lower-case kebab-case`);
        }
        const earlier = seenIds.get(id);
        if (earlier !== undefined) {
          problems.add(fieldPath(stepPath, 'id'), `duplicate step id "${id}" (also ${earlier})`);
        } else {
          seenIds.set(id, stepPath);
        }
      }
      const text = readString(problems, step.text, fieldPath(stepPath, 'text'), true);
      const details = readString(problems, step.details, fieldPath(stepPath, 'details'), false);
      const commands: RunbookCommand[] = [];
      const rawCommands = step.commands;
      if (rawCommands !== undefined && rawCommands !== null) {
        if (Array.isArray(rawCommands)) {
          rawCommands.forEach((command, commandIndex) => {
            const compiled = validateCommand(
              problems,
              command,
              fieldPath(fieldPath(stepPath, 'commands'), commandIndex),
            );
            if (compiled) commands.push(compiled);
          });
        } else {
          problems.add(
            fieldPath(stepPath, 'commands'),
            `must be a list of commands, not ${describe(rawCommands)}`,
          );
        }
      }
      if (id !== undefined && text !== undefined) {
        runbook[phase].push({ id, text, commands, ...(details === undefined ? {} : { details }) });
      }
    });
  }
  return runbook;
}

function validateThreat(problems: Problems, value: unknown): ThreatTechnique[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('threat', `must be a list of techniques, not ${describe(value)}`);
    return [];
  }
  const result: ThreatTechnique[] = [];
  value.forEach((entry, index) => {
    const path = fieldPath('threat', index);
    if (!isMapping(entry)) {
      problems.add(path, `must be a mapping with id, name and tactics, not ${describe(entry)}`);
      return;
    }
    checkKeys(problems, entry, path, ['id', 'name', 'tactics', 'note']);
    const id = readString(problems, entry.id, fieldPath(path, 'id'), true);
    if (id !== undefined && !TECHNIQUE_ID.test(id)) {
      problems.add(fieldPath(path, 'id'), `"${id}" is not an ATT&CK technique id (T1234 or T1234.001)`);
    }
    const name = readString(problems, entry.name, fieldPath(path, 'name'), true);
    const tactics = readStringList(problems, entry.tactics, fieldPath(path, 'tactics'), true);
    const note = readString(problems, entry.note, fieldPath(path, 'note'), false);
    if (id === undefined || name === undefined || tactics.length === 0) return;
    result.push({
      id,
      name,
      tactics,
      tactic: tactics.join(', '),
      reference: `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`,
      ...(note === undefined ? {} : { note }),
    });
  });
  return result;
}

function validateExceptions(problems: Problems, value: unknown): RuleException[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('exceptions', `must be a list, not ${describe(value)}`);
    return [];
  }
  const result: RuleException[] = [];
  const seen = new Set<string>();
  value.forEach((entry, index) => {
    const path = fieldPath('exceptions', index);
    if (!isMapping(entry)) {
      problems.add(
        path,
        `must be a mapping with id, query, owner, reason and expires, not ${describe(entry)}`,
      );
      return;
    }
    checkKeys(problems, entry, path, ['id', 'query', 'owner', 'reason', 'expires']);
    const id = readString(problems, entry.id, fieldPath(path, 'id'), true);
    if (id !== undefined) {
      if (seen.has(id)) problems.add(fieldPath(path, 'id'), `duplicate exception id "${id}"`);
      seen.add(id);
    }
    const query = readString(problems, entry.query, fieldPath(path, 'query'), true);
    const owner = readString(problems, entry.owner, fieldPath(path, 'owner'), true);
    const reason = readString(problems, entry.reason, fieldPath(path, 'reason'), true);
    let expires: Date | undefined;
    if (entry.expires === undefined || entry.expires === null) {
      problems.add(
        fieldPath(path, 'expires'),
        'is required: every exception must expire so it gets reviewed',
      );
    } else {
      expires = parseExpiry(entry.expires);
      if (expires === undefined) {
        problems.add(
          fieldPath(path, 'expires'),
          `${describe(entry.expires)} is not a date: write YYYY-MM-DD or an ISO 8601 timestamp with a zone`,
        );
      }
    }
    const compiled =
      query === undefined ? undefined : compileQuery(problems, query, fieldPath(path, 'query'));
    if (id && query && owner && reason && expires && compiled) {
      result.push({ id, query, ast: compiled.ast, predicate: compiled.predicate, owner, reason, expires });
    }
  });
  return result;
}

function validateDeviations(problems: Problems, value: unknown): SeedDeviation[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add('seed_deviations', `must be a list of {field, change, reason}, not ${describe(value)}`);
    return [];
  }
  const result: SeedDeviation[] = [];
  value.forEach((entry, index) => {
    const path = fieldPath('seed_deviations', index);
    if (!isMapping(entry)) {
      problems.add(path, `must be a mapping with field, change and reason, not ${describe(entry)}`);
      return;
    }
    checkKeys(problems, entry, path, ['field', 'change', 'reason']);
    const field = readString(problems, entry.field, fieldPath(path, 'field'), true);
    const change = readString(problems, entry.change, fieldPath(path, 'change'), true);
    const reason = readString(problems, entry.reason, fieldPath(path, 'reason'), true);
    if (field && change && reason) result.push({ field, change, reason });
  });
  return result;
}

function validateSchedule(problems: Problems, value: unknown): RuleSchedule | undefined {
  if (value === undefined || value === null) {
    problems.add('schedule', 'is required (schedule.interval says how often the sweep runs)');
    return undefined;
  }
  if (!isMapping(value)) {
    problems.add('schedule', `must be a mapping with interval and enabled, not ${describe(value)}`);
    return undefined;
  }
  checkKeys(problems, value, 'schedule', ['interval', 'enabled']);
  let intervalMs: number | undefined;
  if (value.interval === undefined || value.interval === null) {
    problems.add('schedule.interval', 'is required');
  } else {
    intervalMs = readDuration(problems, value.interval, 'schedule.interval');
  }
  let enabled = true;
  if (value.enabled !== undefined && value.enabled !== null) {
    if (typeof value.enabled === 'boolean') enabled = value.enabled;
    else problems.add('schedule.enabled', `must be true or false, not ${describe(value.enabled)}`);
  }
  return intervalMs === undefined ? undefined : { interval: value.interval as string, intervalMs, enabled };
}

function validateSuppression(problems: Problems, value: unknown): RuleSuppression {
  const defaults: RuleSuppression = {
    group_by: [...DEFAULT_SUPPRESSION.group_by],
    window: DEFAULT_SUPPRESSION.window,
    windowMs: parseDuration(DEFAULT_SUPPRESSION.window) ?? 0,
  };
  if (value === undefined || value === null) return defaults;
  if (!isMapping(value)) {
    problems.add('suppression', `must be a mapping with group_by and window, not ${describe(value)}`);
    return defaults;
  }
  checkKeys(problems, value, 'suppression', ['group_by', 'window']);
  let groupBy = defaults.group_by;
  if (value.group_by !== undefined && value.group_by !== null) {
    groupBy = readStringList(problems, value.group_by, 'suppression.group_by', true);
    if (Array.isArray(value.group_by) && value.group_by.length === 0) {
      problems.add('suppression.group_by', 'must name at least one field');
    }
    groupBy.forEach((field, index) => {
      if (!FIELD_PATH.test(field)) {
        problems.add(fieldPath('suppression.group_by', index), `"${field}" is not a field path`);
      }
    });
  }
  let window = defaults.window;
  let windowMs = defaults.windowMs;
  if (value.window !== undefined && value.window !== null) {
    const ms = readDuration(problems, value.window, 'suppression.window');
    if (ms !== undefined) {
      window = value.window as string;
      windowMs = ms;
    }
  }
  return { group_by: groupBy, window, windowMs };
}

function validateIndex(problems: Problems, value: unknown): { index: string[]; sources: SourceName[] } {
  const index = readStringList(problems, value, 'index', true);
  if (Array.isArray(value) && value.length === 0) {
    problems.add('index', 'must list at least one index pattern');
  }
  const sources = new Set<SourceName>();
  index.forEach((pattern, position) => {
    const selected = sourcesForPattern(pattern);
    if (selected.length === 0) {
      const known = SOURCE_NAMES.map((source) => `${source}-*`);
      problems.add(
        fieldPath('index', Array.isArray(value) ? position : 0),
        `"${pattern}" selects no known source (known: ${known.join(', ')}).${hint(pattern, known)}`,
      );
    }
    for (const source of selected) sources.add(source);
  });
  return { index, sources: SOURCE_NAMES.filter((source) => sources.has(source)) };
}

/** The id a rule gets from its file name when it has none: `rules/x.yaml` → `x`. */
export function idFromFile(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.ya?ml$/i, '');
}

/**
 * Validates a rule definition (already read from YAML, seed shape flattened) and compiles it.
 * Throws `RuleValidationError` listing every problem found.
 */
export function compileRule(definition: unknown, file: string, locate: Locator = () => undefined): Rule {
  const problems = new Problems(locate);
  if (!isMapping(definition)) {
    problems.add(
      '',
      `a rule must be a mapping (or the seed's list of single-key mappings), not ${describe(definition)}`,
    );
    throw new RuleValidationError(file, problems.list);
  }
  checkKeys(problems, definition, '', RULE_FIELDS);

  const rawId = definition.id;
  const id =
    rawId === undefined || rawId === null ? idFromFile(file) : readString(problems, rawId, 'id', true);
  if (id !== undefined && !RULE_ID.test(id)) {
    problems.add('id', `"${id}" must be lower-case kebab-case ([a-z0-9-])`);
  }

  const name = readString(problems, definition.name, 'name', true);
  const description = readString(problems, definition.description, 'description', true);
  const author = readStringList(problems, definition.author, 'author', false);
  const license = readString(problems, definition.license, 'license', false);
  let version: number | undefined;
  if (definition.version !== undefined && definition.version !== null) {
    if (Number.isInteger(definition.version) && (definition.version as number) > 0) {
      version = definition.version as number;
    } else {
      problems.add('version', `must be a positive integer, not ${describe(definition.version)}`);
    }
  }
  const references = readStringList(problems, definition.references, 'references', false);
  references.forEach((reference, index) => {
    if (!/^https?:\/\/\S+$/.test(reference)) {
      problems.add(fieldPath('references', index), `"${reference}" is not a URL`);
    }
  });
  const tags = readStringList(problems, definition.tags, 'tags', false);
  const severity = readEnum(problems, definition.severity, 'severity', SEVERITIES, 'severity');

  let riskScore: number | undefined;
  const rawRisk = definition.risk_score;
  if (rawRisk === undefined || rawRisk === null) problems.add('risk_score', 'is required');
  else if (typeof rawRisk !== 'number' || !Number.isInteger(rawRisk) || rawRisk < 0 || rawRisk > 100) {
    problems.add('risk_score', `must be an integer from 0 to 100, not ${describe(rawRisk)}`);
  } else {
    riskScore = rawRisk;
  }

  const type = readEnum(problems, definition.type, 'type', RULE_TYPES, 'rule type');
  const language = readEnum(problems, definition.language, 'language', RULE_LANGUAGES, 'query language');
  const { index, sources } = validateIndex(problems, definition.index);
  const query = readString(problems, definition.query, 'query', true);
  const compiled = query === undefined ? undefined : compileQuery(problems, query, 'query');
  const schedule = validateSchedule(problems, definition.schedule);
  const suppression = validateSuppression(problems, definition.suppression);
  const exceptions = validateExceptions(problems, definition.exceptions);
  const runbook = validateRunbook(problems, definition.runbook);
  const threat = validateThreat(problems, definition.threat);
  const deviations = validateDeviations(problems, definition.seed_deviations);

  if (
    problems.list.length > 0 ||
    id === undefined ||
    name === undefined ||
    description === undefined ||
    severity === undefined ||
    riskScore === undefined ||
    type === undefined ||
    language === undefined ||
    query === undefined ||
    compiled === undefined ||
    schedule === undefined
  ) {
    const sorted = [...problems.list].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new RuleValidationError(
      file,
      sorted.length > 0 ? sorted : [{ field: '', message: 'rule is incomplete' }],
      problems.cause === undefined ? undefined : { cause: problems.cause },
    );
  }

  return {
    id,
    file,
    name,
    description,
    author,
    ...(license === undefined ? {} : { license }),
    ...(version === undefined ? {} : { version }),
    references,
    tags,
    severity,
    risk_score: riskScore,
    type,
    index,
    language,
    query,
    schedule,
    suppression,
    exceptions,
    runbook,
    threat,
    techniques: threat,
    seed_deviations: deviations,
    sources,
    ast: compiled.ast,
    predicate: compiled.predicate,
    locate,
  };
}

/** Exceptions that still apply at `now`; expired ones are kept in the rule only so lint can report them. */
export function activeExceptions(rule: Pick<Rule, 'exceptions'>, now: Date): RuleException[] {
  return rule.exceptions.filter((exception) => !isExpired(exception, now));
}

/** An exception is expired from its `expires` instant on. */
export function isExpired(exception: Pick<RuleException, 'expires'>, now: Date): boolean {
  return now.getTime() >= exception.expires.getTime();
}
