import type { RunbookPhase } from '../rules/schema';
import { RUNBOOK_PHASES } from '../rules/schema';
import type { Alert, RunbookStep } from './alert';
import type { AlertDigest } from './publisher';

/*
 * Slack's documented limits for messages built from blocks. A message over any of them is rejected
 * (`invalid_blocks`) and the alert would be lost, so every renderer below stays inside them by
 * construction and the tests check it with hostile input.
 */
/** Blocks per message. */
export const SLACK_MAX_BLOCKS = 50;
/** Characters in a section's `text`. */
export const SLACK_MAX_SECTION_TEXT = 3000;
/** Characters in one section field. */
export const SLACK_MAX_FIELD_TEXT = 2000;
/** Fields per section. */
export const SLACK_MAX_FIELDS = 10;
/** Characters in a header block's text. */
export const SLACK_MAX_HEADER_TEXT = 150;
/** Elements per context block. */
export const SLACK_MAX_CONTEXT_ELEMENTS = 10;
/** Characters in a button's label and URL. */
export const SLACK_MAX_BUTTON_TEXT = 75;
export const SLACK_MAX_BUTTON_URL = 3000;

/** Longest log value shown in full (output characters, escapes included); the rest is cut with a count. */
const VALUE_LENGTH = 300;
const USER_AGENT_LENGTH = 400;
const TARGET_VALUE_LENGTH = 250;
const MAX_TARGET_ENTRIES = 6;
const STEP_TEXT_LENGTH = 1000;
/** A command longer than this is left out rather than cut: half a shell command can do the wrong thing. */
const COMMAND_LENGTH = 1500;
const DESCRIPTION_LENGTH = 1200;
const MAX_SAMPLE_EVENT_IDS = 10;

export interface SlackPlainText {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
}

export interface SlackMrkdwn {
  readonly type: 'mrkdwn';
  readonly text: string;
  /** `true`: Slack does not auto-link URLs or channel names, nor parse bare mentions, in the text. */
  readonly verbatim?: boolean;
}

export type SlackTextObject = SlackPlainText | SlackMrkdwn;

export type SlackBlock =
  | { readonly type: 'header'; readonly text: SlackPlainText }
  | {
      readonly type: 'section';
      readonly text?: SlackMrkdwn;
      readonly fields?: readonly SlackMrkdwn[];
    }
  | { readonly type: 'divider' }
  | { readonly type: 'context'; readonly elements: readonly SlackTextObject[] }
  | {
      readonly type: 'actions';
      readonly elements: readonly {
        readonly type: 'button';
        readonly text: SlackPlainText;
        readonly url: string;
        readonly action_id: string;
      }[];
    };

/** The JSON body an incoming webhook accepts. */
export interface SlackMessage {
  /** Shown in notifications and by clients that cannot draw blocks. */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
  /** Never let Slack fetch a preview of a URL an attacker may have put in a log value. */
  readonly unfurl_links: false;
  readonly unfurl_media: false;
}

const ESCAPED_CHARACTERS: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  // U+02CB MODIFIER LETTER GRAVE ACCENT: looks like a backtick but cannot open or close a code span.
  '`': '\u02cb',
};

/** Characters that move the cursor, break lines, reorder text or hide themselves. */
const INVISIBLE = /^[\p{Cc}\p{Cf}\u2028\u2029]$/u;

/** One character as it may appear in Slack mrkdwn: the escaped form, or itself. */
function escapeCharacter(char: string): string {
  const escaped = ESCAPED_CHARACTERS[char];
  if (escaped !== undefined) return escaped;
  const code = char.codePointAt(0) ?? 0;
  // A lone surrogate (a UTF-16 string cut in half) is not valid Unicode; Slack may reject the JSON.
  const loneSurrogate = char.length === 1 && code >= 0xd800 && code <= 0xdfff;
  if (loneSurrogate || INVISIBLE.test(char)) return `\\u{${code.toString(16)}}`;
  return char;
}

/**
 * Escapes `text` and cuts it so the result, plus `reserve` characters, fits in `max`. Returns the
 * escaped text and how many UTF-16 units of the input were left out.
 */
function escapeWithin(text: string, max: number): { escaped: string; omitted: number } {
  let escaped = '';
  let consumed = 0;
  for (const char of text) {
    const piece = escapeCharacter(char);
    if (escaped.length + piece.length > max) return { escaped, omitted: text.length - consumed };
    escaped += piece;
    consumed += char.length;
  }
  return { escaped, omitted: 0 };
}

function cutNote(omitted: number): string {
  return `… (${omitted} more characters)`;
}

