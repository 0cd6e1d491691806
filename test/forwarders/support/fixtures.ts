/**
 * Real Azure Activity Log records and GCP audit LogEntries from the shared corpus, and the detector's own
 * decoding of a Kinesis payload, so forwarder tests check what arrives the way the detector will read it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SourceName } from '../../../lambda/engine/ecs';
import { normalize, recordsFromDocument } from '../../../lambda/engine/normalizers';
import { parsePayload } from '../../../lambda/handlers/pipeline';
import { CORPUS_DIR } from '../../support/corpus';

function corpusLines(cloud: 'azure' | 'gcp'): string[] {
  const dir = path.join(CORPUS_DIR, cloud);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.jsonl'))
    .sort()
    .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split(/\r?\n/))
    .filter((line) => line.trim() !== '');
}

/**
 * Activity Log records as objects (as the Functions host hands them over after parsing the message); the
 * corpus also holds Entra ID records, which are a different log and left out.
 */
export function azureRecords(): Record<string, unknown>[] {
  return corpusLines('azure')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => {
      const [item] = recordsFromDocument(record);
      return item !== undefined && 'source' in item && item.source === 'azure-activity-logs';
    });
}

/** GCP audit LogEntries as the exact JSON text a Logging sink publishes. */
export function gcpEntries(): string[] {
  return corpusLines('gcp').filter((line) => {
    const entry = JSON.parse(line) as { protoPayload?: { '@type'?: string } };
    return entry.protoPayload?.['@type'] === 'type.googleapis.com/google.cloud.audit.AuditLog';
  });
}

export interface DetectorView {
  readonly source: SourceName;
  readonly eventId: string;
  readonly record: unknown;
}

/**
 * What the detector makes of one Kinesis record's bytes: gunzip by magic bytes, JSON, unwrap, normalize.
 * Throws if it would count the payload as bad.
 */
export function asDetectorSees(data: Uint8Array): DetectorView[] {
  const views: DetectorView[] = [];
  for (const document of parsePayload(data)) {
    if ('error' in document) throw new Error(document.error);
    for (const item of recordsFromDocument(document.value)) {
      if ('error' in item) throw new Error(item.error);
      views.push({
        source: item.source,
        eventId: normalize(item.source, item.record).doc.event.id,
        record: item.record,
      });
    }
  }
  return views;
}
