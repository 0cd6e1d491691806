import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: where `package-lock.json`, `rules/` and `lambda/` are. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The rules the app deploys (the same folder the local CLI reads by default). */
export const RULES_DIRECTORY = path.join(PROJECT_ROOT, 'rules');