/**
 * Renders any value that came from a log (user names, user agents, resource names, ids, IPs, error
 * messages: everything an attacker can choose) for Slack mrkdwn, INERT, in at most `max` characters.
 *
 * Strategy: the value becomes an inline code span. Inside a code span Slack applies no `*bold*`,
 * `_italic_`, `~strike~` or `:emoji:` formatting, and analysts can copy ids exactly (underscores,
 * asterisks and tildes are kept as they are, unlike look-alike substitution or zero-width tricks,
 * which corrupt what is pasted into a console). What a code span does not neutralize is handled per
 * character: `&`, `<`, `>` become entities, so `<!channel>`, `<@U123>` and `<https://evil|Approve>`
 * cannot form a mention or a disguised link; a backtick becomes U+02CB so the value cannot close the
 * span; control and format characters (CR/LF, ANSI escapes, bidi overrides U+202A–202E and
 * U+2066–2069, zero-width characters) and lone surrogates become visible `\u{…}` escapes. Long values
 * are cut with a count. The text objects that carry these spans are also `verbatim`.
 */
export function slackInert(value: string, max = VALUE_LENGTH): string {
  if (value.length === 0) return '_(empty)_';
  const whole = escapeWithin(value, max - 2);
  if (whole.omitted === 0) return `\`${whole.escaped}\``;
  const note = cutNote(value.length);
  const cut = escapeWithin(value, max - 2 - note.length);
  return `\`${cut.escaped}\`${cutNote(cut.omitted)}`;
}

/**
 * Text the rule author wrote (rule name and description, runbook steps): mrkdwn formatting is
 * allowed, but `&`, `<`, `>` are still escaped and invisible characters made visible, so even a
 * careless rule file cannot ping a channel or hide a link.
 */
export function slackProse(text: string, max: number): string {
  const whole = escapeWithin(text, max);
  if (whole.omitted === 0) return whole.escaped;
  const cut = escapeWithin(text, max - cutNote(text.length).length);
  return `${cut.escaped}${cutNote(cut.omitted)}`;
}

/** In `plain_text`, whether Slack decodes entities is not documented: use look-alikes instead. */
const PLAIN_TEXT_LOOKALIKES: Readonly<Record<string, string>> = {
  '&': '\uff06',
  '<': '\uff1c',
  '>': '\uff1e',
};

/**
 * Header blocks are `plain_text`: Slack parses no mentions, links or mrkdwn there. Only the trusted
 * severity and rule name go in; invisible characters are still made visible, and `&`, `<`, `>`
 * become their full-width look-alikes so the text reads the same whichever way Slack treats entities.
 */
function plainText(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    const piece = PLAIN_TEXT_LOOKALIKES[char] ?? (char === '`' ? char : escapeCharacter(char));
    if (out.length + piece.length > max - 1) return `${out}…`;
    out += piece;
  }
  return out;
}

/**
 * A filled containment command as a code block. A command too long to show whole is left out with a
 * note instead of cut: a truncated shell command can run something other than what the runbook says.
 */
function codeBlock(command: string): string {
  const { escaped, omitted } = escapeWithin(command, COMMAND_LENGTH);
  if (omitted > 0) {
    return `_(command left out: ${command.length} characters, too long to show safely; see the e-mail alert)_`;
  }
  const note = command.includes('`')
    ? '\n_(backticks in values are shown as ˋ: retype them before running)_'
    : '';
  return `\`\`\`${escaped}\`\`\`${note}`;
}

const CONSOLE_HOSTS = [
  /^[a-z0-9-]+\.console\.aws\.amazon\.com$/,
  /^portal\.azure\.com$/,
  /^console\.cloud\.google\.com$/,
];

/**
 * The console link if, and only if, it is an https URL on one of the three clouds' console hosts.
 * `consoleUrl` is built by us from log values, but a button is where a forged link would do harm, so
 * the rule is checked at the edge too.
 */
export function trustedConsoleUrl(url: string | undefined): string | undefined {
  if (url === undefined || url.length > SLACK_MAX_BUTTON_URL) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (
    parsed.protocol !== 'https:' ||
    parsed.username !== '' ||
    parsed.password !== '' ||
    parsed.port !== ''
  ) {
    return undefined;
  }
  if (!CONSOLE_HOSTS.some((host) => host.test(parsed.hostname))) return undefined;
  return url;
}

const SEVERITY_EMOJI: Readonly<Record<string, string>> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_circle:',
  low: ':large_yellow_circle:',
};

