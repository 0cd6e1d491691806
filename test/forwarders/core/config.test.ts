import { describe, expect, it } from 'vitest';
import { readAzureForwarderConfig } from '../../../forwarders/azure/config';
import { ConfigurationError } from '../../../forwarders/core/errors';
import { readGcpForwarderConfig } from '../../../forwarders/gcp/config';

const VALID = {
  KINESIS_STREAM_NAME: 'AbnormalCloudApiCalls-GcpAuditStreamStream1234-AbCdEf',
  AWS_REGION: 'eu-west-3',
  AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/AbnormalCloudApiCalls-GcpForwarderRole1234-AbCdEf',
  TOKEN_AUDIENCE: 'https://abnormal-cloud-api-calls.example.com',
};

function configError(read: () => unknown): ConfigurationError {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('readGcpForwarderConfig', () => {
  it('reads a valid environment with the defaults', () => {
    expect(readGcpForwarderConfig(VALID)).toEqual({
      streamName: VALID.KINESIS_STREAM_NAME,
      region: 'eu-west-3',
      roleArn: VALID.AWS_ROLE_ARN,
      tokenAudience: VALID.TOKEN_AUDIENCE,
      deliveryBudgetMs: 30_000,
      metadataBaseUrl: 'http://metadata.google.internal',
    });
  });

  it('reads the optional variables', () => {
    const config = readGcpForwarderConfig({
      ...VALID,
      KINESIS_ENDPOINT: 'http://127.0.0.1:4567/',
      STS_ENDPOINT: 'http://127.0.0.1:4568',
      DELIVERY_BUDGET_MS: '45000',
      GCE_METADATA_HOST: '127.0.0.1:8080',
      OVERSIZE_BUCKET: 'abnormal-oversize-records',
    });

    expect(config).toMatchObject({
      kinesisEndpoint: 'http://127.0.0.1:4567',
      stsEndpoint: 'http://127.0.0.1:4568',
      deliveryBudgetMs: 45_000,
      metadataBaseUrl: 'http://127.0.0.1:8080',
      oversizeBucket: 'abnormal-oversize-records',
    });
  });

  it.each([
    [
      'KINESIS_STREAM_NAME',
      undefined,
      "is not set: the stream name (1-128 of a-z A-Z 0-9 _ . -), the detector stack's GcpAuditStreamName output",
    ],
    [
      'KINESIS_STREAM_NAME',
      'arn:aws:kinesis:eu-west-3:111122223333:stream/x',
      'is not valid: the stream name',
    ],
    [
      'AWS_REGION',
      'Paris',
      '"Paris" is not valid: the AWS region of the detector stack, like us-east-1 or eu-west-3',
    ],
    [
      'AWS_ROLE_ARN',
      'arn:aws:iam::1111:role/x',
      "is not valid: an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>), the detector stack's GcpForwarderRoleArn output",
    ],
    ['AWS_ROLE_ARN', 'arn:aws:iam::111122223333:user/someone', 'is not valid: an IAM role ARN'],
    ['TOKEN_AUDIENCE', 'has spaces', 'is not valid: the identity token audience the forwarder role trusts'],
    ['TOKEN_AUDIENCE', '  ', 'is not set'],
    ['KINESIS_ENDPOINT', 'ftp://127.0.0.1', 'must be an http(s) URL without user or password'],
    ['STS_ENDPOINT', 'http://sts.example.com', 'must be https (or http to 127.0.0.1 / localhost)'],
    ['DELIVERY_BUDGET_MS', '10', '10 is out of range: a whole number from 1000 to 600000'],
    ['DELIVERY_BUDGET_MS', 'soon', 'is not valid: a whole number from 1000 to 600000'],
    ['OVERSIZE_BUCKET', 'gs://bucket', 'is not valid: a Cloud Storage bucket name (without gs://)'],
  ])('names %s when it is %j', (variable, value, problem) => {
    const error = configError(() => readGcpForwarderConfig({ ...VALID, [variable]: value }));

    expect(error.variable).toBe(variable);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.problem).toContain(problem);
    expect(error.message).toContain(`  - ${variable}: `);
  });

  it('lists every problem at once', () => {
    const error = configError(() => readGcpForwarderConfig({ AWS_REGION: 'nowhere' }));

    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'KINESIS_STREAM_NAME',
      'AWS_REGION',
      'AWS_ROLE_ARN',
      'TOKEN_AUDIENCE',
    ]);
    expect(error.message.split('\n')[0]).toBe('forwarder configuration is invalid:');
  });
});

describe('readAzureForwarderConfig', () => {
  const AZURE = {
    ...VALID,
    KINESIS_STREAM_NAME: 'AzureActivityStream',
    TOKEN_AUDIENCE: 'api://abnormal-cloud-api-calls-forwarder',
  };

  it('reads a valid environment with the defaults, taking the platform identity endpoint', () => {
    expect(
      readAzureForwarderConfig({
        ...AZURE,
        IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/MSI/token/',
        IDENTITY_HEADER: 'h',
      }),
    ).toMatchObject({
      streamName: 'AzureActivityStream',
      tokenAudience: 'api://abnormal-cloud-api-calls-forwarder',
      eventHubName: 'insights-activity-logs',
      consumerGroup: '$Default',
      identityEndpoint: 'http://127.0.0.1:41741/MSI/token',
      identityHeader: 'h',
    });
  });

  it.each([
    ['AZURE_CLIENT_ID', 'my-identity', 'is not valid: the client id (a GUID) of a user-assigned identity'],
    [
      'OVERSIZE_CONTAINER_URL',
      'http://account.blob.core.windows.net/oversize',
      'must be https (or http to 127.0.0.1 / localhost)',
    ],
    ['EVENT_HUB_CONSUMER_GROUP', 'a group', 'is not valid: a consumer group name'],
    ['KINESIS_STREAM_NAME', '', "the detector stack's AzureActivityStreamName output"],
  ])('names %s when it is %j', (variable, value, problem) => {
    const error = configError(() => readAzureForwarderConfig({ ...AZURE, [variable]: value }));

    expect(error.problems).toEqual([{ variable, problem: expect.stringContaining(problem) }]);
  });

  it('accepts the identity endpoint the platform sets, wherever it points', () => {
    const config = readAzureForwarderConfig({
      ...AZURE,
      IDENTITY_ENDPOINT: 'http://169.254.129.2:8081/msi/token',
      IDENTITY_HEADER: 'h',
    });

    expect(config.identityEndpoint).toBe('http://169.254.129.2:8081/msi/token');
  });

  it('names IDENTITY_HEADER when only IDENTITY_ENDPOINT is set', () => {
    const error = configError(() =>
      readAzureForwarderConfig({ ...AZURE, IDENTITY_ENDPOINT: 'http://127.0.0.1:1/msi' }),
    );

    expect(error.variable).toBe('IDENTITY_HEADER');
  });
});
