import { alertPublishInput } from '../adapters/sns-publisher';
import type { Alert } from '../engine/alerts/alert';
import { renderEmail } from '../engine/alerts/render-email';
import { renderSlackMessage } from '../engine/alerts/render-slack';

/** The channels `npm start -- --render <channel>` can show. */
export const RENDER_CHANNELS = ['email', 'slack', 'sns'] as const;
export type RenderChannel = (typeof RENDER_CHANNELS)[number];

/** A topic ARN for display when none is given: the request's shape matters here, not the account. */
export const EXAMPLE_TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:abnormal-cloud-api-calls-alerts';

export function isRenderChannel(value: string): value is RenderChannel {
  return (RENDER_CHANNELS as readonly string[]).includes(value);
}

/**
 * Exactly what a channel delivers for `alert`, so a rule author can see an alert as analysts will
 * before deploying: the e-mail's subject and body, the Slack webhook's JSON body, or the SNS publish
 * request (whose `Message` is the per-protocol JSON structure, as SNS receives it).
 */
export function renderForChannel(
  alert: Alert,
  channel: RenderChannel,
  options: { readonly topicArn?: string } = {},
): string {
  switch (channel) {
    case 'email': {
      const { subject, body } = renderEmail(alert);
      return `Subject: ${subject}\n\n${body}`;
    }
    case 'slack':
      return `${JSON.stringify(renderSlackMessage(alert), null, 2)}\n`;
    case 'sns':
      return `${JSON.stringify(alertPublishInput(alert, options.topicArn ?? EXAMPLE_TOPIC_ARN), null, 2)}\n`;
  }
}
