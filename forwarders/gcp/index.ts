/**
 * The GCP Audit Log forwarder's entry point (the deployment's `main`): configuration and clients at module
 * scope, built once per instance, and the CloudEvent function registered with the Functions Framework.
 * A configuration error throws here, at load, naming the environment variable to fix.
 */
import * as functions from '@google-cloud/functions-framework';
import { createKinesisClient, createStsClient } from '../core/aws-clients';
import { WebIdentityCredentials } from '../core/credentials';
import { Forwarder } from '../core/forwarder';
import { RefreshingValue } from '../core/refreshing';
import { readGcpForwarderConfig } from './config';
import { GcsOversizeSink } from './gcs-sink';
import { createAuditLogHandler } from './handler';
import { metadataAccessToken, metadataIdentityToken } from './metadata';

/** The function's entry point (`gcloud functions deploy --entry-point`). */
export const FUNCTION_NAME = 'forwardAuditLogs';

export const config = readGcpForwarderConfig(process.env);

export const credentials = new WebIdentityCredentials({
  roleArn: config.roleArn,
  roleSessionName: 'gcp-audit-log-forwarder',
  webIdentityToken: async () =>
    (await metadataIdentityToken(config.tokenAudience, { baseUrl: config.metadataBaseUrl })).value,
  sts: createStsClient(config),
});

export const kinesis = createKinesisClient(config, credentials.provider);

const storageToken = new RefreshingValue(() => metadataAccessToken({ baseUrl: config.metadataBaseUrl }));

export const forwarder = new Forwarder({
  source: 'gcp-audit-logs',
  streamName: config.streamName,
  kinesis,
  deliveryBudgetMs: config.deliveryBudgetMs,
  ...(config.oversizeBucket === undefined
    ? {}
    : {
        oversizeSink: new GcsOversizeSink({
          bucket: config.oversizeBucket,
          token: () => storageToken.get(),
          ...(config.storageEndpoint === undefined ? {} : { baseUrl: config.storageEndpoint }),
        }),
      }),
});

export const handler = createAuditLogHandler({ forwarder });

functions.cloudEvent(FUNCTION_NAME, handler);
