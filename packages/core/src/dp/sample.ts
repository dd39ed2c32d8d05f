import { belowBig, type Rng } from './rng.js';

// Exact samplers from Canonne, Kamath & Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020, arXiv:2004.00010), §5:
//   Algorithm 1 — Bernoulli(exp(−γ)) for rational γ ≥ 0,
//   Algorithm 2 — discrete Laplace with rational scale t/s,
//   Algorithm 3 — discrete Gaussian with rational σ², by rejection from
//                 a discrete Laplace.
// Every decision compares uniform integers with integers, so the output
// distribution is exactly the stated pmf (given a uniform RNG). Parameters
// are bigints because the products of numerators and denominators outgrow
// 2^53; small denominators take a number fast path with the same semantics.

/** A non-negative rational num/den (den > 0). */
export interface Rational {
  num: bigint;
  den: bigint;
}

const FAST_DEN = 1n << 26n; // den·k stays below 2^32 for k < 64 on the fast path

/** Bernoulli(num/den), exact. */
function bernoulliRatio(rng: Rng, num: bigint, den: bigint): boolean {
  return belowBig(rng, den) < num;
}

/** CKS Algorithm 1 for γ = num/den ∈ [0, 1]: returns true with probability exp(−γ). */
function bernoulliExpUnit(rng: Rng, num: bigint, den: bigint): boolean {
  if (num === 0n) return true;
  if (den < FAST_DEN) {
    const n = Number(num);
    const d = Number(den);
    // K ← first k with Bernoulli(γ/k) = 0; exp(−γ) = P[K odd].
    for (let k = 1; ; k++) {
      if (k >= 64) return bernoulliExpUnitBig(rng, num, den, BigInt(k));
      if (rng(d * k) >= n) return k % 2 === 1;
    }
  }
  return bernoulliExpUnitBig(rng, num, den, 1n);
}

function bernoulliExpUnitBig(rng: Rng, num: bigint, den: bigint, from: bigint): boolean {
  for (let k = from; ; k++) if (!bernoulliRatio(rng, num, den * k)) return k % 2n === 1n;
}

/**
 * Bernoulli(exp(−γ)) for rational γ = num/den ≥ 0 (CKS Algorithm 1): for
 * γ > 1 it multiplies ⌊γ⌋ independent Bernoulli(e^−1) by one Bernoulli(e^−frac).
 * @throws RangeError when num < 0 or den ≤ 0.
 */
export function bernoulliExp(rng: Rng, num: bigint, den: bigint): boolean {
  if (num < 0n || den <= 0n) throw new RangeError('bernoulliExp needs num >= 0 and den > 0');
  if (num <= den) return bernoulliExpUnit(rng, num, den);
  const whole = num / den;
  for (let i = 0n; i < whole; i++) if (!bernoulliExpUnit(rng, 1n, 1n)) return false;
  return bernoulliExpUnit(rng, num - whole * den, den);
}

/**
 * Discrete Laplace with scale τ = t/s (CKS Algorithm 2):
 * P[Z = z] = (1 − e^{−1/τ}) / (1 + e^{−1/τ}) · e^{−|z|/τ} for every integer z.
 * @throws RangeError when s or t is not positive.
 */
export function discreteLaplace(rng: Rng, s: bigint, t: bigint): bigint {
  if (s <= 0n || t <= 0n) throw new RangeError('discreteLaplace needs s, t > 0');
  for (;;) {
    const u = belowBig(rng, t);
    if (!bernoulliExp(rng, u, t)) continue;
    // V ~ Geometric(1 − e^{−1}); X = U + tV is then Geometric(1 − e^{−1/t}).
    let v = 0n;
    while (bernoulliExpUnit(rng, 1n, 1n)) v++;
    const y = (u + t * v) / s;
    const negative = rng(2) === 1;
    if (negative && y === 0n) continue; // keeps zero from being counted twice
    return negative ? -y : y;
  }
}

/** ⌊√n⌋ for n ≥ 0 by Newton's method on bigints. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  // Start at 2^⌈bits/2⌉ ≥ √n: from above, Newton decreases monotonically to ⌊√n⌋.
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * Discrete Gaussian with variance parameter σ² = sigma2.num / sigma2.den
 * (CKS Algorithm 3): P[Z = z] ∝ exp(−z² / 2σ²). Proposals come from a
 * discrete Laplace of scale t = ⌊σ⌋ + 1 and are accepted with probability
 * exp(−(|y| − σ²/t)² / 2σ²), computed exactly as a rational.
 * @throws RangeError when σ² is not positive.
 */
export function discreteGaussian(rng: Rng, sigma2: Rational): bigint {
  const { num: sn, den: sd } = sigma2;
  if (sn <= 0n || sd <= 0n) throw new RangeError('discreteGaussian needs sigma^2 > 0');
  const t = isqrt(sn / sd) + 1n;
  // γ = (|y|·t·sd − sn)² / (2·t²·sd·sn)
  const gammaDen = 2n * t * t * sd * sn;
  for (;;) {
    const y = discreteLaplace(rng, 1n, t);
    const a = (y < 0n ? -y : y) * t * sd - sn;
    if (bernoulliExp(rng, a * a, gammaDen)) return y;
  }
}