const CLOUD_NAMES: Readonly<Record<string, string>> = { aws: 'AWS', azure: 'Azure', gcp: 'Google Cloud' };

function severityLabel(severity: string): string {
  return /^[A-Za-z]{1,16}$/.test(severity) ? severity.toUpperCase() : 'ALERT';
}

function header(severity: string, title: string): SlackBlock {
  const emoji = SEVERITY_EMOJI[severity.toLowerCase()] ?? ':white_circle:';
  return {
    type: 'header',
    text: {
      type: 'plain_text',
      text: plainText(`${emoji} ${severityLabel(severity)} · ${title}`, SLACK_MAX_HEADER_TEXT),
      emoji: true,
    },
  };
}

function mrkdwn(text: string): SlackMrkdwn {
  return { type: 'mrkdwn', text, verbatim: true };
}

/** `*Label*` over the inert value, or an em dash when the event had no value. */
function field(label: string, value: string | undefined, max = VALUE_LENGTH): SlackMrkdwn {
  return mrkdwn(`*${label}*\n${value === undefined ? '—' : slackInert(value, max)}`);
}

function targetField(alert: Alert): SlackMrkdwn {
  const entries = Object.entries(alert.event.target ?? {}).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  if (entries.length === 0) return field('Target', undefined);
  const lines = entries
    .slice(0, MAX_TARGET_ENTRIES)
    .map(([key, value]) => `${slackInert(key, 40)} ${slackInert(value, TARGET_VALUE_LENGTH)}`);
  if (entries.length > MAX_TARGET_ENTRIES) lines.push(`_(${entries.length - MAX_TARGET_ENTRIES} more)_`);
  return mrkdwn(`*Target*\n${lines.join('\n')}`);
}

const PHASE_TITLES: Record<RunbookPhase, string> = {
  triage: 'Triage',
  containment: 'Containment',
  remediation: 'Remediation',
  post_incident_review: 'Post-incident review',
};

function stepPieces(step: RunbookStep): string[] {
  const pieces = [`• ${slackProse(step.text, STEP_TEXT_LENGTH)}`];
  for (const command of step.commands) {
    pieces.push(codeBlock(command.command));
    if (command.missing.length > 0) {
      const missing = command.missing.slice(0, 10).map((path) => slackInert(path, 80));
      pieces.push(`_Fill in:_ ${missing.join(', ')}${command.missing.length > 10 ? ', …' : ''}`);
    }
  }
  return pieces;
}

/** Packs lines into section texts of at most `SLACK_MAX_SECTION_TEXT` characters each. */
function packSections(pieces: readonly string[]): string[] {
  const sections: string[] = [];
  let current = '';
  for (const piece of pieces) {
    const next = current === '' ? piece : `${current}\n${piece}`;
    if (next.length <= SLACK_MAX_SECTION_TEXT) {
      current = next;
      continue;
    }
    if (current !== '') sections.push(current);
    // Pieces are bounded when built; this only guards against a limit changing under them.
    current =
      piece.length <= SLACK_MAX_SECTION_TEXT
        ? piece
        : '_(runbook line too long for Slack; see the e-mail alert)_';
  }
  if (current !== '') sections.push(current);
  return sections;
}

function runbookSections(alert: Alert): string[] {
  const sections: string[] = [];
  for (const phase of RUNBOOK_PHASES) {
    const steps = alert.runbook[phase] ?? [];
    if (steps.length === 0) continue;
    sections.push(...packSections([`*${PHASE_TITLES[phase]}*`, ...steps.flatMap(stepPieces)]));
  }
  return sections;
}

/** The one-line summary for notifications; the same trusted fields as the e-mail subject. */
export function slackFallbackText(alert: Alert): string {
  const { event, rule } = alert;
  return `${slackProse(`[${severityLabel(rule.severity)}] ${rule.name}`, 200)}: ${slackInert(event.cloud.toUpperCase(), 40)} ${slackInert(event.action, 120)} by ${event.userName === undefined ? 'unknown' : slackInert(event.userName, 120)}`;
}

/**
 * The Block Kit message an analyst reads in Slack: what happened and who did it first (the seed's
 * triage fields), then the runbook with its commands filled in, then where the alert came from.
 * Pure, and inside Slack's limits for any input.
 */
