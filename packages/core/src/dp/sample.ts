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
// 2^53; small ones take a number path that makes the same decisions from the
// same draws (no BigInt allocated per sample: issue 15, item 2).

/** A non-negative rational num/den (den > 0). */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** A sampler with its parameters fixed; integers up to 2^53 in magnitude come back as numbers. */
export type Sampler = (rng: Rng) => number | bigint;

const FAST_DEN = 1 << 26; // den·k stays below 2^32 for k < 64 on the number path
const BIG_FAST_DEN = BigInt(FAST_DEN);
const TWO_32 = 0x1_0000_0000;
const BIG_TWO_32 = 1n << 32n;

/**
 * Bernoulli(num/den) for 0 ≤ num ≤ den, exact: U < num/den for a uniform U in
 * [0, 1) whose base-2^32 digits are drawn one at a time, stopping at the first
 * digit that differs from num/den's. One draw almost always (not ⌈log₂ den / 32⌉).
 */
function bernoulliRatio(rng: Rng, num: bigint, den: bigint): boolean {
  if (den <= BIG_TWO_32) return rng(Number(den)) < Number(num);
  let r = num;
  for (;;) {
    r <<= 32n;
    const digit = r / den; // the next base-2^32 digit of num/den (2^32 only when num = den)
    r -= digit * den;
    const w = BigInt(rng(TWO_32));
    if (w !== digit) return w < digit;
    if (r === 0n) return false; // num/den ends here and U ≥ it
  }
}

/** CKS Algorithm 1 for γ = n/d ∈ [0, 1] with d < 2^26, in numbers. */
function bernoulliExpUnitNum(rng: Rng, n: number, d: number): boolean {
  if (n === 0) return true;
  // K ← first k with Bernoulli(γ/k) = 0; exp(−γ) = P[K odd].
  for (let k = 1; k < 64; k++) {
    const dk = d * k;
    // Bernoulli(n/dk) is certainly 1 when n ≥ dk: no draw needed to know it.
    if (n < dk && rng(dk) >= n) return k % 2 === 1;
  }
  return bernoulliExpUnitBig(rng, BigInt(n), BigInt(d), 64n);
}

/** CKS Algorithm 1 for γ = num/den ∈ [0, 1]: returns true with probability exp(−γ). */
function bernoulliExpUnit(rng: Rng, num: bigint, den: bigint): boolean {
  if (den < BIG_FAST_DEN) return bernoulliExpUnitNum(rng, Number(num), Number(den));
  if (num === 0n) return true;
  return bernoulliExpUnitBig(rng, num, den, 1n);
}

function bernoulliExpUnitBig(rng: Rng, num: bigint, den: bigint, from: bigint): boolean {
  for (let k = from; ; k++) if (!bernoulliRatio(rng, num, den * k)) return k % 2n === 1n;
}

/** Bernoulli(exp(−1)). */
const bernoulliExpMinusOne = (rng: Rng): boolean => bernoulliExpUnitNum(rng, 1, 1);

/**
 * Bernoulli(exp(−γ)) for rational γ = num/den ≥ 0 (CKS Algorithm 1): for
 * γ > 1 it multiplies ⌊γ⌋ independent Bernoulli(e^−1) by one Bernoulli(e^−frac).
 * @throws RangeError when num < 0 or den ≤ 0.
 */
export function bernoulliExp(rng: Rng, num: bigint, den: bigint): boolean {
  if (num < 0n || den <= 0n) throw new RangeError('bernoulliExp needs num >= 0 and den > 0');
  if (num <= den) return bernoulliExpUnit(rng, num, den);
  const whole = num / den;
  if (whole <= BigInt(Number.MAX_SAFE_INTEGER)) {
    const w = Number(whole);
    for (let i = 0; i < w; i++) if (!bernoulliExpMinusOne(rng)) return false;
  } else {
    for (let i = 0n; i < whole; i++) if (!bernoulliExpMinusOne(rng)) return false;
  }
  return bernoulliExpUnit(rng, num - whole * den, den);
}

