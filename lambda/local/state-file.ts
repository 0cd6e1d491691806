import { readFile, rename, writeFile } from 'node:fs/promises';
import type { MemoryStoreSnapshot } from '../engine/detector/memory-store';
import { MemoryStore } from '../engine/detector/memory-store';
import { StateFileError } from './errors';

/**
 * Opens the embedded store behind `--state FILE`: dedupe and suppression state that survives
 * between runs. A missing file starts empty; an unreadable or foreign one is refused rather than
 * overwritten, because losing it would re-alert everything it remembered.
 */
export async function openStateFile(file: string, now = Date.now()): Promise<MemoryStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new MemoryStore(undefined, now);
    throw new StateFileError(file, (error as Error).message, { cause: error });
  }
  let snapshot: unknown;
  try {
    snapshot = JSON.parse(text);
  } catch (error) {
    throw new StateFileError(file, `not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isSnapshot(snapshot)) throw new StateFileError(file, 'not a detector state file (expected version 1)');
  return new MemoryStore(snapshot, now);
}

/** Writes the state atomically (temporary file, then rename) so a crash never leaves half a file. */
export async function saveStateFile(file: string, store: MemoryStore): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(store.snapshot())}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

function isSnapshot(value: unknown): value is MemoryStoreSnapshot {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<MemoryStoreSnapshot>;
  return (
    candidate.version === 1 &&
    typeof candidate.occurrences === 'object' &&
    candidate.occurrences !== null &&
    typeof candidate.groups === 'object' &&
    candidate.groups !== null
  );
}
