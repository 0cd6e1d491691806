import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as S3 from '@aws-sdk/client-s3';
import type { PublishCommand } from '@aws-sdk/client-sns';
import type { KinesisStreamRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SnsSender } from '../../lambda/adapters/sns-publisher';
import {
  loadRuleTests,
  PRECOMPILED_RULES_FILE,
  precompileRuleDirectory,
  serializeRuleDocuments,
} from '../../lambda/engine/rules';
import { MissingEnvironmentError, requireEnv } from '../../lambda/handlers/env';
import type { CloudTrailBridgeEvent } from '../../lambda/handlers/pipeline';
import type { LocalAws } from '../support/local-aws';
import { createStateTable, startLocalAws, uniqueName } from '../support/local-aws';

const ROOT = path.resolve(import.meta.dirname, '../..');
const [bridgeEvent] = readFileSync(path.join(ROOT, 'samples/aws/eventbridge-iam-events.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CloudTrailBridgeEvent);

const SDK_PACKAGES = ['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sns'];

/** The rules folder as the stack bundles it: here, only the precompiled `rules.json`. */
const rulesDir = mkdtempSync(path.join(tmpdir(), 'detect-rules-'));
writeFileSync(
  path.join(rulesDir, PRECOMPILED_RULES_FILE),
  serializeRuleDocuments(precompileRuleDirectory(path.join(ROOT, 'rules'))),
);

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});

afterAll(async () => {
  await aws.stop();
  rmSync(rulesDir, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const name of SDK_PACKAGES) vi.doUnmock(name);
  vi.resetModules();
});

function stubEnvironment(table: string): void {
  vi.stubEnv('TABLE_NAME', table);
  vi.stubEnv('TOPIC_ARN', 'arn:aws:sns:us-east-1:111122223333:alerts');
  vi.stubEnv('DEAD_LETTER_BUCKET', 'dead-letters');
  vi.stubEnv('RULES_DIR', rulesDir);
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

  it('reports a bad Kinesis record as failed when its dead-letter write fails, rather than dropping it', async () => {
    const table = uniqueName('handler');
    await createStateTable(aws.dynamodb, table);
    stubEnvironment(table);
    const { clients, handler } = await import('../../lambda/handlers/detect');
    clients.dynamodb = aws.dynamodb;
    clients.s3 = { send: vi.fn(async () => Promise.reject(new Error('S3 is unavailable'))) };

    const response = await handler({ Records: [kinesisRecord('1', 'not json')] });

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
  });

  it.each([
    ['off', 1],
    ['on', 0],
  ])(
    'with LITERAL_PREFILTER=%s, dead-letters a payload that is not JSON and holds no rule literal %i times',
    async (setting, deadLetters) => {
      stubEnvironment('state');
      vi.stubEnv('LITERAL_PREFILTER', setting);
      const { clients, handler } = await import('../../lambda/handlers/detect');
      const send = vi.fn(async () => ({}));
      clients.s3 = { send };

      const response = await handler({ Records: [kinesisRecord('1', 'not json, and no rule literal')] });

      expect(response).toEqual({ batchItemFailures: [] });
      expect(send).toHaveBeenCalledTimes(deadLetters);
    },
  );

  it('fails the cold start on a LITERAL_PREFILTER that is neither on nor off, naming it', async () => {
    stubEnvironment('state');
    vi.stubEnv('LITERAL_PREFILTER', 'yes');

    await expect(import('../../lambda/handlers/detect')).rejects.toThrow(
      /LITERAL_PREFILTER must be "on" or "off"/,
    );
  });

  it("imports no AWS SDK package for a batch in which nothing matches: the rule's no_match test events", async () => {
    stubEnvironment('state');
    // Counts every import of the packages, static or dynamic, from anywhere in the handler's modules.
    const imported: string[] = [];
    for (const name of SDK_PACKAGES) {
      vi.doMock(name, async (importOriginal) => {
        imported.push(name);
        return importOriginal();
      });
    }
    const { awsSdk } = await import('../../lambda/adapters/aws-sdk');
    const imports = [vi.spyOn(awsSdk, 'dynamodb'), vi.spyOn(awsSdk, 's3'), vi.spyOn(awsSdk, 'sns')];
    const { handler } = await import('../../lambda/handlers/detect');
    const { tests } = await loadRuleTests(path.join(ROOT, 'rules/abnormal-cloud-api-calls.tests.yaml'));
    const quiet = tests.filter((test) => test.expect === 'no_match');

    const empty = await handler({ Records: [] });
    const response = await handler({
      Records: quiet.map((test, index) => kinesisRecord(String(index + 1), JSON.stringify(test.event))),
    });

    expect(quiet.length).toBeGreaterThan(5);
    expect(empty).toEqual({ batchItemFailures: [] });
    expect(response).toEqual({ batchItemFailures: [] });
    for (const load of imports) expect(load).not.toHaveBeenCalled();
    expect(imported).toEqual([]);
  });

  it('imports the S3 package for the first bad record and builds one client for every later one', async () => {
    stubEnvironment('state');
    const { awsSdk } = await import('../../lambda/adapters/aws-sdk');
    const written: unknown[] = [];
    let built = 0;
    const fakeS3 = {
      S3Client: class {
        constructor() {
          built += 1;
        }
        async send(command: { input: unknown }): Promise<object> {
          written.push(command.input);
          return {};
        }
      },
      PutObjectCommand: class {
        constructor(readonly input: unknown) {}
      },
    };
    const loadS3 = vi.spyOn(awsSdk, 's3').mockResolvedValue(fakeS3 as unknown as typeof S3);
    const loadDynamoDb = vi.spyOn(awsSdk, 'dynamodb');
    const { handler } = await import('../../lambda/handlers/detect');

    const responses = await Promise.all([
      handler({ Records: [kinesisRecord('1', 'not json'), kinesisRecord('2', '{"half')] }),
      handler({ Records: [kinesisRecord('3', 'nor this')] }),
    ]);

    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(loadS3).toHaveBeenCalled();
    expect(built).toBe(1);
    expect(written).toHaveLength(3);
    expect(loadDynamoDb).not.toHaveBeenCalled();
  });

  it('fails to load, naming the variable, when the stack did not set TABLE_NAME', async () => {
    stubEnvironment('');

    await expect(import('../../lambda/handlers/detect')).rejects.toThrow(
      'environment variable TABLE_NAME is not set',
    );
  });
});

function kinesisRecord(sequenceNumber: string, data: string): KinesisStreamRecord {
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'k',
      sequenceNumber,
      data: Buffer.from(data).toString('base64'),
      approximateArrivalTimestamp: 0,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::111122223333:role/detect',
    awsRegion: 'us-east-1',
    eventSourceARN: 'arn:aws:kinesis:us-east-1:111122223333:stream/audit',
  };
}

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
