import type { Alert } from './alert';
import type { AlertDigest } from './publisher';
import { inert, renderAlertText } from './render-text';

/** SNS rejects a subject of 100 characters or more. */
export const SUBJECT_MAX_LENGTH = 99;

/**
 * Only values made of these characters reach a subject. Subjects are read in inbox lists where
 * escaping is impossible, so a value that does not pass is left out instead of escaped.
 */
export const SUBJECT_TOKEN = /^[A-Za-z0-9._/:-]{1,64}$/;

const SEVERITY_TOKEN = /^[A-Za-z]{1,16}$/;
const MIN_NAME_LENGTH = 12;

/** The state-table item that holds the alert's group, named in every "where is the full event" pointer. */
export function stateItemKey(alertId: string): string {
  return `grp#${alertId}`;
}

/**
 * Printable ASCII only, one line: SNS requires ASCII subjects without line breaks or control
 * characters. Accents are dropped (`Änderung` → `Anderung`); anything else non-ASCII becomes `?`.
 */
function asciiLine(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

function severityTag(severity: string): string {
  return SEVERITY_TOKEN.test(severity) ? severity.toUpperCase() : 'ALERT';
}

/** Fits `[SEV] name: suffix` under the limit by cutting the (trusted, but unbounded) rule name. */
function fitSubject(prefix: string, name: string, suffix: string): string {
  const room = SUBJECT_MAX_LENGTH - prefix.length - suffix.length;
  const safeName = asciiLine(name) || 'Alert';
  const cutName =
    safeName.length <= room ? safeName : `${safeName.slice(0, Math.max(room - 3, 1)).trimEnd()}...`;
  return `${prefix}${cutName}${suffix}`.slice(0, SUBJECT_MAX_LENGTH);
}

/**
 * `[HIGH] Abnormal Cloud API Calls: AWS DeleteAccessKey`. Built only from the rule's severity and
 * name and from the cloud and action when they pass {@link SUBJECT_TOKEN}: a subject is shown before
 * the message is opened, so no attacker-chosen text (user names, resource names) may appear in it.
 */
export function alertSubject(alert: Alert): string {
  const prefix = `[${severityTag(alert.rule.severity)}] `;
  const cloud = SUBJECT_TOKEN.test(alert.event.cloud) ? alert.event.cloud.toUpperCase() : undefined;
  const action = SUBJECT_TOKEN.test(alert.event.action) ? alert.event.action : undefined;
  // Keep at least a few characters of the rule name: drop the cloud, then the action, if they crowd it out.
  const candidates = [[cloud, action], [action], []].map((tokens) =>
    tokens.filter((token) => token !== undefined),
  );
  const tokens =
    candidates.find(
      (found) => prefix.length + found.join(' ').length + 2 + MIN_NAME_LENGTH <= SUBJECT_MAX_LENGTH,
    ) ?? [];
  return fitSubject(prefix, alert.rule.name, tokens.length > 0 ? `: ${tokens.join(' ')}` : '');
}

/** `[HIGH] Digest: Abnormal Cloud API Calls (12 matches)`. */
export function digestSubject(digest: AlertDigest): string {
  const count = Number.isSafeInteger(digest.count) ? digest.count : 0;
  return fitSubject(
    `[${severityTag(digest.rule.severity)}] Digest: `,
    digest.rule.name,
    ` (${count} matches)`,
  );
}

/** A console link longer than this (built from an absurd event id) is useless in a pointer, and unbounded. */
export const MAX_POINTER_URL_LENGTH = 2048;

/** Where the complete event can be found when a message only shows a summary or had to be cut. */
export function fullEventPointer(alert: Alert): string[] {
  const lines = [`  - in the cloud's own log: event.id ${inert(alert.event.id)} (${alert.event.dataset})`];
  if (alert.consoleUrl && alert.consoleUrl.length <= MAX_POINTER_URL_LENGTH)
    lines.push(`    ${alert.consoleUrl}`);
  lines.push(`  - in the detector's state table: item pk = ${stateItemKey(alert.id)}`);
  return lines;
}

const FILTER_HELP = [
  "You receive this because this address is subscribed to the detector's SNS topic. To stop, use",
  'the unsubscribe link below. To receive only some alerts, ask the topic owner for a subscription',
  'filter policy on the message attributes severity, rule_id, cloud, event_action or kind',
  '(alert | digest), e.g. {"severity": ["critical", "high"]}.',
];

/**
 * The footer every alert e-mail ends with: where the full event is (a mail shows a summary of the
 * normalized event, and very large events are cut to fit SNS), and how to get fewer of these mails.
 */
export function emailFooter(alert: Alert): string {
  return ['-- ', 'Full event:', ...fullEventPointer(alert), '', ...FILTER_HELP].join('\n');
}

/** The e-mail as subscribers read it: the plain-text alert, then the footer. */
export function renderEmail(alert: Alert): { subject: string; body: string } {
  return { subject: alertSubject(alert), body: `${renderAlertText(alert)}\n\n${emailFooter(alert)}\n` };
}

/** A digest as plain text: short, every log value inert. */
export function renderDigestText(digest: AlertDigest): string {
  const lines = [
    `[${severityTag(digest.rule.severity)}] Digest: ${inert(digest.rule.name)} (${inert(digest.rule.id)})`,
    '',
    `${digest.count} matches in the window ${inert(digest.windowStart)} – ${inert(digest.windowEnd)}, ` +
      'the alerted one included; only the first was sent as an alert.',
    `  first seen  ${inert(digest.firstSeen)}`,
    `  last seen   ${inert(digest.lastSeen)}`,
  ];
  for (const [field, value] of Object.entries(digest.groupBy).slice(0, 20)) {
    lines.push(`  ${inert(field, 80)} = ${value === null ? '(none)' : inert(value)}`);
  }
  const samples = digest.sampleEventIds.slice(0, 20);
  if (samples.length > 0) {
    lines.push('', 'Sample event ids:', ...samples.map((id) => `  ${inert(id)}`));
  }
  lines.push(
    '',
    `Alert ${inert(digest.alertId)}; state table item pk = ${stateItemKey(inert(digest.alertId))}`,
  );
  lines.push('', '-- ', ...FILTER_HELP);
  return `${lines.join('\n')}\n`;
}
