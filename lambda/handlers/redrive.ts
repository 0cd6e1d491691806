/**
 * The scheduled redrive: finishes matches whose delivery died mid-way, re-publishes alerts whose
 * outbox lease has passed and publishes the digests of closed suppression windows.
 *
 * Its clients are created on first use, like detect's: every run reads DynamoDB, but most find nothing
 * due and never need SNS, whose package then stays unloaded.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDbSender } from '../adapters/aws-sdk';
import { awsSdk, lazyClient } from '../adapters/aws-sdk';
import { DynamoDbDetectionStore } from '../adapters/dynamodb-store';
import { DynamoDbOutbox } from '../adapters/outbox';
import type { SnsSender } from '../adapters/sns-publisher';
import { SnsAlertPublisher } from '../adapters/sns-publisher';
import { requireEnv } from './env';
import type { RedriveReport } from './pipeline';
import { redrive } from './pipeline';

const TABLE_NAME = requireEnv('TABLE_NAME');
const TOPIC_ARN = requireEnv('TOPIC_ARN');

/** One of each per container, created on first use; tests replace them. */
export const clients: { dynamodb: DynamoDbSender; sns: SnsSender } = {
  dynamodb: lazyClient(async () => new (await awsSdk.dynamodb()).DynamoDBClient({})),
  sns: lazyClient(async () => new (await awsSdk.sns()).SNSClient({})),
};

const logger = new Logger();
const metrics = new Metrics();

/** The schedule's event carries nothing we need: the work is whatever is due now. */
export async function handler(): Promise<RedriveReport> {
  return redrive({
    store: new DynamoDbDetectionStore(clients.dynamodb, { tableName: TABLE_NAME }),
    outbox: new DynamoDbOutbox(clients.dynamodb, new SnsAlertPublisher(clients.sns, TOPIC_ARN), {
      tableName: TABLE_NAME,
    }),
    logger,
    metrics,
  });
}
