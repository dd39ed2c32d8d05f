// Largest and smallest of a list, in a loop: Math.max(...xs) passes every
// element as an argument and throws "Maximum call stack size exceeded" past
// about 125,000 of them (Node 20), a size that lists read from a ledger, an
// anchor file or a database (checkpoints, heads, rows) can reach.

/** The largest of `xs`; `empty` when there is none. */
export function maxOf(xs: Iterable<number>, empty = Number.NEGATIVE_INFINITY): number {
  let m: number | undefined;
  for (const x of xs) if (m === undefined || x > m) m = x;
  return m ?? empty;
}

/** The smallest of `xs`; `empty` when there is none. */
export function minOf(xs: Iterable<number>, empty = Number.POSITIVE_INFINITY): number {
  let m: number | undefined;
  for (const x of xs) if (m === undefined || x < m) m = x;
  return m ?? empty;
}
