import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLiteralPrefilter, FOLDS_INTO_ASCII } from '../../lambda/engine/compile/literal-prefilter';
import type { SourceName } from '../../lambda/engine/ecs';
import { compileKql, parseKql } from '../../lambda/engine/kql';
import { normalize, recordsFromDocument } from '../../lambda/engine/normalizers';
import { parseDocuments, readKinesisData, streamPrefilter } from '../../lambda/handlers/pipeline';

const RUNS = Number(process.env.PREFILTER_PROPERTY_RUNS ?? 1500);
/** Room for `PREFILTER_PROPERTY_RUNS` far above the default. */
const TIMEOUT = Math.max(30_000, RUNS * 20);

const KELVIN = '\u212a';

/** Whether the rule (over every source) matches a record of the payload, as the detect function decides. */
function matches(query: string, text: string): boolean {
  const predicate = compileKql(parseKql(query));
  for (const document of parseDocuments(text)) {
    if ('error' in document) continue;
    for (const item of recordsFromDocument(document.value)) {
      if ('error' in item) continue;
      if (predicate(normalize(item.source as SourceName, item.record).doc)) return true;
    }
  }
  return false;
}

const SOURCES: readonly SourceName[] = ['aws-cloudtrail', 'azure-activity-logs', 'gcp-audit-logs'];

const azure = (operationName: string): string =>
  JSON.stringify({
    time: '2024-05-01T12:00:00.0000000Z',
    resourceId: '/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa',
    operationName,
    category: 'Administrative',
    resultType: 'Success',
    caller: 'alice@contoso.com',
  });

describe('FOLDS_INTO_ASCII', () => {
  it('lists every character whose lower case holds ASCII, with that ASCII', () => {
    const expected: { char: string; ascii: string }[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      const ascii = [...char.toLowerCase()].filter((c) => c < '\x80').join('');
      if (ascii !== '') expected.push({ char, ascii });
    }

    expect([...FOLDS_INTO_ASCII]).toEqual(expected);
  });
});

describe('compileLiteralPrefilter with letters spelled by characters that fold into them', () => {
  it.each<[string, string]>([
    ['event.action:"storageAccounts/listKeys"', `Microsoft.Storage/storageAccounts/list${KELVIN}eys/action`],
    ['event.action:"storageAccounts/listKeys"', `MICROSOFT.STORAGE/STORAGEACCOUNTS/LIST${KELVIN}EYS`],
    [
      'event.action:"storageAccounts/regenerateKey"',
      `Microsoft.Storage/storageAccounts/regenerate${KELVIN}ey`,
    ],
  ])('passes a payload that %s matches only through KELVIN SIGN: %s', (query, operationName) => {
    const text = azure(operationName);
    const { test } = compileLiteralPrefilter([{ ast: parseKql(query), sources: SOURCES }]);

    expect(matches(query, text)).toBe(true);
    expect(test?.(text)).toBe(true);
    expect(test?.(Buffer.from(text))).toBe(true);
  });

  it('still rules out a payload whose KELVIN SIGN stands elsewhere', () => {
    const query = 'event.action:"storageAccounts/listKeys"';
    const text = azure(`Microsoft.Storage/storageAccounts/write`).replace('alice', `alice${KELVIN}`);
    const { test } = compileLiteralPrefilter([{ ast: parseKql(query), sources: SOURCES }]);

    expect(matches(query, text)).toBe(false);
    // Sound, not exact: the payload holds the character, so it passes.
    expect(test?.(text)).toBe(true);
  });

  it(
    'never rejects a payload in which a rule matches a record through a folding character (property)',
    () => {
      const operations = [
        'Microsoft.Storage/storageAccounts/listKeys',
        'Microsoft.Storage/storageAccounts/listKeys/action',
        'Microsoft.Storage/storageAccounts/regenerateKey/action',
        'Microsoft.KeyVault/vaults/write',
        'Microsoft.Storage/storageAccounts/write',
      ];
      const queries = [
        'event.action:"storageAccounts/listKeys"',
        'event.action:"storageAccounts/regenerateKey"',
        'event.provider:"Microsoft.KeyVault"',
        'event.provider:"Microsoft.Storage" and event.action:("storageAccounts/listKeys" or "storageAccounts/regenerateKey")',
      ];
      // Each letter k in any case may be KELVIN SIGN; i may be İ or ı; s may be ſ.
      const spelled = fc
        .tuple(fc.constantFrom(...operations), fc.array(fc.nat(3), { minLength: 64, maxLength: 64 }))
        .map(([operation, choices]) =>
          [...operation]
            .map((char, i) => {
              const choice = choices[i % choices.length] as number;
              if (/k/i.test(char) && choice > 0) return KELVIN;
              if (char === 'i' && choice === 1) return '\u0131';
              if (char === 'I' && choice === 1) return '\u0130';
              if (char === 's' && choice === 2) return '\u017f';
              return choice === 3 ? char.toUpperCase() : char;
            })
            .join(''),
        );
      const rules = new Map(queries.map((query) => [query, [{ ast: parseKql(query), sources: SOURCES }]]));
      const filters = new Map(
        queries.map((query) => [query, compileLiteralPrefilter(rules.get(query) ?? []).test]),
      );
      // As the detect pipeline runs it: told whether the payload is ASCII, which these never are.
      const checks = new Map(queries.map((query) => [query, streamPrefilter(rules.get(query) ?? [])]));
      let matched = 0;

      fc.assert(
        fc.property(fc.constantFrom(...queries), spelled, (query, operationName) => {
          const text = azure(operationName);
          const test = filters.get(query);
          if (!matches(query, text)) return;
          matched += 1;
          expect(test?.(text)).toBe(true);
          expect(test?.(Buffer.from(text))).toBe(true);
          const data = Buffer.from(text).toString('base64');
          expect(readKinesisData(data, checks.get(query)).kind).toBe('documents');
        }),
        { numRuns: RUNS },
      );

      expect(matched).toBeGreaterThan(RUNS / 100);
    },
    TIMEOUT,
  );
});
