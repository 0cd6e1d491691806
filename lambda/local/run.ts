import type { Alert } from '../engine/alerts/alert';
import type { DetectionStats, DetectorRule, Match } from '../engine/detector/detector';
import { Detector } from '../engine/detector/detector';
import type { DetectionStore } from '../engine/detector/store';
import type { RecordLocation } from '../engine/ecs';
import { listLogFiles, scanFiles } from './scan';

/** One line of `--matches` output: every matching record, before exceptions, dedupe and suppression. */
export interface MatchLine {
  rule: { id: string };
  event: { id: string; provider: string; action: string; dataset: string };
  cloud: { provider: string };
  '@timestamp': string;
  log: { file: { path: string; line: number } };
  exception?: { id: string };
}

export interface BadRecord {
  readonly location: RecordLocation;
  readonly reason: string;
}

/** A suppression group that folded more matches into its alert during this run. */
export interface Digest {
  readonly alertId: string;
  readonly ruleId: string;
  readonly folded: number;
  readonly total: number;
}

export interface LocalRunOptions {
  readonly paths: readonly string[];
  readonly rules: readonly DetectorRule[];
  readonly store: DetectionStore;
  /** `alerts` dedupes and suppresses; `matches` reports every match of every record. */
  readonly mode: 'alerts' | 'matches';
  readonly onAlert?: (alert: Alert) => void;
  readonly onMatch?: (line: MatchLine) => void;
  readonly onBadRecord?: (bad: BadRecord) => void;
  readonly onFile?: (progress: { files: number; totalFiles: number; bytes: number }) => void;
  readonly now?: () => Date;
}

export interface LocalRunSummary {
  files: number;
  bytes: number;
  records: number;
  badRecords: number;
  stats: DetectionStats;
  digests: Digest[];
}

/**
 * The local detector: the engine the Lambdas run, over files, with an embedded store. Nothing in
 * the input can stop it; only a path that cannot be read (thrown by `listLogFiles`) does.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunSummary> {
  const files = await listLogFiles(options.paths);
  const detector = new Detector(options.rules, options.store, options.now ? { now: options.now } : {});
  const summary: LocalRunSummary = {
    files: 0,
    bytes: 0,
    records: 0,
    badRecords: 0,
    stats: detector.stats,
    digests: [],
  };
  const folded = new Map<string, Digest>();
  const bad = (location: RecordLocation, reason: string): void => {
    summary.badRecords += 1;
    options.onBadRecord?.({ location, reason });
  };

  for await (const item of scanFiles(files)) {
    if (item.kind === 'file') {
      summary.files += 1;
      summary.bytes += item.bytes;
      options.onFile?.({ files: summary.files, totalFiles: files.length, bytes: summary.bytes });
      continue;
    }
    if (item.kind === 'bad') {
      bad(item.location, item.reason);
      continue;
    }
    summary.records += 1;
    let matches: Match[];
    try {
      matches = detector.evaluateRecord(item.source, item.record, item.location);
    } catch (error) {
      bad(item.location, error instanceof Error ? error.message : String(error));
      continue;
    }
    detector.stats.events += 1;
    for (const match of matches) {
      if (options.mode === 'matches') {
        detector.stats.matched += 1;
        options.onMatch?.(matchLine(match));
        continue;
      }
      const decision = await detector.decide(match);
      if (decision.kind === 'alert') options.onAlert?.(decision.alert);
      if (decision.kind === 'suppressed') {
        const previous = folded.get(decision.alertId);
        folded.set(decision.alertId, {
          alertId: decision.alertId,
          ruleId: match.rule.id,
          folded: (previous?.folded ?? 0) + 1,
          total: decision.count,
        });
      }
    }
  }
  summary.digests = [...folded.values()];
  return summary;
}

function matchLine(match: Match): MatchLine {
  const { doc } = match.normalized;
  const location = match.location ?? {};
  const line: MatchLine = {
    rule: { id: match.rule.id },
    event: {
      id: doc.event.id,
      provider: doc.event.provider,
      action: doc.event.action,
      dataset: doc.event.dataset,
    },
    cloud: { provider: doc.cloud.provider },
    '@timestamp': doc['@timestamp'],
    log: { file: { path: location.file ?? '', line: location.line ?? location.index ?? 1 } },
  };
  if (match.exceptionId !== undefined) line.exception = { id: match.exceptionId };
  return line;
}
