/**
 * Reading a stream back for assertions, and a log that keeps its lines.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { ForwarderLog, LogFields } from '../../../forwarders/core/log';
import { readKinesisEvent } from '../../support/local-aws';

export interface StoredRecord {
  readonly shardId: string;
  readonly partitionKey: string;
  readonly data: Buffer;
}

/** Every record of every shard (GetShardIterator TRIM_HORIZON + GetRecords), with its shard. */
export async function readStream(client: KinesisClient, streamName: string): Promise<StoredRecord[]> {
  const event = await readKinesisEvent(client, streamName);
  return event.Records.map((record) => ({
    shardId: record.eventID.split(':')[0] ?? '',
    partitionKey: record.kinesis.partitionKey,
    data: Buffer.from(record.kinesis.data, 'base64'),
  }));
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields;
}

/** A `ForwarderLog` that keeps what it is told. */
export function memoryLog(): ForwarderLog & { readonly lines: LogLine[]; metric(name: string): LogLine[] } {
  const lines: LogLine[] = [];
  const push =
    (level: LogLine['level']) =>
    (message: string, fields: LogFields = {}): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    metric: (name) => lines.filter((line) => line.fields.metric === name),
  };
}
