/**
 * "Did you mean" hints. A misspelt field or literal is the commonest rule mistake, and naming the
 * likely intent turns a rejection into a one-keystroke fix.
 */

/** Returns the closest candidate when it is close enough to be the likely intent. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const target = fold(word);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(target, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.floor(target.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** Formats the hint as a sentence tail, or nothing. */
export function hint(word: string, candidates: Iterable<string>): string {
  const suggestion = didYouMean(word, candidates);
  return suggestion === undefined ? '' : ` Did you mean "${suggestion}"?`;
}

/** Case, `_`, `-` and spaces do not make two spellings different intents (`riskScore`, `risk-score`). */
function fold(word: string): string {
  return word.toLowerCase().replace(/[\s_-]/g, '');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
