/**
 * The detect Lambda: CloudTrail events from EventBridge and Azure/GCP records from Kinesis, through
 * the engine, into the DynamoDB store and the outbox. Environment and clients live at module scope,
 * built once per container; `clients` is exported so tests (and a future wiring change) can replace them.
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
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

export const clients: { dynamodb: DynamoDBClient; sns: SnsSender; s3: Pick<S3Client, 'send'> } = {
  dynamodb: new DynamoDBClient({}),
  sns: new SNSClient({}),
  s3: new S3Client({}),
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
    deadLetters: new S3DeadLetterSink(clients.s3, { bucket: DEAD_LETTER_BUCKET }),
    logger,
    metrics,
  });
}
