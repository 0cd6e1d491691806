/**
 * The Azure forwarder's environment (Function App application settings).
 */
import {
  type Environment,
  EnvironmentReader,
  type ForwarderConfig,
  readForwarderConfig,
} from '../core/config';

export interface AzureForwarderConfig extends ForwarderConfig {
  /** `EVENT_HUB_NAME`: the hub the diagnostic setting exports to; default `insights-activity-logs`. */
  readonly eventHubName: string;
  /** `EVENT_HUB_CONSUMER_GROUP`: a consumer group of the forwarder's own; default `$Default`. */
  readonly consumerGroup: string;
  /** `AZURE_CLIENT_ID`: the client id of a user-assigned managed identity; the system-assigned one otherwise. */
  readonly clientId?: string;
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, set by the platform. */
  readonly identityEndpoint?: string;
  readonly identityHeader?: string;
  /** `OVERSIZE_CONTAINER_URL`: `https://<account>.blob.core.windows.net/<container>` for oversize records. */
  readonly oversizeContainerUrl?: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const EVENT_HUB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;
const CONSUMER_GROUP = /^(\$Default|[A-Za-z0-9][A-Za-z0-9._-]{0,49})$/;

/** @throws {ConfigurationError} naming every variable at fault. */
export function readAzureForwarderConfig(env: Environment): AzureForwarderConfig {
  const reader = new EnvironmentReader(env);
  const base = readForwarderConfig(reader, {
    streamOutput: 'AzureActivityStreamName',
    roleOutput: 'AzureForwarderRoleArn',
  });
  const eventHubName =
    reader.optional('EVENT_HUB_NAME', EVENT_HUB_NAME, 'an Event Hub name') ?? 'insights-activity-logs';
  const consumerGroup =
    reader.optional('EVENT_HUB_CONSUMER_GROUP', CONSUMER_GROUP, 'a consumer group name') ?? '$Default';
  const clientId = reader.optional(
    'AZURE_CLIENT_ID',
    GUID,
    'the client id (a GUID) of a user-assigned identity',
  );
  // Set by the platform, and not always on loopback: any host is accepted.
  const identityEndpoint = reader.optionalUrl(
    'IDENTITY_ENDPOINT',
    'set by App Service; do not set it yourself',
    {
      anyHost: true,
    },
  );
  const identityHeader = reader.optional(
    'IDENTITY_HEADER',
    /^\S+$/,
    'set by App Service; do not set it yourself',
  );
  if (identityEndpoint !== undefined && identityHeader === undefined) {
    reader.problem('IDENTITY_HEADER', 'is not set, but IDENTITY_ENDPOINT is (App Service sets both)');
  }
  const oversizeContainerUrl = reader.optionalUrl(
    'OVERSIZE_CONTAINER_URL',
    'a blob container URL like https://<account>.blob.core.windows.net/<container>',
  );
  reader.done();
  return {
    ...base,
    eventHubName,
    consumerGroup,
    ...(clientId === undefined ? {} : { clientId }),
    ...(identityEndpoint === undefined || identityHeader === undefined
      ? {}
      : { identityEndpoint, identityHeader }),
    ...(oversizeContainerUrl === undefined ? {} : { oversizeContainerUrl }),
  };
}
