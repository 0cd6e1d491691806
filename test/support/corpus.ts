/**
 * The labelled third-party corpus in `../shared/corpus`, read at run time and never copied into the
 * project. `labels.csv` has a row per line: whether the seed rule should fire on it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CORPUS_DIR = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));
const corpusDir = CORPUS_DIR;

export interface Label {
  file: string;
  line: number;
  cloud: string;
  api: string;
  expectedMatch: boolean;
  note: string;
}

/** RFC 4180 fields of one CSV line (the notes contain quoted commas). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

export function loadLabels(): Label[] {
  const [header, ...rows] = readFileSync(`${corpusDir}labels.csv`, 'utf8')
    .split(/\r?\n/)
    .filter((row) => row.length > 0);
  expect(csvFields(header as string).slice(0, 5)).toEqual(['file', 'line', 'cloud', 'api', 'expected_match']);
  return rows.map((row) => {
    const [file, line, cloud, api, expected, , , note] = csvFields(row);
    return {
      file: file as string,
      line: Number(line),
      cloud: cloud as string,
      api: api as string,
      expectedMatch: expected === 'true',
      note: note ?? '',
    };
  });
}
