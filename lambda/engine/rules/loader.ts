/**
 * Reads rule files. YAML is parsed with node positions kept, so every problem and every lint finding
 * can name the line, and so an offset inside a folded `query: >` block maps back to its source line.
 *
 * This is the YAML layer only: it turns text into a plain value and a locator, and `compileRule`
 * (schema.ts) validates and compiles the value. The precompiled rules the detect Lambda loads
 * (precompiled.ts) skip this layer and go through the same `compileRule`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Document, Node as YamlNode } from 'yaml';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';
import type { RuleProblem } from './errors';
import { RuleLoadError, RuleValidationError } from './errors';
import type { RuleDocument } from './precompiled';
import type { RuleDirectory } from './rule-set';
import { collectRules, everyRule } from './rule-set';
import type { Locator, Rule } from './schema';
import { compileRule, fieldPath } from './schema';

/**
 * Paths whose value is a mapping but may be written, as the seed does, as a list of single-key
 * mappings (`- interval: 5m`). Elsewhere a list stays a list.
 */
const MAPPING_PATHS: ReadonlySet<string> = new Set(['', 'schedule', 'suppression', 'runbook']);

interface Located {
  readonly key?: YamlNode;
  readonly value: YamlNode;
}

/** A YAML document as plain data, with the node behind every field path. */
export interface LocatedYaml {
  readonly value: unknown;
  readonly locate: Locator;
}

/**
 * Parses YAML keeping positions. `flattenPaths` are the paths where the seed's list-of-single-key-maps
 * shape is read as a mapping. Throws `RuleValidationError` on YAML syntax errors.
 */
export function parseLocatedYaml(
  text: string,
  file: string,
  flattenPaths: ReadonlySet<string> = MAPPING_PATHS,
): LocatedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RuleValidationError(
      file,
      doc.errors.map((error) => ({
        field: '',
        message: `YAML ${error.message.split('\n')[0] ?? error.code}`,
        ...(error.linePos ? { line: error.linePos[0].line } : {}),
      })),
      { cause: doc.errors[0] },
    );
  }
  const nodes = new Map<string, Located>();
  const problems: RuleProblem[] = [];
  const lineOf = (node: YamlNode | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;

  const convert = (node: unknown, path: string): unknown => {
    if (isAlias(node)) return convert(node.resolve(doc as Document), path);
    if (isScalar(node)) return node.value;
    if (isMap(node)) {
      const result: Record<string, unknown> = {};
      for (const pair of node.items) addPair(result, pair.key, pair.value, path);
      return result;
    }
    if (isSeq(node)) {
      const items = node.items;
      if (
        flattenPaths.has(path) &&
        items.length > 0 &&
        items.every((item) => isMap(item) && item.items.length === 1)
      ) {
        const result: Record<string, unknown> = {};
        for (const item of items) {
          if (!isMap(item)) continue;
          const [pair] = item.items;
          if (pair) addPair(result, pair.key, pair.value, path);
        }
        return result;
      }
      return items.map((item, index) => {
        const itemPath = fieldPath(path, index);
        if (item && typeof item === 'object' && 'range' in item) {
          nodes.set(itemPath, { value: item as YamlNode });
        }
        return convert(item, itemPath);
      });
    }
    return null;
  };

  const addPair = (target: Record<string, unknown>, key: unknown, value: unknown, parent: string): void => {
    const keyNode = isScalar(key) ? key : undefined;
    if (keyNode === undefined || typeof keyNode.value === 'object') {
      problems.push({
        field: parent,
        message: 'keys must be plain scalars',
        ...lineField(lineOf(key as YamlNode)),
      });
      return;
    }
    const name = String(keyNode.value);
    const path = fieldPath(parent, name);
    if (Object.hasOwn(target, name)) {
      problems.push({ field: path, message: `"${name}" is given twice`, ...lineField(lineOf(keyNode)) });
      return;
    }
    const valueNode = value && typeof value === 'object' && 'range' in value ? (value as YamlNode) : keyNode;
    nodes.set(path, { key: keyNode, value: valueNode });
    target[name] = convert(value, path);
  };

  if (doc.contents) nodes.set('', { value: doc.contents });
  const value = convert(doc.contents, '');
  if (problems.length > 0) throw new RuleValidationError(file, problems);

  const locate: Locator = (field, position) => {
    for (let current = field; ; current = parentPath(current)) {
      const entry = nodes.get(current);
      if (entry) {
        if (position !== undefined && current === field && entry.value instanceof Scalar) {
          return scalarLine(text, lineCounter, entry.value, position);
        }
        return lineOf(entry.key ?? entry.value);
      }
      if (current === '') return undefined;
    }
  };
  return { value, locate };
}

