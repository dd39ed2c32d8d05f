import type { Rng } from './rng.js';
import { bernoulliExp } from './sample.js';

// DP quantiles by the exponential mechanism over a fixed grid of candidates
// (McSherry & Talwar, "Mechanism design via differential privacy", FOCS 2007)
// with the rank score of Smith, "Privacy-preserving statistical estimation
// with optimal convergence rates", STOC 2011 — the mechanism behind OpenDP's
// make_quantile_score_candidates and diffprivlib's quantile. Candidates are
// the grid points lo..hi (value / granularity), so the candidate set does not
// depend on the data. A candidate y with a = #{x < y} and b = #{x ≤ y} has the
// score d(y) = max(0, a − qn, qn − b): its distance, in records, from being a
// q-quantile (0 when some ordering puts y at rank qn; ties are handled).
// Adding or removing one record moves d by at most max(q, 1 − q) ≤ 1, so R
// rows per unit move it by at most R, and P[y] ∝ exp(−ε·d(y) / 2R) is ε-DP.
//
// Sampling is exact: a candidate is drawn uniformly (rng) and accepted with
// probability exp(−ε·d(y) / 2R) by CKS 2020 Algorithm 1 on a rational
// argument, so no float decides the output (Ilvento, "Implementing the
// exponential mechanism with base-2 differential privacy", CCS 2020, shows how
// float EM implementations leak). Some candidate has d = 0, so a draw is
// accepted with probability ≥ 1/D: at most D (the grid size) draws on average.

/** The score is computed in 1/SCALE records, so q·n is an integer: q has at most 4 decimals. */
export const Q_SCALE = 10_000;
/** Largest grid (candidates) a quantile is drawn over: bounds the draws per quantile. */
export const MAX_CANDIDATES = 1 << 20;

/** q·Q_SCALE as an integer; undefined unless q ∈ [0, 1] with at most 4 decimals. */
export function scaledLevel(q: number): number | undefined {
  const s = Math.round(q * Q_SCALE);
  return q >= 0 && q <= 1 && Math.abs(s - q * Q_SCALE) < 1e-6 ? s : undefined;
}

/** Index of the first element of sorted `xs` that is ≥ y (strict) or > y (!strict). */
function lowerBound(xs: Float64Array, y: number, strict: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? xs[mid]! < y : xs[mid]! <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** d(y)·Q_SCALE for sorted grid values `xs` and level qs = q·Q_SCALE: an integer. */
export function quantileScore(xs: Float64Array, qs: number, y: number): number {
  const target = qs * xs.length; // q·n·Q_SCALE, exact below 2^53 (n ≤ 2^39)
  const a = lowerBound(xs, y, true) * Q_SCALE;
  const b = lowerBound(xs, y, false) * Q_SCALE;
  return Math.max(0, a - target, target - b);
}

/**
 * One ε-DP q-quantile of `xs` (grid integers, sorted ascending, each in
 * [lo, hi]) for R rows per privacy unit: a grid integer in [lo, hi].
 * `epsMicro` is ε in micro-ε. The caller clamps and snaps values first.
 * @throws RangeError for a grid above MAX_CANDIDATES, epsMicro < 1, R < 1 or a bad level.
 */
export function dpQuantile(
  xs: Float64Array,
  qs: number,
  lo: number,
  hi: number,
  epsMicro: number,
  rows: number,
  rng: Rng,
): number {
  const size = hi - lo + 1;
  if (!(size >= 1 && size <= MAX_CANDIDATES)) throw new RangeError(`quantile grid of ${size} points`);
  if (!(Number.isInteger(epsMicro) && epsMicro >= 1 && Number.isInteger(rows) && rows >= 1))
    throw new RangeError('quantile needs an integer epsMicro >= 1 and rows >= 1');
  if (!(Number.isInteger(qs) && qs >= 0 && qs <= Q_SCALE)) throw new RangeError(`quantile level ${qs}`);
  // exp(−γ) with γ = ε·d / 2R = epsMicro·score / (2·R·Q_SCALE·10⁶), a rational.
  const num = BigInt(epsMicro);
  const den = BigInt(2 * rows * Q_SCALE) * 1_000_000n;
  for (;;) {
    const y = lo + rng(size);
    const score = quantileScore(xs, qs, y);
    if (score === 0 || bernoulliExp(rng, num * BigInt(score), den)) return y;
  }
}

/**
 * The k (in records) that the output's score exceeds with probability at most
 * 5%, for every data set: d = 0 for at least one of the D candidates, so
 * P[d ≥ k] ≤ (D − 1)·exp(−ε·k / 2R) (the exponential mechanism's utility
 * theorem, Dwork & Roth 2014 Thm 3.11), ≤ 5% from k = (2R/ε)·ln(20(D − 1)).
 * A guarantee, not an estimate: on most data sets the error is smaller.
 */
export function rankError95(size: number, epsMicro: number, rows: number): number {
  if (size <= 1) return 0;
  return Math.ceil(((2 * rows * 1_000_000) / epsMicro) * Math.log(20 * (size - 1)));
}
