import type { Alert } from '../engine/alerts/alert';
import { inert, recordLocation, renderAlertText } from '../engine/alerts/render-text';
import type { BadRecord, LocalRunSummary } from './run';

const RULE = '─'.repeat(78);

export function renderAlertBlock(alert: Alert): string {
  return `${RULE}\n${renderAlertText(alert)}\n\n`;
}

/** `file:line` (or `file#position` inside a JSON document), then why the record was set aside. */
export function renderBadRecord(bad: BadRecord): string {
  return `bad record: ${inert(recordLocation(bad.location))}: ${inert(bad.reason)}\n`;
}

/** The closing lines of a scan: what was read, what matched, and where each match went. */
export function formatSummary(summary: LocalRunSummary, matchesMode: boolean): string {
  const { stats } = summary;
  const lines = [
    `Scanned ${count(summary.files, 'file')} (${formatBytes(summary.bytes)}), ${count(summary.records, 'record')}.`,
    matchesMode
      ? `${stats.matched} matched, ${count(summary.badRecords, 'bad record')}.`
      : `${stats.matched} matched: ${count(stats.alerts, 'alert')}, ${stats.suppressed} suppressed, ` +
        `${count(stats.duplicates, 'duplicate')}, ${stats.excepted} excepted; ${count(summary.badRecords, 'bad record')}.`,
  ];
  for (const [exceptionId, matches] of Object.entries(stats.exceptedBy)) {
    lines.push(`  exception ${exceptionId}: ${count(matches, 'match', 'matches')} suppressed`);
  }
  for (const digest of summary.digests) {
    lines.push(
      `  alert ${digest.alertId} (${digest.ruleId}): ${count(digest.folded, 'more match', 'more matches')} ` +
        `folded in (${digest.total} in its window)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A one-line progress counter on stderr, only when a person is watching a terminal. */
export function progressReporter(stream: NodeJS.WriteStream): {
  update: (progress: { files: number; totalFiles: number; bytes: number }) => void;
  clear: () => void;
} {
  let shown = false;
  let last = 0;
  return {
    update: ({ files, totalFiles, bytes }) => {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (now - last < 200 && files < totalFiles) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[Kscanning: ${files}/${totalFiles} files, ${formatBytes(bytes)}`);
    },
    clear: () => {
      if (!shown) return;
      shown = false;
      stream.write('\r\x1b[K');
    },
  };
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