function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

/** `a.b[2]` → `a.b` → `a` → `` */
function parentPath(field: string): string {
  return field.replace(/(\.[^.[\]]+|\[\d+\]|^[^.[\]]+)$/, '');
}

/**
 * The source line holding character `position` of a scalar's value. Walks the source lines of the
 * scalar, counting what each contributes to the value: a folded block turns each line break into one
 * character (blank lines into none extra); a literal block keeps them all.
 */
function scalarLine(
  text: string,
  lineCounter: LineCounter,
  node: Scalar,
  position: number,
): number | undefined {
  if (!node.range) return undefined;
  const [start, end] = node.range;
  const firstLine = lineCounter.linePos(start).line;
  const block = node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL;
  const lines = text.slice(start, end).split('\n');
  const content = block ? lines.slice(1) : lines;
  const offset = block ? 1 : 0;
  let consumed = 0;
  let last = firstLine;
  for (let i = 0; i < content.length; i += 1) {
    const trimmed = (content[i] ?? '').trim();
    if (trimmed === '' && node.type === Scalar.BLOCK_FOLDED) continue;
    const length = i === 0 && !block && node.type !== Scalar.PLAIN ? trimmed.length - 1 : trimmed.length;
    last = firstLine + offset + i;
    if (position < consumed + length + 1) return last;
    consumed += length + 1;
  }
  return last;
}

/** Parses one rule file's text. `file` is only used to name the rule in errors and as its default id. */
export function parseRule(text: string, file: string): Rule {
  return parseRuleFile(text, file).rule;
}

/** A rule file validated and compiled, with the plain document its YAML parsed to. */
function parseRuleFile(text: string, file: string): { rule: Rule; document: unknown } {
  const { value, locate } = parseLocatedYaml(text, file);
  return { rule: compileRule(value, file, locate), document: value };
}

function readRuleFile(filePath: string): { rule: Rule; document: unknown } {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    throw new RuleLoadError(filePath, error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  return parseRuleFile(text, filePath);
}

/** Reads and parses one rule file. */
export async function loadRule(filePath: string): Promise<Rule> {
  return readRuleFile(filePath).rule;
}

/** Rule files are `*.yaml` in the folder itself; `*.tests.yaml` hold their test events. */
export function isRuleFile(name: string): boolean {
  return name.endsWith('.yaml') && !name.endsWith('.tests.yaml');
}

/** The names of a folder's rule files, in name order. */
function ruleFileNames(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && isRuleFile(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new RuleLoadError(dir, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * Loads every rule of a folder and reports every bad file rather than stopping at the first, for the
 * lint CLI. Duplicate ids are errors on the later file (in name order).
 */
export async function loadRuleDirectory(dir: string): Promise<RuleDirectory> {
  return collectRules(
    ruleFileNames(dir).map((name) => {
      const file = path.join(dir, name);
      return { file, compile: () => readRuleFile(file).rule };
    }),
  );
}

/**
 * Loads every rule of a folder; any invalid file fails the whole load (the first error is thrown,
 * in file-name order), because a detector running with a rule silently missing is worse than none.
 */
export async function loadRules(dir: string): Promise<Rule[]> {
  return everyRule(await loadRuleDirectory(dir));
}

/**
 * A folder's rules as the detect function ships them (`rules.json`, see `precompiled.ts`): the plain
 * document each file parses to, in name order, `file` being the name inside the folder. Every file is
 * first validated and compiled as `loadRules` does, YAML lines included, so a bad rule fails the synth
 * that bundles it, naming its line; the first error is thrown. Synchronous, for CDK constructs.
 */
export function precompileRuleDirectory(dir: string): RuleDocument[] {
  const documents = new Map<Rule, RuleDocument>();
  const loaded = collectRules(
    ruleFileNames(dir).map((name) => {
      const file = path.join(dir, name);
      return {
        file,
        compile: () => {
          const { rule, document } = readRuleFile(file);
          if (!isDeepStrictEqual(JSON.parse(JSON.stringify(document)), document)) {
            throw new RuleValidationError(file, [
              {
                field: '',
                message: 'holds a number JSON cannot carry exactly (NaN, an infinity or -0)',
              },
            ]);
          }
          documents.set(rule, { file: name, document });
          return rule;
        },
      };
    }),
  );
  return everyRule(loaded).map((rule) => documents.get(rule) as RuleDocument);
}
