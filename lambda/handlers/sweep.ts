/**
 * The scheduled sweep Lambda: queries Athena for each rule's window since its checkpoint and decides the
 * rows with the same engine and state as the real-time path (see `sweep-core.ts`). Environment and clients
 * live at module scope, built once per container; `clients` is exported so tests can replace them.
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import type { AthenaSender } from '../adapters/athena';
import { AthenaQueryRunner } from '../adapters/athena';
import { DynamoDbCheckpointStore } from '../adapters/checkpoints';
import { DynamoDbDetectionStore } from '../adapters/dynamodb-store';
import { DynamoDbOutbox } from '../adapters/outbox';
import type { SnsSender } from '../adapters/sns-publisher';
import { SnsAlertPublisher } from '../adapters/sns-publisher';
import { once } from '../engine/once';
import { loadPrecompiledRules, PRECOMPILED_RULES_FILE } from '../engine/rules/precompiled';
import { envOr, requireEnv } from './env';
import type { SweepReport, SweepRule } from './sweep-core';
import { sweep, sweepSettingsFromEnv } from './sweep-core';

const TABLE_NAME = requireEnv('TABLE_NAME');
const TOPIC_ARN = requireEnv('TOPIC_ARN');
const ATHENA_WORKGROUP = requireEnv('ATHENA_WORKGROUP');
const ATHENA_DATABASE = requireEnv('ATHENA_DATABASE');
const RULES_DIR = envOr('RULES_DIR', path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'rules'));
const SETTINGS = sweepSettingsFromEnv(ATHENA_DATABASE);

export const clients: { dynamodb: DynamoDBClient; sns: SnsSender; athena: AthenaSender } = {
  dynamodb: new DynamoDBClient({}),
  sns: new SNSClient({}),
  athena: new AthenaClient({}),
};

const logger = new Logger();
const metrics = new Metrics();

/**
 * Rules load once per container, from the JSON the stack precompiled into the bundle (the YAML parser
 * stays out of it); a failed load is retried on the next invocation.
 */
const rules: () => Promise<readonly SweepRule[]> = once(() =>
  loadPrecompiledRules(path.join(RULES_DIR, PRECOMPILED_RULES_FILE)),
);

/** The schedule's event carries nothing we need: the work is whatever the checkpoints say is due. */
export async function handler(
  _event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SweepReport> {
  return sweep({
    loadRules: rules,
    store: new DynamoDbDetectionStore(clients.dynamodb, { tableName: TABLE_NAME }),
    outbox: new DynamoDbOutbox(clients.dynamodb, new SnsAlertPublisher(clients.sns, TOPIC_ARN), {
      tableName: TABLE_NAME,
    }),
    checkpoints: new DynamoDbCheckpointStore(clients.dynamodb, { tableName: TABLE_NAME }),
    athena: new AthenaQueryRunner(clients.athena, { workGroup: ATHENA_WORKGROUP, database: ATHENA_DATABASE }),
    logger,
    metrics,
    settings: SETTINGS,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
}