export function renderSlackMessage(alert: Alert): SlackMessage {
  const { event, rule } = alert;
  const techniques = rule.techniques
    .slice(0, 5)
    .map((technique) => `${slackInert(technique.id, 20)} ${slackProse(technique.name, 80)}`)
    .join(', ');
  const summary = [
    slackProse(rule.description, DESCRIPTION_LENGTH),
    `*Risk score* ${Number.isFinite(rule.riskScore) ? rule.riskScore : '—'} · *Rule* ${slackInert(rule.id, 120)}`,
    techniques === '' ? '' : `*ATT&amp;CK* ${techniques}`,
  ].filter((line) => line !== '');

  const head: SlackBlock[] = [
    header(rule.severity, rule.name),
    { type: 'section', text: mrkdwn(summary.join('\n')) },
    {
      type: 'section',
      fields: [
        field('User', event.userName),
        field('Account', event.accountId),
        field('Source IP', event.sourceIp),
        field('User agent', event.userAgent, USER_AGENT_LENGTH),
        field('Action', event.action),
        field('Provider', event.provider),
      ],
    },
    {
      type: 'section',
      fields: [
        targetField(alert),
        field('Outcome', event.outcome ?? 'unknown'),
        field('Time', event.time),
        field('Region', event.region),
        field('Event id', event.id),
        ...(event.errorCode === undefined
          ? []
          : [field('Error', `${event.errorCode}: ${event.errorMessage ?? ''}`, VALUE_LENGTH)]),
      ],
    },
  ];
  const url = trustedConsoleUrl(alert.consoleUrl);
  if (url !== undefined) {
    head.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: {
            type: 'plain_text',
            text: `Open in ${CLOUD_NAMES[event.cloud] ?? 'cloud'} console`,
            emoji: false,
          },
          url,
          action_id: 'open_console',
        },
      ],
    });
  }
  head.push({ type: 'divider' });

  const tail: SlackBlock = {
    type: 'context',
    elements: [
      mrkdwn(
        `Alert ${slackInert(alert.id, 120)} · suppression window until ${slackInert(alert.dedupe.windowEnd, 60)}`,
      ),
      mrkdwn(
        `Normalized by ${slackInert(alert.provenance.providerEntry, 120)} (${slackInert(alert.provenance.rawProvider, 200)}), ` +
          `${slackInert(alert.provenance.actionEntry, 120)} (${slackInert(alert.provenance.rawAction, 200)})`,
      ),
    ],
  };

  const sections = runbookSections(alert);
  const room = SLACK_MAX_BLOCKS - head.length - 1;
  const shown = sections.length <= room ? sections : sections.slice(0, room - 1);
  const runbook: SlackBlock[] = shown.map((text) => ({ type: 'section', text: mrkdwn(text) }));
  if (shown.length < sections.length) {
    runbook.push({
      type: 'section',
      text: mrkdwn(
        `_Runbook cut to fit Slack: ${sections.length - shown.length} more sections are in the e-mail alert._`,
      ),
    });
  }

  return {
    text: slackFallbackText(alert),
    blocks: [...head, ...runbook, tail],
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** What a suppression group folded in after its alert, as a short message in the alert's channel. */
export function renderSlackDigest(digest: AlertDigest): SlackMessage {
  const groupBy = Object.entries(digest.groupBy).slice(0, 6);
  const samples = digest.sampleEventIds.slice(0, MAX_SAMPLE_EVENT_IDS);
  const moreSamples = digest.sampleEventIds.length - samples.length;
  const fields: SlackMrkdwn[] = [
    mrkdwn(`*Matches*\n${Number.isFinite(digest.count) ? digest.count : '—'}`),
    field('Window', `${digest.windowStart} – ${digest.windowEnd}`, 120),
    field('First seen', digest.firstSeen),
    field('Last seen', digest.lastSeen),
    ...groupBy.map(([name, value]) => field(slackProse(name, 80), value ?? undefined, 250)),
  ];
  const sampleText =
    samples.length === 0
      ? ''
      : `*Sample event ids*\n${samples.map((id) => slackInert(id, 200)).join('\n')}${moreSamples > 0 ? `\n_(${moreSamples} more)_` : ''}`;
  const blocks: SlackBlock[] = [
    header(digest.rule.severity, `Digest: ${digest.rule.name}`),
    { type: 'section', fields: fields.slice(0, SLACK_MAX_FIELDS) },
  ];
  if (sampleText !== '') blocks.push({ type: 'section', text: mrkdwn(sampleText) });
  blocks.push({
    type: 'context',
    elements: [mrkdwn(`Alert ${slackInert(digest.alertId, 120)} · rule ${slackInert(digest.rule.id, 120)}`)],
  });
  return {
    text: `${slackProse(`[${severityLabel(digest.rule.severity)}] Digest: ${digest.rule.name}`, 200)} (${Number.isFinite(digest.count) ? digest.count : '?'} matches)`,
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  };
}
