import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { PathError } from '../../lambda/local/errors';
import type { ScanItem } from '../../lambda/local/scan';
import { listLogFiles, scanFile } from '../../lambda/local/scan';

const cloudTrail = (id: string, name = 'DeleteAccessKey') => ({
  eventVersion: '1.10',
  eventTime: '2026-11-28T09:16:12Z',
  eventSource: 'iam.amazonaws.com',
  eventName: name,
  awsRegion: 'us-east-1',
  eventID: id,
  eventType: 'AwsApiCall',
  recipientAccountId: '111122223333',
  userIdentity: { type: 'IAMUser', userName: 'alice', accountId: '111122223333' },
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'scan-'));
});

async function scan(file: string): Promise<ScanItem[]> {
  const items: ScanItem[] = [];
  for await (const item of scanFile(file)) items.push(item);
  return items;
}

function locations(items: ScanItem[]): unknown[] {
  return items.flatMap((item) => (item.kind === 'file' ? [] : [[item.kind, item.location]]));
}

describe('scanFile', () => {
  it('reads JSON Lines line by line, reporting a bad line and going on', async () => {
    const file = path.join(dir, 'a.jsonl');
    await writeFile(
      file,
      `${JSON.stringify(cloudTrail('1'))}\n\n{not json\n${JSON.stringify(cloudTrail('2'))}\n`,
    );

    const items = await scan(file);

    expect(locations(items)).toEqual([
      ['record', { file, line: 1, index: 1 }],
      ['bad', { file, line: 3 }],
      ['record', { file, line: 4, index: 1 }],
    ]);
  });

  it('gives each record of a JSON document its 1-based position', async () => {
    const file = path.join(dir, 'ct.json');
    await writeFile(
      file,
      JSON.stringify({ Records: [cloudTrail('1'), cloudTrail('2'), cloudTrail('3')] }, null, 2),
    );

    const items = await scan(file);

    expect(locations(items)).toEqual([1, 2, 3].map((index) => ['record', { file, index }]));
  });

  it('recognises gzip by its bytes whatever the file is called', async () => {
    const file = path.join(dir, 'no-extension-hint.json');
    await writeFile(file, gzipSync(JSON.stringify({ Records: [cloudTrail('1')] })));

    const items = await scan(file);

    expect(items[0]).toMatchObject({ kind: 'record', source: 'aws-cloudtrail' });
  });

  it('keeps the records before a truncation and reports the rest as unreadable', async () => {
    const file = path.join(dir, 'cut.jsonl.gz');
    const lines = Array.from({ length: 2000 }, (_, n) => JSON.stringify(cloudTrail(`id-${n}`))).join('\n');
    const zipped = gzipSync(lines);
    await writeFile(file, zipped.subarray(0, Math.floor(zipped.length / 2)));

    const items = await scan(file);

    const records = items.filter((item) => item.kind === 'record');
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(2000);
    expect(items.at(-2)).toMatchObject({ kind: 'bad', location: { file } });
    expect(items.at(-1)).toMatchObject({ kind: 'file', path: file });
  });

  it('reads a .json file that really holds JSON Lines', async () => {
    const file = path.join(dir, 'lines.json');
    await writeFile(file, `${JSON.stringify(cloudTrail('1'))}\n${JSON.stringify(cloudTrail('2'))}\n`);

    const items = await scan(file);

    expect(locations(items)).toEqual([
      ['record', { file, line: 1, index: 1 }],
      ['record', { file, line: 2, index: 1 }],
    ]);
  });

  it('reports a document it does not recognise with its position, and keeps the rest', async () => {
    const file = path.join(dir, 'mixed.json');
    await writeFile(file, JSON.stringify([cloudTrail('1'), { hello: 'world' }, cloudTrail('3')]));

    const items = await scan(file);

    expect(locations(items)).toEqual([
      ['record', { file, index: 1 }],
      ['bad', { file, index: 2 }],
      ['record', { file, index: 3 }],
    ]);
  });
});

describe('listLogFiles', () => {
  it('walks folders recursively in name order and keeps only log files', async () => {
    await mkdir(path.join(dir, 'b'));
    await writeFile(path.join(dir, 'b', 'z.jsonl.gz'), '');
    await writeFile(path.join(dir, 'a.json'), '');
    await writeFile(path.join(dir, 'notes.txt'), '');
    await writeFile(path.join(dir, 'c.NDJSON'), '');

    const files = await listLogFiles([dir]);

    expect(files).toEqual([
      path.join(dir, 'a.json'),
      path.join(dir, 'b', 'z.jsonl.gz'),
      path.join(dir, 'c.NDJSON'),
    ]);
  });

  it('throws a PathError naming a path that does not exist', async () => {
    const missing = path.join(dir, 'missing');

    await expect(listLogFiles([missing])).rejects.toThrow(PathError);
    await expect(listLogFiles([missing])).rejects.toThrow(missing);
  });
});
