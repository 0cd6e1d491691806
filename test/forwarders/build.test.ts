import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildForwarder } from '../../forwarders/build';
import { createStream, type LocalAws, startLocalAws, uniqueName } from '../support/local-aws';
import { postPubSubEvent } from './support/cloud-events';
import { FakeCloud, TEST_ROLE_ARN } from './support/fake-cloud';
import { gcpEntries } from './support/fixtures';
import { readStream } from './support/stream';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What the Azure Functions Node worker does before loading the app: it answers `require('@azure/functions-core')`
 * with its API. This stand-in records what the bundle registers.
 */
const FAKE_WORKER = `
const Module = require('node:module');
const registered = [];
const coreApi = {
  setProgrammingModel: (model) => registered.push({ programmingModel: model.name }),
  registerFunction: (metadata, callback) => {
    registered.push({ metadata, callback: typeof callback });
    return { dispose() {} };
  },
  registerHook: () => ({ dispose() {} }),
  log: () => {},
};
const original = Module.prototype.require;
Module.prototype.require = function (id) {
  return id === '@azure/functions-core' ? coreApi : original.apply(this, arguments);
};
process.on('exit', () => process.stdout.write('REGISTERED ' + JSON.stringify(registered)));
`;

const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ROLE_ARN: TEST_ROLE_ARN,
};

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'forwarder-build-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('buildForwarder', () => {
  it('builds the Azure app: a bundle the Functions worker loads, host.json and a v4 package.json', async () => {
    const out = path.join(work, 'azure');
    await buildForwarder('azure', out);
    const worker = path.join(work, 'fake-worker.cjs');
    await writeFile(worker, FAKE_WORKER);

    const { stdout } = await run(
      process.execPath,
      ['-r', worker, '-e', `require(${JSON.stringify(path.join(out, 'index.js'))})`],
      {
        env: {
          ...BASE_ENV,
          KINESIS_STREAM_NAME: 'azure-stream',
          TOKEN_AUDIENCE: 'api://forwarder',
          NODE_NO_WARNINGS: '1',
        },
      },
    );

    const manifest = JSON.parse(await readFile(path.join(out, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ main: 'index.js', dependencies: {} });
    expect(manifest.type).toBeUndefined();
    const host = JSON.parse(await readFile(path.join(out, 'host.json'), 'utf8'));
    expect(host).toMatchObject({
      version: '2.0',
      extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle' },
    });
    const registered = JSON.parse(stdout.slice(stdout.indexOf('REGISTERED ') + 'REGISTERED '.length));
    expect(registered).toContainEqual({ programmingModel: '@azure/functions' });
    const [{ metadata, callback }] = registered.filter((item: { metadata?: unknown }) => item.metadata);
    expect(callback).toBe('function');
    expect(metadata.name).toBe('forwardActivityLogs');
    expect(Object.values(metadata.bindings)).toContainEqual(
      expect.objectContaining({
        type: 'eventHubTrigger',
        direction: 'in',
        cardinality: 'many',
        eventHubName: 'insights-activity-logs',
        connection: 'ActivityLogEventHub',
      }),
    );
    expect(metadata.retryOptions).toMatchObject({ retryStrategy: 'exponentialBackoff', maxRetryCount: -1 });
  });

  describe('the GCP function', () => {
    let aws: LocalAws;
    let cloud: FakeCloud;
    let child: ChildProcess | undefined;

    beforeAll(async () => {
      aws = await startLocalAws();
      cloud = await FakeCloud.start();
    });

    afterAll(async () => {
      child?.kill();
      await cloud.close();
      await aws.stop();
    });

    it('builds a bundle the Functions Framework serves as the deployed function', async () => {
      // Arrange: the folder as deployed, with the framework installed beside it (the buildpack's npm install).
      const out = path.join(work, 'gcp');
      await buildForwarder('gcp', out);
      await symlink(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
      const manifest = JSON.parse(await readFile(path.join(out, 'package.json'), 'utf8'));
      const streamName = uniqueName('gcp-bundle');
      await createStream(aws.kinesis, streamName);
      const port = await freePort();
      child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js'),
          '--target=forwardAuditLogs',
          '--signature-type=cloudevent',
          `--port=${port}`,
        ],
        {
          cwd: out,
          env: {
            ...BASE_ENV,
            KINESIS_STREAM_NAME: streamName,
            TOKEN_AUDIENCE: 'https://forwarder.example.com',
            KINESIS_ENDPOINT: aws.kinesisEndpoint,
            STS_ENDPOINT: cloud.stsEndpoint,
            GCE_METADATA_HOST: cloud.metadataHost,
            NODE_NO_WARNINGS: '1',
          },
        },
      );
      await serving(child);
      const [entry] = gcpEntries();

      // Act
      const answer = await postPubSubEvent(`http://127.0.0.1:${port}/`, { data: entry as string });

      // Assert
      expect(manifest).toMatchObject({
        main: 'index.js',
        dependencies: { '@google-cloud/functions-framework': expect.stringMatching(/^\d+\.\d+\.\d+$/) },
      });
      expect(answer.status).toBe(204);
      expect((await readStream(aws.kinesis, streamName)).map((item) => item.data.toString())).toEqual([
        entry,
      ]);
    });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the framework says it is serving; rejects if it exits first. */
function serving(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Serving function...')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`the framework exited with ${code}: ${output}`)));
  });
}
