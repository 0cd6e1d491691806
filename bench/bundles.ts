/**
 * Benchmark 4: each Lambda bundle's minified size and module initialization time. The entries are bundled
 * with esbuild exactly as the stack bundles them (`lib/constructs/handler-function.ts`: ESM, node22,
 * minified, `@aws-sdk/*` left to the runtime, the `require` shim banner); the size is the `.mjs` without
 * its source map; initialization is the time a fresh `node` process takes to `import()` the bundle
 * (SDK clients loaded from `node_modules`, as the runtime loads its own), median of N processes.
 * esbuild's metafile says what the bytes are.
 *
 * What a handler defers past its initialization is timed too, in the same process, so that moving work
 * out of `import()` cannot pass for removing it: "ready" is the import plus a first invocation with an
 * empty Kinesis batch (`{Records: []}`), which loads and compiles detect's rules from the bundle's
 * `rules/rules.json`; "first SDK use" is creating every client the handler creates on first need
 * (`clients.<name>.client()`: importing its SDK package and constructing it), as the first record that
 * needs all of them would.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import {
  isRuleFile,
  PRECOMPILED_RULES_FILE,
  precompileRuleDirectory,
  serializeRuleDocuments,
} from '../lambda/engine/rules';
import { formatBytes, median, table } from './harness';
import { REPO_ROOT, RULES_DIR } from './seed-rule';

/** The stack's bundling options (lib/constructs/handler-function.ts), repeated here for esbuild's API. */
const ESM_REQUIRE_SHIM =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";
const EXTERNAL = ['@aws-sdk/*'];

/** `ready`: the entry loads rules on its first invocation, timed with an empty Kinesis batch. */
export const ENTRIES = [
  { name: 'detect', entry: 'lambda/handlers/detect.ts', ready: true },
  { name: 'redrive', entry: 'lambda/handlers/redrive.ts', ready: false },
  { name: 'slack-notifier', entry: 'lambda/handlers/slack-notifier.ts', ready: false },
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
};

export interface BundleRow {
  readonly name: string;
  readonly bytes: number;
  readonly initMs: number;
  readonly initSpreadMs: readonly [number, number];
  /** Median of import + first invocation with an empty batch (rules loaded), for entries with rules. */
  readonly readyMs?: number;
  /** Median time to create the clients the handler defers to first use; absent when it defers none. */
  readonly firstSdkUseMs?: number;
  /** How many clients the handler creates on first use. */
  readonly lazyClients: number;
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

/** Milliseconds a fresh `node` takes to import the three SDK client packages detect uses, alone. */
function sdkImportTime(cwd: string): number {
  const script = `const t = performance.now(); await Promise.all(['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sns'].map((m) => import(m))); console.log(performance.now() - t);`;
  return Number(runNode(script, {}, cwd).trim().split('\n').pop());
}

interface Startup {
  readonly initMs: number;
  readonly readyMs?: number;
  readonly firstSdkUseMs: number;
  readonly lazyClients: number;
}

/**
 * In a fresh `node`: the bundle's import, then (`ready`) a first invocation with an empty Kinesis batch,
 * then the creation of every client the module exports as created-on-first-use (an object of `clients`
 * with a `client()` method, see `lambda/adapters/aws-sdk.ts`). The handler's own log and metric lines go
 * to stdout first; the figures are the last line.
 */
function startupTimes(file: string, options: { ready: boolean; rulesDir: string }): Startup {
  const script = [
    'const t0 = performance.now();',
    `const m = await import(${JSON.stringify(file)});`,
    'const initMs = performance.now() - t0;',
    options.ready ? 'await m.handler({ Records: [] });' : '',
    'const readyMs = performance.now() - t0;',
    "const lazy = Object.values(m.clients ?? {}).filter((c) => typeof c?.client === 'function');",
    'const t1 = performance.now();',
    'await Promise.all(lazy.map((c) => c.client()));',
    'const firstSdkUseMs = performance.now() - t1;',
    `console.log(JSON.stringify({ initMs, ${options.ready ? 'readyMs, ' : ''}firstSdkUseMs, lazyClients: lazy.length }));`,
  ].join('\n');
  const out = runNode(script, { RULES_DIR: options.rulesDir });
  return JSON.parse(out.trim().split('\n').pop() as string) as Startup;
}

function runNode(script: string, env: Record<string, string>, cwd?: string): string {
  return execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    env: { ...process.env, ...ENVIRONMENT, ...env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    ...(cwd === undefined ? {} : { cwd }),
  });
}

