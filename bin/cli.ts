#!/usr/bin/env node
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Alert } from '../lambda/engine/alerts/alert';
import { MemoryStore } from '../lambda/engine/detector/memory-store';
import { loadRules } from '../lambda/engine/rules';
import { formatSummary, progressReporter, renderAlertBlock, renderBadRecord } from '../lambda/local/output';
import { isRenderChannel, RENDER_CHANNELS, renderForChannel } from '../lambda/local/render-command';
import { runLocal } from '../lambda/local/run';
import { SqlCommandError, sweepSqlText } from '../lambda/local/sql-command';
import { openStateFile, saveStateFile } from '../lambda/local/state-file';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm start -- [options] [paths…]

Runs the detector over log files and folders (.json, .jsonl, .ndjson, and .gz of each):
CloudTrail S3 files and EventBridge envelopes, Azure Activity exports, GCP Audit LogEntries.
With no paths, scans the bundled samples/.

Options:
  --format text|ndjson  how alerts are printed (default: text)
  --render CHANNEL      print each alert exactly as it arrives: email, slack or sns
  --sql                 print the sweep's Athena SQL per rule and source instead of scanning
  --since DURATION      the window --sql covers, ending now (default: 30d, the seed's retrospective)
  --matches             print one JSON line per matching record, without dedupe or suppression
  --state FILE          keep dedupe and suppression state in FILE across runs
  --rules DIR           the rules to run (default: rules/)
  --help                this text`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'text' },
      render: { type: 'string' },
      sql: { type: 'boolean', default: false },
      since: { type: 'string' },
      matches: { type: 'boolean', default: false },
      state: { type: 'string' },
      rules: { type: 'string', default: path.join(ROOT, 'rules') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'ndjson') {
    process.stderr.write(`error: --format must be text or ndjson, not "${values.format}"\n`);
    return 2;
  }
  if (values.render !== undefined && !isRenderChannel(values.render)) {
    process.stderr.write(
      `error: --render must be one of ${RENDER_CHANNELS.join(', ')}, not "${values.render}"\n`,
    );
    return 2;
  }
  const format = values.format;
  const channel = values.render;
  const paths =
    positionals.length > 0 ? positionals : [path.relative(process.cwd(), path.join(ROOT, 'samples')) || '.'];
  const rules = await loadRules(values.rules);
  if (values.sql) {
    try {
      process.stdout.write(sweepSqlText(rules, values.since === undefined ? {} : { since: values.since }));
    } catch (error) {
      if (!(error instanceof SqlCommandError)) throw error;
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    return 0;
  }
  const store = values.state ? await openStateFile(values.state) : new MemoryStore();
  const progress = progressReporter(process.stderr);
  const machineReadable = format === 'ndjson' || values.matches || channel !== undefined;

  const summary = await runLocal({
    paths,
    rules,
    store,
    mode: values.matches ? 'matches' : 'alerts',
    onAlert: (alert) => {
      progress.clear();
      if (channel !== undefined) process.stdout.write(`${renderForChannel(alert, channel)}\n`);
      else process.stdout.write(format === 'ndjson' ? `${alertJsonLine(alert)}\n` : renderAlertBlock(alert));
    },
    onMatch: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
    onBadRecord: (bad) => {
      progress.clear();
      process.stderr.write(renderBadRecord(bad));
    },
    onFile: progress.update,
  });
  progress.clear();
  if (values.state) await saveStateFile(values.state, store);
  (machineReadable ? process.stderr : process.stdout).write(formatSummary(summary, values.matches));
  return 0;
}

/**
 * One alert as a JSON line. A raw event can nest deeper than `JSON.stringify` can follow (JSON nests
 * thousands of levels in a few kilobytes); such an alert is printed without its raw document, marked.
 */
function alertJsonLine(alert: Alert): string {
  try {
    return JSON.stringify(alert);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const { document, ...rest } = alert;
    return JSON.stringify({
      ...rest,
      document: { truncated: 'the raw event is nested too deeply to print' },
    });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