/** CKS Algorithm 2 with s, t < 2^26, in numbers; the same draws and decisions as the bigint path. */
function laplaceNum(rng: Rng, s: number, t: number): number | bigint {
  for (;;) {
    const u = rng(t);
    if (!bernoulliExpUnitNum(rng, u, t)) continue;
    // V ~ Geometric(1 − e^{−1}); X = U + tV is then Geometric(1 − e^{−1/t}).
    let v = 0;
    while (bernoulliExpMinusOne(rng)) v++;
    const negative = rng(2) === 1;
    const x = u + t * v;
    if (!Number.isSafeInteger(x)) {
      // Only after ~2^27 successes in a row (probability e^−(2^27)); kept exact anyway.
      const y = (BigInt(u) + BigInt(t) * BigInt(v)) / BigInt(s);
      if (negative && y === 0n) continue;
      return negative ? -y : y;
    }
    const y = (x - (x % s)) / s; // ⌊x / s⌋ exactly
    if (negative && y === 0) continue; // keeps zero from being counted twice
    return negative ? -y : y;
  }
}

function laplaceBig(rng: Rng, s: bigint, t: bigint): bigint {
  for (;;) {
    const u = belowBig(rng, t);
    if (!bernoulliExp(rng, u, t)) continue;
    let v = 0n;
    while (bernoulliExpMinusOne(rng)) v++;
    const y = (u + t * v) / s;
    const negative = rng(2) === 1;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * A discrete Laplace sampler with scale τ = t/s (CKS Algorithm 2), parameters fixed once.
 * @throws RangeError when s or t is not positive.
 */
export function laplaceSampler(s: bigint, t: bigint): Sampler {
  if (s <= 0n || t <= 0n) throw new RangeError('discreteLaplace needs s, t > 0');
  if (s < BIG_FAST_DEN && t < BIG_FAST_DEN) {
    const sn = Number(s);
    const tn = Number(t);
    return (rng) => laplaceNum(rng, sn, tn);
  }
  return (rng) => laplaceBig(rng, s, t);
}

/**
 * Discrete Laplace with scale τ = t/s (CKS Algorithm 2):
 * P[Z = z] = (1 − e^{−1/τ}) / (1 + e^{−1/τ}) · e^{−|z|/τ} for every integer z.
 * @throws RangeError when s or t is not positive.
 */
export function discreteLaplace(rng: Rng, s: bigint, t: bigint): bigint {
  return BigInt(laplaceSampler(s, t)(rng));
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
 * A discrete Gaussian sampler with σ² = sigma2.num / sigma2.den (CKS
 * Algorithm 3), its constants computed once: proposals come from a discrete
 * Laplace of scale t = ⌊σ⌋ + 1 and are accepted with probability
 * exp(−(|y| − σ²/t)² / 2σ²), computed exactly as a rational.
 * @throws RangeError when σ² is not positive.
 */
export function gaussianSampler(sigma2: Rational): Sampler {
  const { num: sn, den: sd } = sigma2;
  if (sn <= 0n || sd <= 0n) throw new RangeError('discreteGaussian needs sigma^2 > 0');
  const t = isqrt(sn / sd) + 1n;
  const proposal = laplaceSampler(1n, t);
  // γ = (|y|·t·sd − sn)² / (2·t²·sd·sn)
  const gammaDen = 2n * t * t * sd * sn;
  const tsd = t * sd;
  return (rng) => {
    for (;;) {
      const y = proposal(rng);
      const big = BigInt(y);
      const a = (big < 0n ? -big : big) * tsd - sn;
      if (bernoulliExp(rng, a * a, gammaDen)) return y;
    }
  };
}

/**
 * Discrete Gaussian with variance parameter σ² = sigma2.num / sigma2.den
 * (CKS Algorithm 3): P[Z = z] ∝ exp(−z² / 2σ²).
 * @throws RangeError when σ² is not positive.
 */
export function discreteGaussian(rng: Rng, sigma2: Rational): bigint {
  return BigInt(gaussianSampler(sigma2)(rng));
}
