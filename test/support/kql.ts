/**
 * Generated KQL queries for property tests: `and`, `or` and `not` over the leaves a test supplies (the
 * fields and values it cares about), shallow enough to shrink to a readable counterexample.
 */
import fc from 'fast-check';
import type { KqlNode } from '../../lambda/engine/kql';
import { buildAnd, buildNot, buildOr } from '../../lambda/engine/kql';

export function kqlQueries(
  leaf: fc.Arbitrary<KqlNode>,
  options: { maxChildren?: number } = {},
): fc.Arbitrary<KqlNode> {
  const maxLength = options.maxChildren ?? 3;
  return fc.letrec<{ node: KqlNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('node'), { minLength: 2, maxLength }).map((children) => buildOr(children)),
      fc.array(tie('node'), { minLength: 2, maxLength }).map((children) => buildAnd(children)),
      tie('node').map((child) => buildNot(child)),
    ),
  })).node;
}
