/**
 * The AWS SDK v3 client packages, imported on first need instead of at module load. Each package is
 * hundreds of files the runtime reads and compiles (~100 ms apiece for DynamoDB, S3 and SNS on a small
 * machine), while most detect invocations — a Kinesis batch in which nothing matches and nothing is
 * bad — send no request at all. So the adapters import only the SDK's types statically and take the
 * command classes from `awsSdk` when they build a request, and handlers hold `lazyClient`s.
 *
 * The imports stay `import()` expressions in the bundle: esbuild leaves a dynamic import of an external
 * package (`@aws-sdk/*`, provided by the runtime) as it is, where a static one would be hoisted to the
 * top of the module and loaded with it.
 */
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type * as S3 from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as Sns from '@aws-sdk/client-sns';
import { once } from '../engine/once';

/**
 * The SDK packages the detect path uses, each imported once per container on first call. An object
 * (not separate exports) so that tests can count or stub the imports with `vi.spyOn`; callers must
 * therefore call through it (`awsSdk.dynamodb()`), not keep a reference to a member.
 */
export const awsSdk: {
  dynamodb: () => Promise<typeof DynamoDb>;
  s3: () => Promise<typeof S3>;
  sns: () => Promise<typeof Sns>;
} = {
  dynamodb: once(() => import('@aws-sdk/client-dynamodb')),
  s3: once(() => import('@aws-sdk/client-s3')),
  sns: once(() => import('@aws-sdk/client-sns')),
};

/** The part of the DynamoDB client the adapters use; a real client, a `lazyClient` or a test stub. */
export type DynamoDbSender = Pick<DynamoDBClient, 'send'>;

/** The part of the S3 client the dead-letter sink uses. */
export type S3Sender = Pick<S3Client, 'send'>;

/** Anything with an SDK v3 `send`. */
interface Sender {
  send(...args: never[]): unknown;
}

/** A client that is created on first use; it stands in for the client wherever only `send` is called. */
export interface LazyClient<C extends Sender> {
  /** Creates the client if this is the first use (concurrent first uses share one), then sends. */
  readonly send: C['send'];
  /**
   * The client, created on the first call (importing its SDK package then); every later or concurrent
   * call returns the same one. A failed creation is retried by the next call.
   */
  readonly client: () => Promise<C>;
}

/**
 * A client built by `create` on first use, once per container: `create` typically imports the SDK
 * package through `awsSdk` and calls the client's constructor. Only the promise form of `send` is
 * supported, which is the only one the adapters use.
 */
export function lazyClient<C extends Sender>(create: () => Promise<C>): LazyClient<C> {
  const client = once(create);
  const send = async (...args: never[]): Promise<unknown> => (await client()).send(...args);
  return { send: send as C['send'], client };
}
