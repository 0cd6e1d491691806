import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../bin/rules';
import { RULES_DIR, SHIPPED_RULE, SHIPPED_TESTS, tempDir, VALID_RULE } from './helpers';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    now: () => new Date('2026-06-01T00:00:00Z'),
  });
  return { code, out, err };
}

describe('bin/rules.ts', () => {
  it('lints the shipped rules without errors', async () => {
    const { code, out } = await run(['lint', RULES_DIR]);

    expect(out).toContain('1 rule(s) checked: 0 error(s), 0 warning(s)');
    expect(code).toBe(0);
  });

  it('prints lint errors as file:line: level field: message and exits 1', async () => {
    const dir = await tempDir({
      'sample-rule.yaml': VALID_RULE.replace('"DeleteAccessKey"', '"DeleteAccesKey"'),
      'broken.yaml': VALID_RULE.replace('id: sample-rule', 'id: broken').replace(
        'interval: 5m',
        'interval: 5x',
      ),
    });

    const { code, out } = await run(['lint', dir]);

    expect(out).toContain(
      `${path.join(dir, 'broken.yaml')}:12: error schedule.interval: "5x" is not a duration`,
    );
    expect(out).toMatch(
      new RegExp(
        `${path.join(dir, 'sample-rule.yaml')}:10: error query \\(position \\d+\\): event.action "DeleteAccesKey"`,
      ),
    );
    expect(out).toContain('warning (document): no tests file');
    expect(code).toBe(1);
  });

  it('runs the shipped rule tests and exits 0', async () => {
    const { code, out } = await run(['test', RULES_DIR]);

    expect(out).toMatch(/✓ aws DeleteAccessKey in a CloudTrail S3 log file matches/);
    expect(out).toMatch(/^\d+ passed, 0 failed$/m);
    expect(code).toBe(0);
  });

  it('marks a failing test and exits 1', async () => {
    const dir = await tempDir();
    await copyFile(SHIPPED_RULE, path.join(dir, 'abnormal-cloud-api-calls.yaml'));
    const tests = await readFile(SHIPPED_TESTS, 'utf8');
    const name = 'gcp GetIamPolicy (a read, not a write) does not match';
    await writeFile(
      path.join(dir, 'abnormal-cloud-api-calls.tests.yaml'),
      tests.replace(`${name}\n    expect: no_match`, `${name}\n    expect: match`),
    );

    const { code, out } = await run(['test', dir]);

    expect(out).toContain(`✗ ${name}: expected match, got no_match`);
    expect(out).toMatch(/^\d+ passed, 1 failed$/m);
    expect(code).toBe(1);
  });

  it('prints usage and exits 2 for an unknown command', async () => {
    const { code, err } = await run(['check']);

    expect(err).toContain('Usage: tsx bin/rules.ts <lint|test> [dir]');
    expect(code).toBe(2);
  });
});
