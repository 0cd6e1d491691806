/**
 * Real local AWS servers for tests: dynalite (DynamoDB) and kinesalite (Kinesis), started on loopback
 * port 0 inside the test process and talked to with the real SDK v3 clients. Shared by every suite that
 * needs the state table or a stream; start once per file in `beforeAll`, stop in `afterAll`.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

const require = createRequire(import.meta.url);

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
interface KinesaliteOptions {
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  shardLimit?: number;
}
// Neither package ships types; these are the factories' documented shapes.
const dynalite = require('dynalite') as (options?: DynaliteOptions) => Server;
const kinesalite = require('kinesalite') as (options?: KinesaliteOptions) => Server;

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

export interface LocalAws {
  readonly dynamodbEndpoint: string;
  readonly kinesisEndpoint: string;
  /** A client for the dynalite server; tests may build more with `newDynamoDbClient`. */
  readonly dynamodb: DynamoDBClient;
  readonly kinesis: KinesisClient;
  /** A fresh `DynamoDBClient` on the same server (e.g. to add fault-injecting middleware to it alone). */
  newDynamoDbClient(): DynamoDBClient;
  stop(): Promise<void>;
}

/** Starts dynalite and kinesalite on 127.0.0.1 with no artificial table/stream creation delay. */
export async function startLocalAws(): Promise<LocalAws> {
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const kinesisServer = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 100,
  });
  const dynamodbEndpoint = await listen(dynamoServer);
  const kinesisEndpoint = await listen(kinesisServer);
  const newDynamoDbClient = (): DynamoDBClient =>
    new DynamoDBClient({
      endpoint: dynamodbEndpoint,
      region: REGION,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
  const dynamodb = newDynamoDbClient();
  const kinesis = new KinesisClient({
    endpoint: kinesisEndpoint,
    region: REGION,
    credentials: CREDENTIALS,
    // kinesalite speaks HTTP/1 only; the client's default handler would try HTTP/2.
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  return {
    dynamodbEndpoint,
    kinesisEndpoint,
    dynamodb,
    kinesis,
    newDynamoDbClient,
    async stop() {
      dynamodb.destroy();
      kinesis.destroy();
      await Promise.all([close(dynamoServer), close(kinesisServer)]);
    },
  };
}

/**
 * Creates the state table exactly as the stack does (lambda/README.md, "State table"): partition key
 * `pk` (S), no sort key, and the `pending` index on `outboxPending` (S) / `leaseUntil` (N), projection
 * ALL. dynalite has no `UpdateTimeToLive`, so the TTL attribute (`expiresAt`) is not declared here; the
 * store treats expired items as absent itself, which is what these tests exercise.
 */
export async function createStateTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'outboxPending', AttributeType: 'S' },
        { AttributeName: 'leaseUntil', AttributeType: 'N' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'pending',
          KeySchema: [
            { AttributeName: 'outboxPending', KeyType: 'HASH' },
            { AttributeName: 'leaseUntil', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
}

/** Creates a stream and waits until it is ACTIVE; returns its ARN. */
export async function createStream(client: KinesisClient, name: string, shards = 1): Promise<string> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamName: name }));
    if (StreamDescription?.StreamStatus === 'ACTIVE' && StreamDescription.StreamARN) {
      return StreamDescription.StreamARN;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

/** Puts payloads with `PutRecords`, in order, failing loudly if the stream rejected any of them. */
export async function putRecords(
  client: KinesisClient,
  streamName: string,
  payloads: readonly Uint8Array[],
  partitionKey = 'detector-test',
): Promise<void> {
  const result = await client.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: payloads.map((Data) => ({ Data, PartitionKey: partitionKey })),
    }),
  );
  if (result.FailedRecordCount) throw new Error(`${result.FailedRecordCount} records were not put`);
}

/**
 * Reads every record of the stream back (`GetShardIterator` from the horizon, then `GetRecords`) and
 * shapes them as the Lambda event source mapping would: base64 data, sequence number, partition key,
 * `shardId:sequence` event id and the stream ARN.
 */
export async function readKinesisEvent(
  client: KinesisClient,
  streamName: string,
): Promise<KinesisStreamEvent> {
  const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamName: streamName }));
  const streamArn = StreamDescription?.StreamARN ?? '';
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  const records: KinesisStreamRecord[] = [];
  for (const shard of Shards) {
    const shardId = shard.ShardId ?? '';
    let { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      for (const record of page.Records ?? []) {
        const sequenceNumber = record.SequenceNumber ?? '';
        records.push({
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: record.PartitionKey ?? '',
            sequenceNumber,
            data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
            approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `${shardId}:${sequenceNumber}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: 'arn:aws:iam::000000000000:role/detect',
          awsRegion: REGION,
          eventSourceARN: streamArn,
        });
      }
      iterator = page.Records?.length ? page.NextShardIterator : undefined;
    }
  }
  return { Records: records };
}

let uniqueCounter = 0;
/** A name no other test in this process uses (tables and streams share one server per file). */
export function uniqueName(prefix: string): string {
  uniqueCounter += 1;
  return `${prefix}-${process.pid}-${uniqueCounter}`;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
  });
}
