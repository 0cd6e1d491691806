/**
 * The AWS SDK clients of a forwarder, built once per instance at module scope.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ForwarderConfig } from './config';
import type { AwsCredentials } from './credentials';

/**
 * A Kinesis client over HTTP/1.1 keep-alive with bounded timeouts, and without the SDK's own retries:
 * `deliverEntries` retries per entry within the invocation's budget, which the SDK (retrying whole calls,
 * accepted entries included) cannot.
 */
export function createKinesisClient(
  config: Pick<ForwarderConfig, 'region' | 'kinesisEndpoint'>,
  credentials: () => Promise<AwsCredentials>,
): KinesisClient {
  return new KinesisClient({
    region: config.region,
    ...(config.kinesisEndpoint === undefined ? {} : { endpoint: config.kinesisEndpoint }),
    credentials,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 }),
  });
}

/**
 * An STS client for `AssumeRoleWithWebIdentity` alone. It has no credentials and needs none: the SDK sends
 * that operation unsigned. The regional endpoint is used (the SDK's default), so the call stays in the
 * stack's region.
 */
export function createStsClient(config: Pick<ForwarderConfig, 'region' | 'stsEndpoint'>): STSClient {
  return new STSClient({
    region: config.region,
    ...(config.stsEndpoint === undefined ? {} : { endpoint: config.stsEndpoint }),
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000 }),
  });
}
