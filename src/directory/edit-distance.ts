/**
 * Optimal-string-alignment distance (Levenshtein plus swaps of neighbours): "chole paetl" is two edits from
 * "chloe patel", where trigrams see almost nothing in common. Inputs are cut to 64 characters.
 */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a.slice(0, 64));
  const t = Array.from(b.slice(0, 64));
  let before = new Array<number>(t.length + 1).fill(0);
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, before[j - 2] + 1);
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[t.length];
}

/** 1 for equal strings, 0 for nothing in common, case-insensitive. */
export function editSimilarity(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const length = Math.max(Array.from(x.slice(0, 64)).length, Array.from(y.slice(0, 64)).length);
  return length === 0 ? 1 : 1 - editDistance(x, y) / length;
}
