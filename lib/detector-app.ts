import { type App, Duration, Size } from 'aws-cdk-lib';
import type { Rule } from '../lambda/engine/rules';
import { AbnormalCloudApiCallsStack } from './abnormal-cloud-api-calls-stack';
import { IAM_EVENTS_REGION, IamEventForwarderStack } from './iam-event-forwarder-stack';
import type { DetectorSettings } from './settings';

export const MAIN_STACK_NAME = 'AbnormalCloudApiCalls';
export const FORWARDER_STACK_NAME = 'AbnormalCloudApiCalls-IamEventForwarder';

export interface DetectorStacksProps {
  readonly settings: DetectorSettings;
  /** Every rule of `rulesDirectory`, as `loadRules` returns them. */
  readonly rules: readonly Rule[];
  readonly rulesDirectory: string;
}

export interface DetectorStacks {
  readonly main: AbnormalCloudApiCallsStack;
  /** Present when the home region is not us-east-1. */
  readonly iamEventForwarder?: IamEventForwarderStack;
}

/**
 * Adds the detector's stacks to an app: the main stack in the home region and, when that is not us-east-1
 * (the only region where IAM's CloudTrail events reach EventBridge), the forwarder stack there. Both get an
 * explicit environment; the account is left to deployment time when the settings do not name one.
 */
export function addDetectorStacks(app: App, props: DetectorStacksProps): DetectorStacks {
  const { settings } = props;
  const account = settings.account;
  const main = new AbnormalCloudApiCallsStack(app, MAIN_STACK_NAME, {
    env: { account, region: settings.homeRegion },
    description: 'Abnormal Cloud API Calls: detects sensitive and privilege-altering cloud API calls',
    rules: props.rules,
    rulesDirectory: props.rulesDirectory,
    alertEmails: settings.alertEmails,
    opsEmails: settings.opsEmails,
    bundling: settings.bundling,
    literalPrefilter: settings.literalPrefilter,
    sweepLag: Duration.minutes(settings.sweepLagMinutes),
    athenaBytesScannedCutoff: Size.gibibytes(settings.athenaBytesScannedCutoffGiB),
    ...(settings.cloudTrailLogs === undefined ? {} : { cloudTrailLogs: settings.cloudTrailLogs }),
    ...(settings.slackWebhookSecretArn === undefined
      ? {}
      : { slackWebhookSecretArn: settings.slackWebhookSecretArn }),
    ...(settings.organizationId === undefined ? {} : { organizationId: settings.organizationId }),
    ...(settings.azureFederation === undefined ? {} : { azureFederation: settings.azureFederation }),
    ...(settings.gcpFederation === undefined ? {} : { gcpFederation: settings.gcpFederation }),
  });
  if (settings.homeRegion === IAM_EVENTS_REGION) return { main };

  const iamEventForwarder = new IamEventForwarderStack(app, FORWARDER_STACK_NAME, {
    env: { account, region: IAM_EVENTS_REGION },
    description: `Abnormal Cloud API Calls: forwards IAM CloudTrail events from ${IAM_EVENTS_REGION} to ${settings.homeRegion}`,
    rules: props.rules,
    homeRegion: settings.homeRegion,
    opsEmails: settings.opsEmails,
  });
  // The home rules should exist before events are forwarded to them.
  iamEventForwarder.addDependency(main);
  return { main, iamEventForwarder };
}
