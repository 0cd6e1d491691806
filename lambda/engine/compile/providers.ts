/**
 * What the pre-filter compilers share about `RawMatch.provider`: inside an `and` that requires
 * `event.provider` to be one of some values, a raw match that only accounts for records of another provider
 * (an insight type read as a CloudTrail action) cannot contribute a match, so it is left out. Only `and`
 * narrows: an `or`'s other branches say nothing about the records a branch accepts.
 *
 * Pure: no AWS SDK, no I/O.
 */
import type { KqlNode } from '../kql';
import type { RawMatch } from '../normalizers';

/** The `event.provider` values the enclosing `and`s allow; undefined when none constrains them. */
export type Providers = ReadonlySet<string> | undefined;

/**
 * The providers the children of an `and` allow, within those `outer` allows: a child `event.provider:"V"`
 * (a literal field and value, compared exactly as the predicate compares them), or an `or` of such children,
 * allows only its values; several such children allow what they all allow.
 */
export function andProviders(outer: Providers, children: readonly KqlNode[]): Providers {
  let allowed = outer;
  for (const child of children) {
    const values = child.type === 'or' ? child.children.map(providerValue) : [providerValue(child)];
    if (values.every((value): value is string => value !== undefined))
      allowed = intersect(allowed, new Set(values));
  }
  return allowed;
}

/** The raw matches that may account for a record of an allowed provider (all of them when unconstrained). */
export function forProviders(matches: readonly RawMatch[], providers: Providers): readonly RawMatch[] {
  if (providers === undefined) return matches;
  return matches.filter((match) => match.provider === undefined || providers.has(match.provider));
}

/** `V` of a node `event.provider:"V"`; undefined for any other node. */
function providerValue(node: KqlNode): string | undefined {
  if (node.type !== 'is' || node.field === null || node.field.kind !== 'literal') return undefined;
  return node.field.value === 'event.provider' && node.value.kind === 'literal'
    ? node.value.value
    : undefined;
}

function intersect(a: Providers, b: ReadonlySet<string>): ReadonlySet<string> {
  return a === undefined ? b : new Set([...a].filter((value) => b.has(value)));
}
