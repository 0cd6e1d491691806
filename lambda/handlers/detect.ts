/**
 * The detect Lambda: CloudTrail events from EventBridge and Azure/GCP records from Kinesis, through
 * the engine, into the DynamoDB store and the outbox. Environment and clients live at module scope,
 * one per container; `clients` is exported so tests (and a future wiring change) can replace them.
 *
 * Nothing here loads the AWS SDK at module load: each client is created, and its package imported, when
 * a record first needs it (see `lambda/adapters/aws-sdk.ts`), because most Kinesis batches match
 * nothing, hold nothing bad, and so never talk to AWS.
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { DynamoDbSender, S3Sender } from '../adapters/aws-sdk';
import { awsSdk, lazyClient } from '../adapters/aws-sdk';
import { S3DeadLetterSink } from '../adapters/dead-letter';
import { DynamoDbDetectionStore } from '../adapters/dynamodb-store';
import { DynamoDbOutbox } from '../adapters/outbox';
import type { SnsSender } from '../adapters/sns-publisher';
import { SnsAlertPublisher } from '../adapters/sns-publisher';
import { loadPrecompiledRules, PRECOMPILED_RULES_FILE } from '../engine/rules/precompiled';
import { envOr, envSwitch, requireEnv } from './env';
import type { DetectEvent } from './pipeline';
import { cachedRules, detect, streamPrefilter } from './pipeline';

const TABLE_NAME = requireEnv('TABLE_NAME');
const TOPIC_ARN = requireEnv('TOPIC_ARN');
const DEAD_LETTER_BUCKET = requireEnv('DEAD_LETTER_BUCKET');
/** The literal pre-filter of Kinesis payloads (README, setting `literalPrefilter`): `on` or `off`. */
const LITERAL_PREFILTER = envSwitch('LITERAL_PREFILTER', false);
const RULES_DIR = envOr('RULES_DIR', path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'rules'));

/** What detect sends requests through: SDK clients, or local and stub ones in tests. */
export interface DetectClients {
  dynamodb: DynamoDbSender;
  sns: SnsSender;
  s3: S3Sender;
}

/**
 * Created on first use, once per container: DynamoDB for the first match, SNS for the first alert, S3
 * for the first bad record.
 */
export const clients: DetectClients = {
  dynamodb: lazyClient(async () => new (await awsSdk.dynamodb()).DynamoDBClient({})),
  sns: lazyClient(async () => new (await awsSdk.sns()).SNSClient({})),
  s3: lazyClient(async () => new (await awsSdk.s3()).S3Client({})),
};

const logger = new Logger();
const metrics = new Metrics();
/** The rules the stack precompiled into the bundle (not the YAML: its parser stays out of this bundle). */
const rules = cachedRules(() => loadPrecompiledRules(path.join(RULES_DIR, PRECOMPILED_RULES_FILE)));

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
    ...(LITERAL_PREFILTER ? { prefilter: streamPrefilter } : {}),
  });
}