function spread(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[0] as number, sorted[sorted.length - 1] as number];
}

function formatMs(median: number, [min, max]: readonly [number, number]): string {
  return `${median.toFixed(1)} ms (${min.toFixed(0)}–${max.toFixed(0)})`;
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
  // The rules as the stack puts them beside the bundle: the rule files, and `rules.json`.
  const rulesDir = path.join(dir, 'rules');
  mkdirSync(rulesDir);
  for (const name of readdirSync(RULES_DIR).filter(isRuleFile)) {
    copyFileSync(path.join(RULES_DIR, name), path.join(rulesDir, name));
  }
  writeFileSync(
    path.join(rulesDir, PRECOMPILED_RULES_FILE),
    serializeRuleDocuments(precompileRuleDirectory(RULES_DIR)),
  );
  const runs = options.quick ? 5 : 15;
  const rows: BundleRow[] = [];
  let sdkAlone: number[] = [];
  try {
    sdkAlone = Array.from({ length: runs }, () => sdkImportTime(dir));
    const variants = [
      ...ENTRIES.map((entry) => ({ ...entry, bundleSdk: false })),
      { name: 'detect, SDK bundled too', entry: 'lambda/handlers/detect.ts', ready: true, bundleSdk: true },
    ];
    for (const [index, { name, entry, ready, bundleSdk }] of variants.entries()) {
      mkdirSync(path.join(dir, String(index)));
      const outfile = path.join(dir, String(index), 'index.mjs');
      const metafile = await bundleEntry(entry, outfile, { bundleSdk });
      startupTimes(outfile, { ready, rulesDir }); // warm the file cache
      const samples = Array.from({ length: runs }, () => startupTimes(outfile, { ready, rulesDir }));
      const init = samples.map((sample) => sample.initMs);
      const lazyClients = samples[0]?.lazyClients ?? 0;
      rows.push({
        name,
        bytes: statSync(outfile).size,
        initMs: median(init),
        initSpreadMs: spread(init),
        ...(ready ? { readyMs: median(samples.map((sample) => sample.readyMs ?? Number.NaN)) } : {}),
        ...(lazyClients > 0 ? { firstSdkUseMs: median(samples.map((sample) => sample.firstSdkUseMs)) } : {}),
        lazyClients,
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
      `Ready = initialization plus a first invocation with an empty Kinesis batch, which loads and compiles ` +
      `the rules (\`rules/rules.json\`, precompiled as the stack does). First SDK use = creating, in the same ` +
      `process afterwards, every client the handler creates on first need (importing its SDK package); ` +
      `"in init" when the handler builds its clients at module load. Loading the three SDK clients detect ` +
      `uses (DynamoDB, S3, SNS) alone, unbundled as the runtime provides them, takes ` +
      `${median(sdkAlone).toFixed(1)} ms here.`,
    '',
    table(
      [
        'function',
        'minified size',
        'module init (median)',
        'ready (median)',
        'first SDK use (median)',
        'largest parts of the bundle',
      ],
      rows.map((row) => [
        row.name,
        formatBytes(row.bytes),
        formatMs(row.initMs, row.initSpreadMs),
        row.readyMs === undefined ? '—' : `${row.readyMs.toFixed(1)} ms`,
        row.firstSdkUseMs === undefined
          ? 'in init'
          : `${row.firstSdkUseMs.toFixed(1)} ms (${row.lazyClients} clients)`,
        row.largest.map((part) => `${part.input} ${formatBytes(part.bytes)}`).join(', '),
      ]),
    ),
  ].join('\n');
  return { markdown, rows };
}
