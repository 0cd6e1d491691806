import { describe, expect, it } from 'vitest';
import { alertPublishInput } from '../../lambda/adapters/sns-publisher';
import { buildAlert, matchKeys } from '../../lambda/engine/alerts/alert';
import { renderEmail } from '../../lambda/engine/alerts/render-email';
import { renderSlackMessage } from '../../lambda/engine/alerts/render-slack';
import {
  EXAMPLE_TOPIC_ARN,
  isRenderChannel,
  RENDER_CHANNELS,
  renderForChannel,
} from '../../lambda/local/render-command';
import { awsEvent, keyDeletionRule } from '../support/events';

const rule = keyDeletionRule();
const event = awsEvent();
const alert = buildAlert(rule, event, matchKeys(rule, event.doc));

describe('renderForChannel', () => {
  it('shows the e-mail as its subject line and body', () => {
    const { subject, body } = renderEmail(alert);

    expect(renderForChannel(alert, 'email')).toBe(`Subject: ${subject}\n\n${body}`);
  });

  it('shows the Slack webhook body as pretty-printed JSON', () => {
    const output = renderForChannel(alert, 'slack');

    expect(JSON.parse(output)).toEqual(renderSlackMessage(alert));
    expect(output).toContain('\n  "blocks": [');
  });

  it('shows the exact SNS publish request, for the example topic unless one is given', () => {
    expect(JSON.parse(renderForChannel(alert, 'sns'))).toEqual(alertPublishInput(alert, EXAMPLE_TOPIC_ARN));
    expect(
      JSON.parse(renderForChannel(alert, 'sns', { topicArn: 'arn:aws:sns:eu-west-1:1:t' })),
    ).toMatchObject({
      TopicArn: 'arn:aws:sns:eu-west-1:1:t',
      MessageStructure: 'json',
    });
  });

  it.each([
    ['email', true],
    ['slack', true],
    ['sns', true],
    ['sms', false],
    ['', false],
  ])('recognizes %j as a channel: %s', (value, expected) => {
    expect(isRenderChannel(value)).toBe(expected);
  });

  it('lists the channels in CLI order', () => {
    expect(RENDER_CHANNELS).toEqual(['email', 'slack', 'sns']);
  });
});
