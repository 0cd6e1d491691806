/**
 * The Azure Activity Log forwarder's entry point (the deployment's `main`): configuration and clients at
 * module scope, built once per instance, and the Event Hub trigger registered with the v4 programming model.
 * A configuration error throws here, at load, naming the application setting to fix.
 */
import { app, type EventHubFunctionOptions } from '@azure/functions';
import { createKinesisClient, createStsClient } from '../core/aws-clients';
import { WebIdentityCredentials } from '../core/credentials';
import { Forwarder } from '../core/forwarder';
import { RefreshingValue } from '../core/refreshing';
import { BlobOversizeSink } from './blob-sink';
import { readAzureForwarderConfig } from './config';
import { createActivityLogHandler } from './handler';
import { type ManagedIdentityOptions, managedIdentityToken } from './managed-identity';

/** The function's name in the app (and in Application Insights). */
export const FUNCTION_NAME = 'forwardActivityLogs';
/**
 * The application-setting prefix of the Event Hubs connection: with a managed identity, set
 * `ActivityLogEventHub__fullyQualifiedNamespace` to `<namespace>.servicebus.windows.net`.
 */
export const EVENT_HUB_CONNECTION = 'ActivityLogEventHub';
/** The audience of tokens for Azure Storage (the oversize container). */
const STORAGE_AUDIENCE = 'https://storage.azure.com/';

export const config = readAzureForwarderConfig(process.env);

const identity: ManagedIdentityOptions = {
  ...(config.identityEndpoint === undefined ? {} : { identityEndpoint: config.identityEndpoint }),
  ...(config.identityHeader === undefined ? {} : { identityHeader: config.identityHeader }),
  ...(config.clientId === undefined ? {} : { clientId: config.clientId }),
};

export const credentials = new WebIdentityCredentials({
  roleArn: config.roleArn,
  roleSessionName: 'azure-activity-log-forwarder',
  webIdentityToken: async () => (await managedIdentityToken(config.tokenAudience, identity)).value,
  sts: createStsClient(config),
});

export const kinesis = createKinesisClient(config, credentials.provider);

const storageToken = new RefreshingValue(() => managedIdentityToken(STORAGE_AUDIENCE, identity));

export const forwarder = new Forwarder({
  source: 'azure-activity-logs',
  streamName: config.streamName,
  kinesis,
  deliveryBudgetMs: config.deliveryBudgetMs,
  ...(config.oversizeContainerUrl === undefined
    ? {}
    : {
        oversizeSink: new BlobOversizeSink({
          containerUrl: config.oversizeContainerUrl,
          token: () => storageToken.get(),
        }),
      }),
});

/**
 * The trigger. `retry` matters as much as the handler: without a retry policy the Event Hubs trigger
 * checkpoints past a batch whose invocation failed, and its records would be lost. With it, the failed
 * batch is run again (here without limit, backing off to 15 minutes) before the checkpoint moves; the
 * partition waits behind it, which is what we want while Kinesis or STS is down.
 */
export const activityLogFunction: EventHubFunctionOptions = {
  connection: EVENT_HUB_CONNECTION,
  eventHubName: config.eventHubName,
  consumerGroup: config.consumerGroup,
  cardinality: 'many',
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: -1,
    minimumInterval: { seconds: 10 },
    maximumInterval: { minutes: 15 },
  },
  handler: createActivityLogHandler({ forwarder }),
};

app.eventHub(FUNCTION_NAME, activityLogFunction);
