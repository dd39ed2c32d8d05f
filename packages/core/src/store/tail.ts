import { randomInt } from 'node:crypto';

// Where records go once a ledger no longer derives (a gap, a renumbering, planted
// rows): after the highest stored seq, chained on that row as it is. The seq space is
// the insider's to fill, so the start is chosen among seqs JavaScript represents
// exactly, and each candidate window is checked free before use: one planted row at
// 2^53 or 2^63-1 must not make every later append collide (red-team finding).

/** Tail appends stay below this seq: every integer up to it is exact in a double. */
export const MAX_TAIL_SEQ = 2 ** 52;
/** Random windows tried when the one after the highest usable seq is taken. */
const RANDOM_TRIES = 16;

/**
 * Candidate first seqs for a batch of `n`, best first: right after `highest` (the
 * highest stored seq below MAX_TAIL_SEQ, if any), then random windows below it.
 * The caller takes the first whose [start, start + n) holds no row.
 */
export function tailStarts(highest: number | undefined, n: number): number[] {
  const out: number[] = [];
  const next = highest === undefined ? 0 : highest + 1;
  if (next + n <= MAX_TAIL_SEQ) out.push(next);
  for (let i = 0; i < RANDOM_TRIES; i++) out.push(randomInt(0, 2 ** 47) * 32);
  return out;
}
