/**
 * Benchmark 4: each Lambda bundle's minified size and module initialization time. The entries are bundled
 * with esbuild exactly as the stack bundles them (`lib/constructs/handler-function.ts`: ESM, node22,
 * minified, `@aws-sdk/*` left to the runtime, the `require` shim banner); the size is the `.mjs` without
 * its source map; initialization is the time a fresh `node` process takes to `import()` the bundle
 * (SDK clients loaded from `node_modules`, as the runtime loads its own), median of N processes.
 * esbuild's metafile says what the bytes are.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { formatBytes, median, table } from './harness';
import { REPO_ROOT } from './seed-rule';

/** The stack's bundling options (lib/constructs/handler-function.ts), repeated here for esbuild's API. */
const ESM_REQUIRE_SHIM =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";
const EXTERNAL = ['@aws-sdk/*'];

export const ENTRIES = [
  { name: 'detect', entry: 'lambda/handlers/detect.ts' },
  { name: 'redrive', entry: 'lambda/handlers/redrive.ts' },
  { name: 'slack-notifier', entry: 'lambda/handlers/slack-notifier.ts' },
] as const;

/** What each handler reads at module scope (values only need to be present). */
const ENVIRONMENT: Record<string, string> = {
  TABLE_NAME: 'state',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
  DEAD_LETTER_BUCKET: 'dead-letters',
  SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:slack',
  POWERTOOLS_SERVICE_NAME: 'abnormal-cloud-api-calls',
  POWERTOOLS_METRICS_NAMESPACE: 'AbnormalCloudApiCalls',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  RULES_DIR: path.join(REPO_ROOT, 'rules'),
};

export interface BundleRow {
  readonly name: string;
  readonly bytes: number;
  readonly initMs: number;
  readonly initSpreadMs: readonly [number, number];
  readonly largest: readonly { readonly input: string; readonly bytes: number }[];
}

export interface BundleResult {
  readonly markdown: string;
  readonly rows: readonly BundleRow[];
}

export async function bundleEntry(
  entry: string,
  outfile: string,
  options: { bundleSdk?: boolean } = {},
): Promise<Metafile> {
  const result = await build({
    entryPoints: [path.join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_SHIM },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: options.bundleSdk === true ? [] : EXTERNAL,
    tsconfig: path.join(REPO_ROOT, 'tsconfig.json'),
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}

/** Stands for "the SDK client packages alone" in `importTime`. */
const SDK_CLIENTS_MODULE = '(sdk clients)';

/** Milliseconds a fresh `node` takes to import the module, measured inside that process. */
function importTime(file: string, cwd?: string): number {
  const script =
    file === SDK_CLIENTS_MODULE
      ? `const t = performance.now(); await Promise.all(['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sns'].map((m) => import(m))); console.log(performance.now() - t);`
      : `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const out = execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    env: { ...process.env, ...ENVIRONMENT, NODE_OPTIONS: '' },
    encoding: 'utf8',
    ...(cwd === undefined ? {} : { cwd }),
  });
  return Number(out.trim().split('\n').pop());
}

/** Bytes per package (or per first-party folder) in the output, largest first. */
function largestInputs(metafile: Metafile, outfile: string): { input: string; bytes: number }[] {
  const output = Object.entries(metafile.outputs).find(([name]) =>
    name.endsWith(path.basename(outfile)),
  )?.[1];
  const byGroup = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const group = match ? (match[1] as string) : input.split('/').slice(0, 3).join('/');
    byGroup.set(group, (byGroup.get(group) ?? 0) + bytesInOutput);
  }
  return [...byGroup].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export async function benchBundles(options: { quick: boolean }): Promise<BundleResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundles-'));
  // The bundles import the SDK at run time, as in Lambda; here it resolves from the repository's modules.
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const runs = options.quick ? 5 : 15;
  const rows: BundleRow[] = [];
  let sdkAlone: number[] = [];
  try {
    sdkAlone = Array.from({ length: runs }, () => importTime(SDK_CLIENTS_MODULE, dir));
    const variants = [
      ...ENTRIES.map((entry) => ({ ...entry, bundleSdk: false })),
      { name: 'detect, SDK bundled too', entry: 'lambda/handlers/detect.ts', bundleSdk: true },
    ];
    for (const [index, { name, entry, bundleSdk }] of variants.entries()) {
      mkdirSync(path.join(dir, String(index)));
      const outfile = path.join(dir, String(index), 'index.mjs');
      const metafile = await bundleEntry(entry, outfile, { bundleSdk });
      importTime(outfile); // warm the file cache
      const times = Array.from({ length: runs }, () => importTime(outfile));
      const sorted = [...times].sort((a, b) => a - b);
      rows.push({
        name,
        bytes: statSync(outfile).size,
        initMs: median(times),
        initSpreadMs: [sorted[0] as number, sorted[sorted.length - 1] as number],
        largest: largestInputs(metafile, outfile).slice(0, 5),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const markdown = [
    `esbuild ${(await import('esbuild')).version}, the stack's options; initialization = \`import()\` of the ` +
      `bundle in a fresh \`node\` ${process.version} process (SDK v3 clients loaded from node_modules), ` +
      `median of ${runs} processes (min–max in brackets). Targets for detect: < 400 KB and < 60 ms. ` +
      `Loading the three SDK clients detect uses (DynamoDB, S3, SNS) alone, unbundled as the runtime ` +
      `provides them, takes ${median(sdkAlone).toFixed(1)} ms here.`,
    '',
    table(
      ['function', 'minified size', 'module init (median)', 'largest parts of the bundle'],
      rows.map((row) => [
        row.name,
        formatBytes(row.bytes),
        `${row.initMs.toFixed(1)} ms (${row.initSpreadMs[0].toFixed(0)}–${row.initSpreadMs[1].toFixed(0)})`,
        row.largest.map((part) => `${part.input} ${formatBytes(part.bytes)}`).join(', '),
      ]),
    ),
  ].join('\n');
  return { markdown, rows };
}
