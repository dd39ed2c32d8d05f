// Exact binomial tests for coverage and privacy checks (test-only). The same
// recurrences as plan.test.ts: the pmf from the mode by ratios, no log-gamma.

/** Significance level of every statistical test here. */
export const ALPHA = 0.001;

/** Exact Binomial(n, p) pmf, by the ratio recurrence from the mode. */
export function binomialPmf(n: number, p: number): Float64Array {
  const pmf = new Float64Array(n + 1);
  if (p <= 0 || p >= 1) {
    pmf[p <= 0 ? 0 : n] = 1;
    return pmf;
  }
  const m = Math.min(n, Math.floor((n + 1) * p));
  const r = p / (1 - p);
  pmf[m] = 1;
  for (let k = m; k < n; k++) pmf[k + 1] = (pmf[k]! * (n - k) * r) / (k + 1);
  for (let k = m; k > 0; k--) pmf[k - 1] = (pmf[k]! * k) / ((n - k + 1) * r);
  let total = 0;
  for (let k = 0; k <= n; k++) total += pmf[k]!;
  for (let k = 0; k <= n; k++) pmf[k]! /= total;
  return pmf;
}

/** [lo, hi] of the exact two-sided binomial test of H0: X ~ Binomial(n, p) at level α. */
export function binomialAcceptance(n: number, p: number, alpha = ALPHA): { lo: number; hi: number } {
  const pmf = binomialPmf(n, p);
  let lo = 0;
  for (let below = 0; below + pmf[lo]! <= alpha / 2; lo++) below += pmf[lo]!;
  let hi = n;
  for (let above = 0; above + pmf[hi]! <= alpha / 2; hi--) above += pmf[hi]!;
  return { lo, hi };
}

/** P[lo ≤ X ≤ hi] for X ~ Binomial(n, p): the chance a test misses a coverage of p. */
export function binomialMass(n: number, p: number, lo: number, hi: number): number {
  const pmf = binomialPmf(n, p);
  let s = 0;
  for (let k = lo; k <= hi; k++) s += pmf[k]!;
  return s;
}

/** P[X ≥ k] for X ~ Binomial(n, p). */
export function binomialUpperTail(n: number, p: number, k: number): number {
  const pmf = binomialPmf(n, p);
  let s = 0;
  for (let i = Math.max(0, k); i <= n; i++) s += pmf[i]!;
  return s;
}

/** True when `inside` of `n` trials is what a coverage of exactly `p` gives (two-sided, level α). */
export function coverageHolds(inside: number, n: number, p: number): boolean {
  const { lo, hi } = binomialAcceptance(n, p);
  return inside >= lo && inside <= hi;
}

/** True unless `inside` of `n` is significantly BELOW a coverage of p (one-sided, level α): for guarantees "≥ p". */
export function coverageAtLeast(inside: number, n: number, p: number): boolean {
  return binomialUpperTail(n, 1 - p, n - inside) >= ALPHA; // misses ~ Binomial(n, 1 − p) at best
}
