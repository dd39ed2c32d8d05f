// "Did you mean" for a mistyped option key. A typo must fail loudly (a
// silently ignored `privcy` logs every field raw), and the message should say
// what was meant, so the fix is one edit.
//
// Hand-written (20 lines) rather than leven / fastest-levenshtein: those count
// plain Levenshtein edits, where an adjacent swap (`pirvacy` for `privacy`)
// costs two; the optimal string alignment distance below counts it as one,
// and swaps are among the commonest slips in a typed key.

/** Optimal string alignment distance (Levenshtein plus adjacent swaps), case-insensitive. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= t.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[s.length] as number[])[t.length] as number;
}

/**
 * The known key closest to `key` (at most 2 edits, or 1 for keys of up to 4
 * characters), or undefined. Keys longer than 64 characters are not compared.
 */
export function closest(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  const limit = key.length <= 4 ? 1 : 2;
  return bestD <= limit ? best : undefined;
}

/** `unknown option "<field>"; did you mean "<x>"? known: a, b, c` */
export function unknownKeyMessage(field: string, key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  return `unknown option "${field}"${guess !== undefined ? `; did you mean "${guess}"?` : ''} (known: ${known.join(', ')})`;
}
