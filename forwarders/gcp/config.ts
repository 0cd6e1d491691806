/**
 * The GCP forwarder's environment (the function's `--set-env-vars`).
 */
import {
  type Environment,
  EnvironmentReader,
  type ForwarderConfig,
  readForwarderConfig,
} from '../core/config';
import { DEFAULT_METADATA_BASE_URL } from './metadata';

export interface GcpForwarderConfig extends ForwarderConfig {
  /** `http://$GCE_METADATA_HOST` (the variable Google's libraries honour), else the metadata server. */
  readonly metadataBaseUrl: string;
  /** `OVERSIZE_BUCKET`: the bucket for records too large for Kinesis. */
  readonly oversizeBucket?: string;
  /** `STORAGE_ENDPOINT`: another Cloud Storage endpoint (tests). */
  readonly storageEndpoint?: string;
}

const HOST_PORT = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** @throws {ConfigurationError} naming every variable at fault. */
export function readGcpForwarderConfig(env: Environment): GcpForwarderConfig {
  const reader = new EnvironmentReader(env);
  const base = readForwarderConfig(reader, {
    streamOutput: 'GcpAuditStreamName',
    roleOutput: 'GcpForwarderRoleArn',
  });
  const metadataHost = reader.optional('GCE_METADATA_HOST', HOST_PORT, 'host[:port] of the metadata server');
  const oversizeBucket = reader.optional(
    'OVERSIZE_BUCKET',
    BUCKET,
    'a Cloud Storage bucket name (without gs://)',
  );
  const storageEndpoint = reader.optionalUrl(
    'STORAGE_ENDPOINT',
    'a Cloud Storage endpoint URL; leave unset in production',
  );
  reader.done();
  return {
    ...base,
    metadataBaseUrl: metadataHost === undefined ? DEFAULT_METADATA_BASE_URL : `http://${metadataHost}`,
    ...(oversizeBucket === undefined ? {} : { oversizeBucket }),
    ...(storageEndpoint === undefined ? {} : { storageEndpoint }),
  };
}
