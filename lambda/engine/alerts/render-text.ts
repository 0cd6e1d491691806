import type { RecordLocation } from '../ecs';
import type { RunbookPhase } from '../rules/schema';
import { RUNBOOK_PHASES } from '../rules/schema';
import type { Alert } from './alert';

const PHASE_TITLES: Record<RunbookPhase, string> = {
  triage: 'Triage',
  containment: 'Containment',
  remediation: 'Remediation',
  post_incident_review: 'Post-incident review',
};

/** Longest attacker-controlled value shown in full; the rest is cut with a count. */
const MAX_VALUE_LENGTH = 300;

/**
 * Makes a log value safe to print on a terminal or in plain-text mail: control and format
 * characters (ANSI escapes, CR/LF, bidi overrides) become visible `\u{…}` escapes, and very long
 * values are cut. An attacker picks user names and user agents; they must not move the cursor,
 * recolour the screen or forge extra lines. Lone surrogates (half a character, which a JSON `\ud800`
 * escape can carry) are made visible too, so the text stays valid Unicode for every mail gateway.
 */
export function inert(value: string, max = MAX_VALUE_LENGTH): string {
  const cut = value.length > max ? `${value.slice(0, max)}… (${value.length - max} more characters)` : value;
  return cut.replace(
    /\p{Cc}|\p{Cf}|\p{Cs}|\u2028|\u2029/gu,
    (char) => `\\u{${char.codePointAt(0)?.toString(16)}}`,
  );
}

/** The alert as readable text: what the local detector prints and what e-mail subscribers read. */
export function renderAlertText(alert: Alert): string {
  const { event, rule } = alert;
  const lines: string[] = [];
  const techniques = rule.techniques.map((technique) => `${technique.id} ${technique.name}`).join('; ');
  lines.push(`[${rule.severity.toUpperCase()} ${rule.riskScore}] ${rule.name} (${rule.id})`);
  lines.push(
    `${event.cloud.toUpperCase()} ${inert(event.provider)} ${inert(event.action)} — ${event.outcome ?? 'unknown'}`,
  );
  lines.push('');
  const fields: [string, string | undefined][] = [
    ['user.name', event.userName],
    ['user.id', event.userId],
    ['cloud.account.id', event.accountId],
    ['source.ip', event.sourceIp],
    ['user_agent.original', event.userAgent],
    ['@timestamp', event.time],
    ['cloud.region', event.region],
    ['event.id', event.id],
    ['error', event.errorCode ? `${event.errorCode}: ${event.errorMessage ?? ''}` : undefined],
  ];
  for (const [target, value] of Object.entries(event.target ?? {})) {
    if (typeof value === 'string') fields.push([`target.${target}`, value]);
  }
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) {
    if (value !== undefined) lines.push(`  ${name.padEnd(width)}  ${inert(value)}`);
  }
  lines.push('');
  if (techniques) lines.push(`ATT&CK: ${techniques}`);
  if (alert.consoleUrl) lines.push(`Console: ${alert.consoleUrl}`);
  lines.push(
    `Normalized by: ${alert.provenance.providerEntry} (${inert(alert.provenance.rawProvider)}), ` +
      `${alert.provenance.actionEntry} (${inert(alert.provenance.rawAction)})`,
  );
  if (alert.location?.file) lines.push(`Record: ${inert(recordLocation(alert.location))}`);
  lines.push(`Suppression: group ${alert.dedupe.groupKey} until ${alert.dedupe.windowEnd}`);
  for (const phase of RUNBOOK_PHASES) {
    const steps = alert.runbook[phase];
    if (steps.length === 0) continue;
    lines.push('', `${PHASE_TITLES[phase]}:`);
    for (const step of steps) {
      lines.push(`  - ${step.text}`);
      for (const command of step.commands) {
        const note = command.missing.length > 0 ? `   # fill in: ${command.missing.join(', ')}` : '';
        lines.push(`      $ ${command.command}${note}`);
      }
    }
  }
  return lines.join('\n');
}

/** `file:line` in a JSON Lines file, `file#position` inside a JSON document. */
export function recordLocation(location: RecordLocation): string {
  const file = location.file ?? location.transport ?? '<input>';
  if (location.line !== undefined) return `${file}:${location.line}`;
  return location.index !== undefined ? `${file}#${location.index}` : file;
}
