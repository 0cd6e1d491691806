import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
/** Output per inflate step: each step is a round trip to the main thread, so few large ones. */
const INFLATE_CHUNK_BYTES = 1024 * 1024;

import type { RecordLocation, SourceName } from '../engine/ecs';
import { recordsFromDocument } from '../engine/normalizers';
import { PathError } from './errors';

/** One item of a scan: a record to normalize, a record that could not be read, or a finished file. */
export type ScanItem =
  | {
      readonly kind: 'record';
      readonly source: SourceName;
      readonly record: unknown;
      readonly location: RecordLocation;
    }
  | { readonly kind: 'bad'; readonly location: RecordLocation; readonly reason: string }
  | { readonly kind: 'file'; readonly path: string; readonly bytes: number };

const LOG_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
const LINES_FILE = /\.(jsonl|ndjson)(\.gz)?$/i;
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Every log file under the given paths, in a stable order. A path that does not exist or cannot be
 * listed throws `PathError`: the user named it, so silently skipping it would hide missing evidence.
 */
export async function listLogFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const info = await stat(given).catch((error: unknown) => {
      throw new PathError(given, describe(error), { cause: error });
    });
    if (info.isDirectory()) files.push(...(await walk(given)));
    else files.push(given);
  }
  return files;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new PathError(dir, describe(error), { cause: error });
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile() && LOG_FILE.test(entry.name)) files.push(full);
  }
  return files;
}

/**
 * Streams the records of one file. JSON Lines files are read line by line, so memory stays flat
 * however large the file; a JSON document (a CloudTrail S3 object, an Azure export) is read whole,
 * since its records are only known once it parses. A `.json` file that is really JSON Lines is
 * recognised and read as such. Gzip is detected by its magic bytes, not trusted from the name.
 */
export async function* scanFile(file: string): AsyncGenerator<ScanItem> {
  yield* scanLoaded(file, await load(file));
}

/**
 * How many files `scanFiles` reads and inflates ahead of the one being scanned. Two ahead was ~10% faster
 * but held peak memory above 200 MB over 1 GiB of CloudTrail (BENCHMARKS.md, section 5); one keeps it flat.
 */
const READ_AHEAD = 1;

/**
 * `scanFile` over many files in order, reading and inflating the next JSON document while the records of
 * the current one are normalized and evaluated: inflating runs on libuv's thread pool, so the two overlap
 * on a second core instead of taking turns. At most `READ_AHEAD + 1` documents are held at once.
 */
export async function* scanFiles(files: readonly string[]): AsyncGenerator<ScanItem> {
  const start = (file: string): Promise<Loaded> => {
    const loading = load(file);
    // Handled when its turn comes; until then a failure must not count as an unhandled rejection.
    loading.catch(() => undefined);
    return loading;
  };
  const ahead: Promise<Loaded>[] = [];
  let started = 0;
  for (let i = 0; i < files.length; i++) {
    while (started < files.length && started <= i + READ_AHEAD) ahead.push(start(files[started++] as string));
    const loaded = await (ahead.shift() as Promise<Loaded>);
    yield* scanLoaded(files[i] as string, loaded);
  }
}

/** A file opened for scanning: a JSON Lines file to stream, or a document read whole (or how that failed). */
type Loaded =
  | { readonly lines: true; readonly gzipped: boolean }
  | { readonly lines: false; readonly text: string; readonly bytes: number }
  | { readonly lines: false; readonly error: unknown };

async function load(file: string): Promise<Loaded> {
  const gzipped = await hasGzipMagic(file);
  if (LINES_FILE.test(file)) return { lines: true, gzipped };
  try {
    // One read and one inflate job on the thread pool: a stream would need the main thread for every
    // 16 KB chunk, so it could not inflate the next file while this one is being parsed.
    const raw = await readFile(file);
    const bytes = gzipped ? await gunzipAsync(raw, { chunkSize: INFLATE_CHUNK_BYTES }) : raw;
    return { lines: false, text: bytes.toString('utf8'), bytes: bytes.length };
  } catch (error) {
    return { lines: false, error };
  }
}

function openFile(file: string, gzipped: boolean): Readable {
  const raw = createReadStream(file);
  return gzipped ? raw.pipe(createGunzip()) : raw;
}

async function* scanLoaded(file: string, loaded: Loaded): AsyncGenerator<ScanItem> {
  let bytes = 0;
  try {
    if (loaded.lines) {
      for await (const item of scanLines(file, openFile(file, loaded.gzipped), (n) => (bytes += n)))
        yield item;
    } else {
      if ('error' in loaded) throw loaded.error;
      bytes = loaded.bytes;
      yield* scanDocumentOrLines(file, loaded.text);
    }
  } catch (error) {
    // Truncated gzip, an I/O error mid-file: what was read so far counts, the rest is reported.
    yield {
      kind: 'bad',
      location: { file },
      reason: `file could not be read to the end: ${describe(error)}`,
    };
  }
  yield { kind: 'file', path: file, bytes };
}

async function* scanLines(
  file: string,
  stream: Readable,
  onBytes: (n: number) => void,
): AsyncGenerator<ScanItem> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    onBytes(text.length + 1);
    if (text.trim() === '') continue;
    yield* recordsOfText(text, { file, line });
  }
}

function* scanDocumentOrLines(file: string, text: string): Generator<ScanItem> {
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (looksLikeJsonLines(text)) {
      let line = 0;
      for (const lineText of text.split(/\r?\n/)) {
        line += 1;
        if (lineText.trim() !== '') yield* recordsOfText(lineText, { file, line });
      }
      return;
    }
    yield { kind: 'bad', location: { file }, reason: `not JSON: ${describe(error)}` };
    return;
  }
  yield* recordsOfValue(value, { file });
}

/** Two or more lines that each start an object or array: JSON Lines saved under a `.json` name. */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.length > 1 && lines.every((line) => /^\s*[[{]/.test(line));
}

function* recordsOfText(text: string, location: RecordLocation): Generator<ScanItem> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    yield { kind: 'bad', location, reason: `not JSON: ${describe(error)}` };
    return;
  }
  yield* recordsOfValue(value, location);
}

/**
 * Unwraps a parsed document into records. Each record's location is its line in a JSON Lines file
 * and its 1-based position inside the document that held it.
 */
function* recordsOfValue(value: unknown, location: RecordLocation): Generator<ScanItem> {
  for (const item of recordsFromDocument(value)) {
    const at: RecordLocation = { ...location, index: item.index };
    if ('error' in item) yield { kind: 'bad', location: at, reason: item.error };
    else yield { kind: 'record', source: item.source, record: item.record, location: at };
  }
}

async function hasGzipMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch((error: unknown) => {
    throw new PathError(file, describe(error), { cause: error });
  });
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
