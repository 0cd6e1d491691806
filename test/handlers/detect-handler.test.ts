import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PublishCommand } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import { MissingEnvironmentError, requireEnv } from '../../lambda/handlers/env';
import type { CloudTrailBridgeEvent } from '../../lambda/handlers/pipeline';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';

const ROOT = path.resolve(import.meta.dirname, '../..');
const [bridgeEvent] = readFileSync(path.join(ROOT, 'samples/aws/eventbridge-iam-events.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CloudTrailBridgeEvent);

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

function stubEnvironment(table: string): void {
  vi.stubEnv('TABLE_NAME', table);
  vi.stubEnv('TOPIC_ARN', 'arn:aws:sns:us-east-1:111122223333:alerts');
  vi.stubEnv('DEAD_LETTER_BUCKET', 'dead-letters');
  vi.stubEnv('RULES_DIR', path.join(ROOT, 'rules'));
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'detector-test');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'AbnormalCloudApiCalls');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
}

describe('detect handler (the Lambda entry point)', () => {
  it('reads its environment at load and runs an EventBridge event through replaced clients', async () => {
    const table = uniqueName('handler');
    await createStateTable(aws.dynamodb, table);
    stubEnvironment(table);
    const { clients, handler } = await import('../../lambda/handlers/detect');
    const send = vi.fn(async (_command: PublishCommand) => ({ MessageId: 'message-1' }));
    clients.dynamodb = aws.dynamodb;
    clients.sns = { send } as unknown as SnsSender;

    const first = await handler(bridgeEvent as CloudTrailBridgeEvent);
    const again = await handler(bridgeEvent as CloudTrailBridgeEvent);

    expect(first).toBeUndefined();
    expect(again).toBeUndefined();
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0]?.[0].input.TopicArn).toBe('arn:aws:sns:us-east-1:111122223333:alerts');
  });

  it('reports a bad Kinesis record as failed while no S3 client is wired, rather than dropping it', async () => {
    const table = uniqueName('handler');
    await createStateTable(aws.dynamodb, table);
    stubEnvironment(table);
    const { clients, handler } = await import('../../lambda/handlers/detect');
    clients.dynamodb = aws.dynamodb;

    const response = await handler({
      Records: [
        {
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: 'k',
            sequenceNumber: '1',
            data: Buffer.from('not json').toString('base64'),
            approximateArrivalTimestamp: 0,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: 'shardId-000000000000:1',
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: 'arn:aws:iam::111122223333:role/detect',
          awsRegion: 'us-east-1',
          eventSourceARN: 'arn:aws:kinesis:us-east-1:111122223333:stream/audit',
        },
      ],
    });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
  });

  it('fails to load, naming the variable, when the stack did not set TABLE_NAME', async () => {
    stubEnvironment('');

    await expect(import('../../lambda/handlers/detect')).rejects.toThrow(
      'environment variable TABLE_NAME is not set',
    );
  });
});

describe('requireEnv', () => {
  it('returns a set variable', () => {
    expect(requireEnv('X', { X: 'value' })).toBe('value');
  });

  it.each([
    ['unset', {}],
    ['empty', { X: ' ' }],
  ])('throws MissingEnvironmentError when the variable is %s', (_name, env) => {
    expect(() => requireEnv('X', env)).toThrow(MissingEnvironmentError);
  });
});
