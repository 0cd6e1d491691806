/**
 * Bundles each forwarder into a folder that deploys as it is:
 *
 * - `forwarders/azure/dist`: `index.js` (everything bundled, CommonJS), `host.json`, and a `package.json`
 *   whose `main` the Functions host loads. `@azure/functions-core` stays external: the Node worker provides
 *   it at run time, and a bundled stand-in would make `@azure/functions` believe it runs in a test and
 *   silently register nothing.
 * - `forwarders/gcp/dist`: `index.js` and a `package.json` that depends on `@google-cloud/functions-framework`
 *   alone. The framework stays external because the runtime starts the framework from `node_modules` and
 *   looks the function up in that copy's registry; the build installs it (`npm install` by the buildpack).
 *
 * Usage: `npx tsx forwarders/build.ts [azure] [gcp]` (both when none is named).
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export type ForwarderPlatform = 'azure' | 'gcp';

const FORWARDERS = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(FORWARDERS);

interface Layout {
  readonly packageName: string;
  readonly description: string;
  readonly external: readonly string[];
  /** Runtime dependencies of the deployment, pinned to the versions the repository tests with. */
  readonly dependencies: readonly string[];
  readonly extraFiles: readonly string[];
  readonly scripts?: Readonly<Record<string, string>>;
}

const LAYOUTS: Readonly<Record<ForwarderPlatform, Layout>> = {
  azure: {
    packageName: 'abnormal-cloud-api-calls-azure-forwarder',
    description: 'Forwards the Azure Activity Log from Event Hubs to the detector’s Kinesis stream',
    external: ['@azure/functions-core'],
    dependencies: [],
    extraFiles: ['host.json'],
  },
  gcp: {
    packageName: 'abnormal-cloud-api-calls-gcp-forwarder',
    description: 'Forwards GCP Audit Logs from Pub/Sub to the detector’s Kinesis stream',
    external: ['@google-cloud/functions-framework'],
    dependencies: ['@google-cloud/functions-framework'],
    extraFiles: [],
    scripts: { start: 'functions-framework --target=forwardAuditLogs --signature-type=cloudevent' },
  },
};

/**
 * Builds one forwarder into `outDir` (default `forwarders/<platform>/dist`), replacing what was there.
 * Returns the paths written.
 */
export async function buildForwarder(platform: ForwarderPlatform, outDir?: string): Promise<string[]> {
  const layout = LAYOUTS[platform];
  const source = path.join(FORWARDERS, platform);
  const out = outDir ?? path.join(source, 'dist');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const result = await build({
    entryPoints: [path.join(source, 'index.ts')],
    outfile: path.join(out, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    external: [...layout.external],
    logLevel: 'silent',
    metafile: true,
  });
  if (result.warnings.length > 0) {
    throw new Error(`esbuild warnings for ${platform}: ${result.warnings.map((w) => w.text).join('; ')}`);
  }

  const rootPackage = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dependencies: Record<string, string> = {};
  for (const name of layout.dependencies) {
    const manifest = JSON.parse(
      await readFile(path.join(ROOT, 'node_modules', ...name.split('/'), 'package.json'), 'utf8'),
    ) as { version: string };
    dependencies[name] = manifest.version;
  }
  const manifest = {
    name: layout.packageName,
    version: rootPackage.version,
    private: true,
    description: layout.description,
    license: 'Apache-2.0',
    main: 'index.js',
    engines: { node: '>=20' },
    ...(layout.scripts === undefined ? {} : { scripts: layout.scripts }),
    dependencies,
  };
  const written = [
    path.join(out, 'index.js'),
    path.join(out, 'index.js.map'),
    path.join(out, 'package.json'),
  ];
  await writeFile(written[2] as string, `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of layout.extraFiles) {
    await copyFile(path.join(source, file), path.join(out, file));
    written.push(path.join(out, file));
  }
  return written;
}

async function main(argv: readonly string[]): Promise<void> {
  const unknown = argv.filter((arg) => arg !== 'azure' && arg !== 'gcp');
  if (unknown.length > 0)
    throw new Error(`unknown forwarder(s): ${unknown.join(', ')} (expected azure, gcp)`);
  const platforms = (argv.length === 0 ? ['azure', 'gcp'] : argv) as ForwarderPlatform[];
  for (const platform of platforms) {
    const files = await buildForwarder(platform);
    console.log(`${platform}: ${files.map((file) => path.relative(ROOT, file)).join(', ')}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
