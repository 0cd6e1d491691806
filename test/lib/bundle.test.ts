import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetterQueue } from '../../lib/constructs/dead-letter-queue';
import { HandlerFunction } from '../../lib/constructs/handler-function';
import { RULES_DIRECTORY } from '../../lib/project';

const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The one test that really runs esbuild: every other test synthesizes with `bundling: false`. */
describe('the detect bundle', () => {
  it('is an ES module under 400 KB with the rule files, not their tests, beside it', () => {
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundle', { env: { account: '111122223333', region: 'us-east-1' } });
    const key = new kms.Key(stack, 'Key');
    new HandlerFunction(stack, 'Detect', {
      entry: 'lambda/handlers/detect.ts',
      description: 'bundle test',
      logEncryptionKey: key,
      deadLetterQueue: new DeadLetterQueue(stack, 'Dlq', { encryptionKey: key }),
      rulesDirectory: RULES_DIRECTORY,
    });

    app.synth();

    const [asset] = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    if (asset === undefined) throw new Error('no asset was staged');
    const bundle = path.join(outdir, asset);
    const size = statSync(path.join(bundle, 'index.mjs')).size;
    expect(size).toBeGreaterThan(10_000);
    expect(size).toBeLessThan(400 * 1024);
    expect(existsSync(path.join(bundle, 'index.mjs.map'))).toBe(true);
    const rules = readdirSync(path.join(bundle, 'rules')).sort();
    const expected = readdirSync(RULES_DIRECTORY)
      .filter((name) => name.endsWith('.yaml') && !name.endsWith('.tests.yaml'))
      .sort();
    expect(rules).toEqual(expected);
    expect(rules).toContain('abnormal-cloud-api-calls.yaml');
  }, 120_000);
});
