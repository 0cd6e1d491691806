import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [path.join(ROOT, 'bin', 'cli.ts'), ...args], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the local detector (npm start)', () => {
  it('alerts on the bundled samples of every cloud and closes with a summary', async () => {
    const run = await cli();

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('AWS AWS IAM DeleteAccessKey');
    expect(run.stdout).toContain('AZURE Microsoft.Authorization roleAssignments/write');
    expect(run.stdout).toContain('GCP gcp.iam SetIamPolicy');
    expect(run.stdout).toMatch(/Scanned 5 files \([\d.]+ KB\), \d+ records\./);
    expect(run.stdout).toMatch(/0 bad records\./);
  });

  it('prints every matching record as a JSON line with --matches', async () => {
    const run = await cli('--matches');

    const lines = jsonLines(run.stdout);
    expect(run.code).toBe(0);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({
        rule: { id: 'abnormal-cloud-api-calls' },
        event: { id: expect.any(String), provider: expect.any(String), action: expect.any(String) },
        cloud: { provider: expect.stringMatching(/^(aws|azure|gcp)$/) },
        log: { file: { path: expect.stringContaining('samples'), line: expect.any(Number) } },
      });
    }
    expect(new Set(lines.map((line) => (line.cloud as { provider: string }).provider))).toEqual(
      new Set(['aws', 'azure', 'gcp']),
    );
  });

  it('gives the line of a JSON Lines record and the position of a record in a document', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-'));
    const record = (id: string) => ({
      eventTime: '2026-11-28T09:16:12Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteAccessKey',
      awsRegion: 'us-east-1',
      eventID: id,
      recipientAccountId: '111122223333',
      userIdentity: { type: 'IAMUser', userName: 'alice' },
    });
    await writeFile(path.join(dir, 'a.jsonl'), `\n${JSON.stringify(record('l2'))}\n`);
    await writeFile(
      path.join(dir, 'b.json'),
      JSON.stringify({ Records: [{ ...record('p1'), eventName: 'ListUsers' }, record('p2')] }),
    );

    const lines = jsonLines((await cli('--matches', dir)).stdout);

    expect(lines.map((line) => [(line.event as { id: string }).id, line.log])).toEqual([
      ['l2', { file: { path: path.join(dir, 'a.jsonl'), line: 2 } }],
      ['p2', { file: { path: path.join(dir, 'b.json'), line: 2 } }],
    ]);
  });

  it('prints alerts as JSON lines with --format ndjson and the summary on stderr', async () => {
    const run = await cli('--format', 'ndjson');

    const alerts = jsonLines(run.stdout);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts[0]).toMatchObject({
      rule: { id: 'abnormal-cloud-api-calls' },
      dedupe: { groupKey: expect.any(String) },
    });
    expect(run.stderr).toMatch(/Scanned 5 files/);
  });

  it('alerts once for an event seen twice, and not again in a later run with --state', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-state-'));
    const state = path.join(dir, 'state.json');

    const first = jsonLines((await cli('--format', 'ndjson', '--state', state)).stdout);
    const second = await cli('--format', 'ndjson', '--state', state);

    expect(first.length).toBeGreaterThan(0);
    expect(jsonLines(second.stdout)).toEqual([]);
    expect(second.stderr).toMatch(/0 alerts/);
    expect(JSON.parse(await readFile(state, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('reports a bad record with its location and finishes the scan', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-bad-'));
    await writeFile(path.join(dir, 'x.jsonl'), '{"truncated": \n');

    const run = await cli(dir, path.join(ROOT, 'samples', 'gcp'));

    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`bad record: ${path.join(dir, 'x.jsonl')}:1: not JSON`);
    expect(run.stdout).toMatch(/1 bad record\./);
    expect(run.stdout).toContain('GCP gcp.iam');
  });

  it('exits non-zero naming a path that cannot be read', async () => {
    const run = await cli('/nonexistent/logs');

    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('cannot read /nonexistent/logs');
  });

  it('shows each alert exactly as the e-mail subscriber receives it with --render email', async () => {
    const run = await cli('--render', 'email', path.join(ROOT, 'samples', 'gcp'));

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Subject: \[HIGH\] Abnormal Cloud API Calls: GCP /m);
    expect(run.stderr).toMatch(/Scanned 1 file/);
  });

  it('shows the Slack payload as JSON with --render slack', async () => {
    const run = await cli('--render', 'slack', path.join(ROOT, 'samples', 'azure'));

    const payloads = run.stdout.split(/\n(?=\{)/).map((text) => JSON.parse(text) as { blocks: unknown[] });
    expect(payloads.length).toBeGreaterThan(0);
    for (const payload of payloads) expect(payload.blocks.length).toBeGreaterThan(0);
  });

  it('refuses an unknown render channel', async () => {
    const run = await cli('--render', 'pager');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--render must be one of email, slack, sns');
  });

  it('prints the sweep SQL per rule and source for a window with --sql --since', async () => {
    const run = await cli('--sql', '--since', '2h');

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('for the last 2h');
    for (const table of ['cloudtrail_logs', 'azure_activity_logs', 'gcp_audit_logs']) {
      expect(run.stdout).toContain(table);
    }
    expect(run.stdout).toContain("'iam.amazonaws.com'");
  });

  it('refuses a --since that is not a duration', async () => {
    const run = await cli('--sql', '--since', 'yesterday');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--since must be a duration');
  });

  it('prints an alert as a JSON line even when its raw event nests 100,000 levels deep', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-deep-'));
    const record = JSON.stringify({
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteAccessKey',
      eventID: 'deep-1',
      eventTime: '2026-11-28T09:00:00Z',
      userIdentity: { type: 'IAMUser', userName: 'bob', accountId: '111122223333' },
      requestParameters: { deep: '@@' },
    }).replace('"@@"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    await writeFile(path.join(dir, 'deep.json'), record);

    const run = await cli('--format', 'ndjson', dir);

    expect(run.code).toBe(0);
    expect(jsonLines(run.stdout)).toMatchObject([
      { event: { id: 'deep-1' }, document: { truncated: expect.any(String) } },
    ]);
  });

  it('refuses an unknown output format', async () => {
    const run = await cli('--format', 'xml');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--format must be text or ndjson');
  });
});
