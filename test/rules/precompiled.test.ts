import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import type { Rule, RuleDocument } from '../../lambda/engine/rules';
import {
  compileRuleDocuments,
  everyRule,
  loadPrecompiledRules,
  loadRules,
  loadRuleTests,
  PRECOMPILED_RULES_FILE,
  precompileRuleDirectory,
  RuleLoadError,
  RuleValidationError,
  runRuleTests,
  serializeRuleDocuments,
} from '../../lambda/engine/rules';
import { RULES_DIR, SHIPPED_TESTS, tempDir, VALID_RULE } from './helpers';

/** The shipped rules, precompiled and written as the stack writes them, then loaded back. */
async function shippedRoundTrip(): Promise<{ yaml: Rule[]; json: Rule[]; jsonFile: string }> {
  const dir = await tempDir();
  const jsonFile = path.join(dir, PRECOMPILED_RULES_FILE);
  await writeFile(jsonFile, serializeRuleDocuments(precompileRuleDirectory(RULES_DIR)));
  return { yaml: await loadRules(RULES_DIR), json: await loadPrecompiledRules(jsonFile), jsonFile };
}

/** A rule's data without its functions (predicates, locator) and without the folder it was read from. */
function data(rule: Rule): unknown {
  return { ...(JSON.parse(JSON.stringify(rule)) as object), file: path.basename(rule.file) };
}

/** The sample rule as a plain document, as its YAML parses. */
function validDocument(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'sample-rule',
    name: 'Sample rule',
    description: 'A rule for tests.',
    severity: 'high',
    risk_score: 75,
    type: 'query',
    index: ['aws-cloudtrail-*'],
    language: 'kuery',
    query: 'event.provider:"AWS IAM" and event.action:"DeleteAccessKey"',
    schedule: { interval: '5m', enabled: true },
    ...overrides,
  };
}

/** Compiles documents as `loadPrecompiledRules` does and returns its error, failing when there is none. */
function rejection(value: unknown, source = '/bundle/rules/rules.json'): RuleValidationError {
  try {
    everyRule(compileRuleDocuments(value, source));
  } catch (error) {
    if (error instanceof RuleValidationError) return error;
    throw error;
  }
  throw new Error('expected the documents to be rejected');
}

describe('precompileRuleDirectory', () => {
  it('gives each rule file of the folder, not its tests, as the plain document its YAML parses to', async () => {
    const dir = await tempDir({
      'b-rule.yaml': VALID_RULE.replace('id: sample-rule', 'id: b-rule'),
      'a-rule.yaml': VALID_RULE.replace('id: sample-rule', 'id: a-rule'),
      'a-rule.tests.yaml': 'rule: a-rule\ntests: []\n',
    });

    const documents = precompileRuleDirectory(dir);

    expect(documents.map((entry) => entry.file)).toEqual(['a-rule.yaml', 'b-rule.yaml']);
    expect(documents[0]?.document).toEqual(validDocument({ id: 'a-rule' }));
  });

  it('fails on a rule that does not validate, naming its file and YAML line', async () => {
    const dir = await tempDir({
      'sample-rule.yaml': VALID_RULE.replace('severity: high', 'severity: urgent'),
    });

    expect(() => precompileRuleDirectory(dir)).toThrow(
      expect.objectContaining({ file: path.join(dir, 'sample-rule.yaml'), field: 'severity', line: 4 }),
    );
  });

  it('fails on a number JSON would change (-0 becomes 0)', async () => {
    const dir = await tempDir({ 'sample-rule.yaml': VALID_RULE.replace('risk_score: 75', 'risk_score: -0') });

    expect(() => precompileRuleDirectory(dir)).toThrow(/JSON cannot carry exactly/);
  });
});

