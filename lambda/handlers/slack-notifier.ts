import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SNSEvent } from 'aws-lambda';
import { CachedSecret } from '../adapters/secrets';
import {
  SlackDeliveryLedger,
  SlackPayloadRejectedError,
  SlackWebhookClient,
  slackDeliveryKey,
} from '../adapters/slack-webhook';
import { parseTopicMessage } from '../adapters/sns-publisher';
import { renderSlackDigest, renderSlackMessage, slackFallbackText } from '../engine/alerts/render-slack';
import { requireEnv } from './env';

/** Time kept back from the Lambda budget for recording the delivery and returning. */
export const SAFETY_MARGIN_MS = 3000;
/** Added to the invocation's own end for the claim's lease: a retry must never find it still held by a live run. */
const LEASE_GRACE_MS = 10_000;

/** Another invocation holds the delivery claim; throwing makes Lambda retry once it has finished or expired. */
export class SlackDeliveryInProgressError extends Error {
  override readonly name = 'SlackDeliveryInProgressError';
  constructor(
    readonly deliveryKey: string,
    readonly claimUntil: number,
  ) {
    super(
      `another invocation is posting ${deliveryKey} to Slack (claim until ${new Date(claimUntil).toISOString()})`,
    );
  }
}

export type NotifierLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface SlackNotifierDeps {
  readonly webhook: Pick<SlackWebhookClient, 'post'>;
  readonly ledger: Pick<SlackDeliveryLedger, 'claim' | 'markPosted' | 'release'>;
  readonly logger: NotifierLogger;
  readonly now?: () => number;
}

type Invocation = Pick<Context, 'getRemainingTimeInMillis'>;

/** The Lambda handler's shape; only the remaining time is read from the context. */
export type SlackNotifierHandler = (event: SNSEvent, context: Invocation) => Promise<void>;

/**
 * SNS → Slack. For each record: read the alert JSON (garbage is logged and skipped: retrying cannot
 * fix it), claim the delivery in the state table, post the Block Kit message, mark it posted. Any
 * other failure is thrown so SNS's asynchronous invocation retries; the claim makes a retry safe.
 */
export function createSlackNotifier(deps: SlackNotifierDeps): SlackNotifierHandler {
  const now = deps.now ?? Date.now;
  const { logger } = deps;

  async function deliver(record: SNSEvent['Records'][number], invocation: Invocation): Promise<void> {
    const snsMessageId = record.Sns.MessageId;
    const parsed = parseTopicMessage(record.Sns.Message);
    if (parsed.kind === 'invalid') {
      logger.warn('skipping an SNS message that is not an alert or digest', {
        snsMessageId,
        reason: parsed.reason,
        bytes: record.Sns.Message.length,
      });
      return;
    }
    const key =
      parsed.kind === 'alert'
        ? slackDeliveryKey('alert', parsed.alert.id)
        : slackDeliveryKey('digest', parsed.digest.alertId);
    const message =
      parsed.kind === 'alert' ? renderSlackMessage(parsed.alert) : renderSlackDigest(parsed.digest);
    const fallback =
      parsed.kind === 'alert'
        ? `${slackFallbackText(parsed.alert)} (the full alert could not be shown in Slack; see the e-mail)`
        : message.text;

    const started = now();
    const deadline = started + invocation.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const claim = await deps.ledger.claim(key, {
      now: started,
      claimUntil: deadline + SAFETY_MARGIN_MS + LEASE_GRACE_MS,
      snsMessageId,
    });
    if (claim.outcome === 'posted') {
      logger.info('already posted to Slack; skipping the redelivery', { snsMessageId, deliveryKey: key });
      return;
    }
    if (claim.outcome === 'in-progress') throw new SlackDeliveryInProgressError(key, claim.claimUntil);

    try {
      try {
        await deps.webhook.post(message, deadline);
      } catch (error) {
        if (!(error instanceof SlackPayloadRejectedError)) throw error;
        logger.warn('Slack rejected the Block Kit message; posting the plain fallback', {
          snsMessageId,
          deliveryKey: key,
          slackError: error.slackError,
        });
        await deps.webhook.post({ text: fallback, unfurl_links: false, unfurl_media: false }, deadline);
      }
    } catch (error) {
      await deps.ledger.release(key, claim.token).catch((releaseError: unknown) => {
        logger.warn('could not release the Slack delivery claim; it expires with its lease', {
          deliveryKey: key,
          error: releaseError,
        });
      });
      throw error;
    }
    try {
      await deps.ledger.markPosted(key, now());
    } catch (error) {
      // Not thrown: a retry would post again. The claim's lease expiring is harmless without a retry.
      logger.error('posted to Slack but could not record it', { snsMessageId, deliveryKey: key, error });
      return;
    }
    logger.info('posted to Slack', { snsMessageId, deliveryKey: key, kind: parsed.kind });
  }

  return async (event: SNSEvent, context: Invocation): Promise<void> => {
    const failures: unknown[] = [];
    for (const record of event.Records ?? []) {
      try {
        await deliver(record, context);
      } catch (error) {
        logger.error('Slack delivery failed; the invocation will be retried', {
          snsMessageId: record.Sns?.MessageId,
          error,
        });
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} Slack deliveries failed`);
  };
}

const SLACK_WEBHOOK_SECRET_ARN = requireEnv('SLACK_WEBHOOK_SECRET_ARN');
const TABLE_NAME = requireEnv('TABLE_NAME');

/** Built once per container; tests replace `send` on them. */
export const clients = {
  dynamodb: new DynamoDBClient({}),
  secretsManager: new SecretsManagerClient({}),
};

/**
 * Module scope on purpose: the cached webhook URL lives as long as the execution environment, so a
 * warm container reads the secret once per TTL, not once per message. Slack is reached with global
 * `fetch`, looked up per request.
 */
export const handler = createSlackNotifier({
  webhook: new SlackWebhookClient({
    secret: new CachedSecret(clients.secretsManager, SLACK_WEBHOOK_SECRET_ARN),
  }),
  ledger: new SlackDeliveryLedger(clients.dynamodb, TABLE_NAME),
  logger: new Logger(),
});
