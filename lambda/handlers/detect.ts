/**
 * The detect Lambda: CloudTrail events from EventBridge and Azure/GCP records from Kinesis, through
 * the engine, into the DynamoDB store and the outbox. Environment and clients live at module scope,
 * built once per container; `clients` is exported so tests (and a future wiring change) can replace them.
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { PutObjectInput } from '../adapters/dead-letter';
import { S3DeadLetterSink } from '../adapters/dead-letter';
import { DynamoDbDetectionStore } from '../adapters/dynamodb-store';
import { DynamoDbOutbox } from '../adapters/outbox';
import type { SnsSender } from '../adapters/sns-publisher';
import { SnsAlertPublisher } from '../adapters/sns-publisher';
import { loadRules } from '../engine/rules';
import { envOr, requireEnv } from './env';
import type { DetectEvent } from './pipeline';
import { cachedRules, detect } from './pipeline';

const TABLE_NAME = requireEnv('TABLE_NAME');
const TOPIC_ARN = requireEnv('TOPIC_ARN');
const DEAD_LETTER_BUCKET = requireEnv('DEAD_LETTER_BUCKET');
const RULES_DIR = envOr('RULES_DIR', path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'rules'));

/** The S3 boundary: just `send(PutObject input)` until `@aws-sdk/client-s3` is a dependency. */
export interface DeadLetterS3 {
  send(input: PutObjectInput): Promise<unknown>;
}

/**
 * Until `@aws-sdk/client-s3` is wired in, a dead-letter write fails, so a bad record is reported as
 * failed and retried rather than dropped.
 */
const unwiredS3: DeadLetterS3 = {
  send: () => Promise.reject(new Error('no S3 client is wired for DEAD_LETTER_BUCKET (@aws-sdk/client-s3)')),
};

export const clients: { dynamodb: DynamoDBClient; sns: SnsSender; s3: DeadLetterS3 } = {
  dynamodb: new DynamoDBClient({}),
  sns: new SNSClient({}),
  s3: unwiredS3,
};

const logger = new Logger();
const metrics = new Metrics();
const rules = cachedRules(() => loadRules(RULES_DIR));

export async function handler(event: DetectEvent): Promise<KinesisStreamBatchResponse | undefined> {
  return detect(event, {
    loadRules: rules,
    store: new DynamoDbDetectionStore(clients.dynamodb, { tableName: TABLE_NAME }),
    outbox: new DynamoDbOutbox(clients.dynamodb, new SnsAlertPublisher(clients.sns, TOPIC_ARN), {
      tableName: TABLE_NAME,
    }),
    deadLetters: new S3DeadLetterSink(clients.s3, {
      bucket: DEAD_LETTER_BUCKET,
      toCommand: (input) => input,
    }),
    logger,
    metrics,
  });
}
