/**
 * Fault injection in front of a real Kinesis client (kinesalite): entries chosen by a plan come back with
 * an `ErrorCode` without reaching the stream, whole calls chosen by the plan fail with the SDK's own
 * exception classes, and everything else goes to kinesalite for real. Every request the forwarder made is
 * recorded, so tests can assert on the limits of each call.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type KinesisClient,
  KinesisServiceException,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import type { PutRecordsClient } from '../../../forwarders/core/deliver';

export interface FaultPlan {
  /** An error code for entry `entry` of call `call` (0-based), or undefined to send it. */
  readonly entry?: (call: number, entry: number, data: Uint8Array) => string | undefined;
  /** An error to throw instead of making call `call`. */
  readonly call?: (call: number) => Error | undefined;
}

export class FaultyKinesis implements PutRecordsClient {
  readonly requests: PutRecordsCommandInput[] = [];
  readonly #real: Pick<KinesisClient, 'send'>;
  readonly #plan: FaultPlan;

  constructor(real: Pick<KinesisClient, 'send'>, plan: FaultPlan = {}) {
    this.#real = real;
    this.#plan = plan;
  }

  async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
    const call = this.requests.length;
    const input = command.input;
    this.requests.push(input);
    const failure = this.#plan.call?.(call);
    if (failure !== undefined) throw failure;

    const entries = input.Records ?? [];
    const codes = entries.map((entry, index) =>
      this.#plan.entry?.(call, index, entry.Data ?? new Uint8Array()),
    );
    const passing = entries.filter((_, index) => codes[index] === undefined);
    const sent =
      passing.length === 0
        ? []
        : ((await this.#real.send(new PutRecordsCommand({ StreamName: input.StreamName, Records: passing })))
            .Records ?? []);
    const results: PutRecordsResultEntry[] = [];
    let next = 0;
    let failed = 0;
    for (const code of codes) {
      if (code === undefined) {
        const result = sent[next++] ?? {};
        if (result.ErrorCode !== undefined) failed += 1;
        results.push(result);
      } else {
        failed += 1;
        results.push({ ErrorCode: code, ErrorMessage: `injected ${code}` });
      }
    }
    return { $metadata: { httpStatusCode: 200 }, FailedRecordCount: failed, Records: results };
  }
}

/** `PutRecords` throttled as a whole, as the SDK raises it. */
export function throttled(): Error {
  return new ProvisionedThroughputExceededException({
    message: 'Rate exceeded for stream (injected)',
    $metadata: { httpStatusCode: 400 },
  });
}

/** A 500 from Kinesis, as the SDK raises it. */
export function internalFailure(): Error {
  return new KinesisServiceException({
    name: 'InternalFailure',
    $fault: 'server',
    message: 'injected internal failure',
    $metadata: { httpStatusCode: 500 },
  });
}

/** A permanent whole-call error (the role may not write to the stream). */
export function accessDenied(): Error {
  return new KinesisServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    message: 'User is not authorized to perform: kinesis:PutRecords (injected)',
    $metadata: { httpStatusCode: 400 },
  });
}

/** Bytes (data + key) of each entry and of the whole request, as Kinesis counts them. */
export function requestSizes(input: PutRecordsCommandInput): { entries: number[]; total: number } {
  const entries = (input.Records ?? []).map(
    (entry) => (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? '', 'utf8'),
  );
  return { entries, total: entries.reduce((sum, size) => sum + size, 0) };
}

/**
 * An HTTP proxy to a Kinesis endpoint that answers the first `failures` requests itself with `status`
 * (and an AWS JSON error body) and forwards the rest: real 5xx responses on the wire, parsed by the real SDK.
 */
export async function startFlakyProxy(
  target: string,
  failures: number,
  status = 503,
): Promise<{
  url: string;
  requests: () => number;
  headers: IncomingHttpHeaders[];
  close: () => Promise<void>;
}> {
  let count = 0;
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    count += 1;
    headers.push(incoming.headers);
    if (count <= failures) {
      incoming.resume();
      outgoing
        .writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ __type: 'ServiceUnavailable', message: 'injected by the proxy' }));
      return;
    }
    const url = new URL(target);
    const forward = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