describe('loadPrecompiledRules', () => {
  it('loads the shipped rules to the same rules as their YAML', async () => {
    const { yaml, json, jsonFile } = await shippedRoundTrip();

    expect(json.map((rule) => rule.id)).toEqual(yaml.map((rule) => rule.id));
    expect(json.map(data)).toEqual(yaml.map(data));
    expect(json[0]?.file).toBe(path.join(path.dirname(jsonFile), 'abnormal-cloud-api-calls.yaml'));
  });

  it("passes the shipped rule's tests exactly as the YAML rule does", async () => {
    const { yaml, json } = await shippedRoundTrip();
    const [fromYaml, fromJson] = [yaml[0], json[0]];
    if (fromYaml === undefined || fromJson === undefined) throw new Error('no shipped rule');
    const now = new Date('2026-11-28T00:00:00Z');

    const yamlResults = await runRuleTests(fromYaml, SHIPPED_TESTS, { now });
    const jsonResults = await runRuleTests(fromJson, SHIPPED_TESTS, { now });

    expect(jsonResults.length).toBeGreaterThan(20);
    expect(jsonResults).toEqual(yamlResults);
    expect(jsonResults.filter((result) => !result.passed)).toEqual([]);
  });

  it("agrees with the YAML rule's predicate, exceptions and runbook conditions on every test event", async () => {
    const { yaml, json } = await shippedRoundTrip();
    const [fromYaml, fromJson] = [yaml[0], json[0]];
    if (fromYaml === undefined || fromJson === undefined) throw new Error('no shipped rule');
    const commands = (rule: Rule) =>
      Object.values(rule.runbook).flatMap((steps) => steps.flatMap((step) => step.commands));
    const verdicts = (rule: Rule, doc: unknown) => [
      rule.predicate(doc),
      ...rule.exceptions.map((exception) => exception.predicate(doc)),
      ...commands(rule).map((command) => command.when(doc)),
    ];
    const { tests } = await loadRuleTests(SHIPPED_TESTS);
    let events = 0;

    for (const test of tests) {
      for (const decoded of recordsFromDocument(test.event)) {
        if ('error' in decoded) continue;
        const { doc } = normalize(decoded.source, decoded.record);
        events += 1;
        expect(verdicts(fromJson, doc), test.name).toEqual(verdicts(fromYaml, doc));
      }
    }
    expect(events).toBeGreaterThan(20);
    expect(commands(fromJson).length).toBeGreaterThan(0);
  });

  it('fails with a RuleLoadError that says who writes the file when it is missing', async () => {
    const dir = await tempDir();

    const failure = loadPrecompiledRules(path.join(dir, PRECOMPILED_RULES_FILE));

    await expect(failure).rejects.toBeInstanceOf(RuleLoadError);
    await expect(failure).rejects.toThrow(/the stack writes it when it bundles the function/);
  });

  it('fails naming the file when it is not JSON', async () => {
    const dir = await tempDir({ [PRECOMPILED_RULES_FILE]: '[{"file": "a.yaml",' });
    const file = path.join(dir, PRECOMPILED_RULES_FILE);

    await expect(loadPrecompiledRules(file)).rejects.toMatchObject({
      name: 'RuleValidationError',
      file,
      message: expect.stringContaining('is not JSON'),
    });
  });
});

describe('compileRuleDocuments', () => {
  it('names the rule file, the JSON file and the field of a document that does not validate', () => {
    const error = rejection([
      { file: 'sample-rule.yaml', document: validDocument({ severity: 'urgent', risk_score: 101 }) },
    ]);

    expect(error.file).toBe('sample-rule.yaml in /bundle/rules/rules.json');
    expect(error.problems.map((problem) => problem.field)).toEqual(['severity', 'risk_score']);
    expect(error.line).toBeUndefined();
    expect(error.message).toContain(
      'sample-rule.yaml in /bundle/rules/rules.json: severity: severity "urgent" is not supported',
    );
  });

  it('names the field path inside the JSON file when an entry is malformed', () => {
    const error = rejection([
      { file: 'sample-rule.yaml', document: validDocument() },
      { file: '../outside.yaml', document: validDocument() },
      { file: 'other.yaml' },
      'just text',
      { file: 'extra.yaml', document: validDocument(), notes: 'x' },
    ]);

    expect(error.file).toBe('/bundle/rules/rules.json');
    expect(error.problems.map((problem) => problem.field)).toEqual([
      '[1].file',
      '[2].document',
      '[3]',
      '[4].notes',
    ]);
  });

  it('rejects a file that is not a list', () => {
    expect(rejection({ rules: [] }).message).toContain(
      '/bundle/rules/rules.json: (document): must be a list',
    );
  });

  it('rejects a repeated id on the later document, naming the earlier file', () => {
    const documents: RuleDocument[] = [
      { file: 'a.yaml', document: validDocument() },
      { file: 'b.yaml', document: validDocument() },
    ];

    const error = rejection(documents);

    expect(error).toMatchObject({ file: 'b.yaml in /bundle/rules/rules.json', field: 'id' });
    expect(error.message).toContain('/bundle/rules/a.yaml has it too');
  });

  it('reports every bad document, not only the first', () => {
    const { rules, errors } = compileRuleDocuments(
      [
        { file: 'a.yaml', document: validDocument({ id: 'a', type: 'eql' }) },
        { file: 'b.yaml', document: validDocument({ id: 'b' }) },
        { file: 'c.yaml', document: validDocument({ id: 'c', query: 'event.action:' }) },
      ],
      '/bundle/rules/rules.json',
    );

    expect(rules.map((rule) => rule.id)).toEqual(['b']);
    expect(errors.map((error) => [error.file, (error as RuleValidationError).field])).toEqual([
      ['a.yaml in /bundle/rules/rules.json', 'type'],
      ['c.yaml in /bundle/rules/rules.json', 'query'],
    ]);
  });

  it('takes the id from the file name when the document has none, as the YAML loader does', () => {
    const { id: _id, ...document } = validDocument();

    const { rules } = compileRuleDocuments(
      [{ file: 'from-name.yaml', document }],
      '/bundle/rules/rules.json',
    );

    expect(rules.map((rule) => [rule.id, rule.file])).toEqual([
      ['from-name', '/bundle/rules/from-name.yaml'],
    ]);
  });
});
