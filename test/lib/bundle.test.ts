import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { PRECOMPILED_RULES_FILE, precompileRuleDirectory } from '../../lambda/engine/rules';
import { DeadLetterQueue } from '../../lib/constructs/dead-letter-queue';
import { HandlerFunction, RUNTIME_PROVIDED_MODULES } from '../../lib/constructs/handler-function';
import { PROJECT_ROOT, RULES_DIRECTORY } from '../../lib/project';

const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The one test that really runs esbuild: every other test synthesizes with `bundling: false`. */
describe('the detect bundle', () => {
  it('is an ES module under 400 KB with the rule files, not their tests, and the precompiled rules beside it', () => {
    const bundle = detectBundle();

    const size = statSync(path.join(bundle, 'index.mjs')).size;
    expect(size).toBeGreaterThan(10_000);
    expect(size).toBeLessThan(400 * 1024);
    expect(existsSync(path.join(bundle, 'index.mjs.map'))).toBe(true);
    const rules = readdirSync(path.join(bundle, 'rules')).sort();
    const expected = readdirSync(RULES_DIRECTORY)
      .filter((name) => name.endsWith('.yaml') && !name.endsWith('.tests.yaml'))
      .sort();
    expect(rules).toEqual([...expected, PRECOMPILED_RULES_FILE].sort());
    expect(rules).toContain('abnormal-cloud-api-calls.yaml');
    expect(JSON.parse(readFileSync(path.join(bundle, 'rules', PRECOMPILED_RULES_FILE), 'utf8'))).toEqual(
      precompileRuleDirectory(RULES_DIRECTORY),
    );
  }, 120_000);

  it('starts and handles an empty Kinesis batch where no AWS SDK package can be found', () => {
    const bundle = detectBundle();
    // The staged asset sits in a temporary folder with no node_modules above it: a static import of
    // `@aws-sdk/*` would fail the import, and loading any client would fail the invocation.
    const script = [
      `const { handler } = await import(${JSON.stringify(path.join(bundle, 'index.mjs'))});`,
      'const response = await handler({ Records: [] });',
      "console.log('RESULT ' + JSON.stringify(response));",
    ].join('\n');

    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: bundle,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        TABLE_NAME: 'state',
        TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
        DEAD_LETTER_BUCKET: 'dead-letters',
        RULES_DIR: path.join(bundle, 'rules'),
        POWERTOOLS_SERVICE_NAME: 'bundle-test',
        POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
      },
    });

    const result = out.split('\n').find((line) => line.startsWith('RESULT '));
    expect(result).toBe('RESULT {"batchItemFailures":[]}');
  }, 120_000);

  it('leaves the YAML parser out and imports the AWS SDK only dynamically', async () => {
    const { metafile } = await build({
      entryPoints: [path.join(PROJECT_ROOT, 'lambda/handlers/detect.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      external: [...RUNTIME_PROVIDED_MODULES],
      write: false,
      outfile: path.join(outdir, 'metafile-only.mjs'),
      metafile: true,
      logLevel: 'error',
    });

    const [output] = Object.values(metafile.outputs).filter(
      (candidate) => candidate.entryPoint !== undefined,
    );
    const inputs = Object.keys(output?.inputs ?? {});
    const sdkImports = (output?.imports ?? []).filter((entry) => entry.path.startsWith('@aws-sdk/'));
    expect(inputs.some((input) => input.includes('lambda/engine/rules/schema.ts'))).toBe(true);
    expect(inputs.filter((input) => input.includes('node_modules/yaml/'))).toEqual([]);
    expect(sdkImports.map((entry) => entry.path).sort()).toEqual([
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-s3',
      '@aws-sdk/client-sns',
    ]);
    expect(new Set(sdkImports.map((entry) => entry.kind))).toEqual(new Set(['dynamic-import']));
  }, 60_000);
});

let bundled: string | undefined;

/** Synthesizes a stack with the detect function once (esbuild runs) and returns its staged asset folder. */
function detectBundle(): string {
  if (bundled !== undefined) return bundled;
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
  bundled = path.join(outdir, asset);
  return bundled;
}
