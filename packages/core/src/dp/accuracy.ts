import type { Rational } from './sample.js';

// How far the exact discrete noise of sample.ts strays, in grid steps: the
// variance and the smallest k with P[|Z| ≤ k] ≥ a confidence level, from each
// distribution's exact pmf (not a continuous stand-in). Planning only: these
// floats describe the samplers, they never decide a sampled value.

/** Every bound here is two-sided at this confidence. */
export const CONFIDENCE = 0.95;
/** Φ⁻¹(0.975): the two-sided 95% quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

/** The noise of one value, in grid steps. */
export interface StepAccuracy {
  /** Exact variance of Z. */
  variance: number;
  /** Excess kurtosis E[Z⁴]/Var² − 3: how far a sum of n copies is from normal (it shrinks like 1/n). */
  excessKurtosis: number;
  /** The smallest integer k ≥ 0 with P[|Z| ≤ k] ≥ 95%. */
  bound: number;
  /** P[|Z| ≤ bound], exactly (to double precision): at least the confidence, above it by one step's mass at most. */
  coverage: number;
  /** False when `bound` may be a step off: a discrete Gaussian with σ > 2^22 steps, or a bound past 2^53 steps. */
  exact: boolean;
}

/**
 * Discrete Laplace of scale τ = t/s (sample.ts `laplaceSampler(s, t)`), with
 * p = e^{−1/τ}: P[Z = z] = (1 − p)/(1 + p) · p^{|z|} (Inusah & Kozubowski,
 * "A discrete analogue of the Laplace distribution", J. Stat. Plan. Inference
 * 136 (2006), eq. 2.1; CKS 2020 Def. 1). Summing the geometric tail,
 * P[|Z| > k] = 2 p^{k+1} / (1 + p), and Var Z = 2p / (1 − p)² (I&K 2006, eq. 2.6).
 * From Σ_{k≥1} k⁴p^k = p(1 + 11p + 11p² + p³)/(1 − p)⁵, E[Z⁴]/Var² =
 * (1 + 11p + 11p² + p³) / (2p(1 + p)): excess kurtosis 3 as τ → ∞, 3.23 at
 * τ = 1.5 steps, and unbounded as τ → 0 (the noise is then almost always 0).
 */
export function laplaceAccuracy(s: bigint, t: bigint): StepAccuracy {
  const inv = Number(s) / Number(t); // 1/τ
  const p = Math.exp(-inv);
  const q = -Math.expm1(-inv); // 1 − p without cancellation for large τ
  const outside = (k: number) => (2 * Math.exp(-(k + 1) * inv)) / (1 + p);
  const alpha = 1 - CONFIDENCE;
  // Solve 2p^{k+1}/(1+p) ≤ α for k, then step to the exact smallest k (float log near an integer).
  let k = Math.max(0, Math.ceil(Math.log((alpha * (1 + p)) / 2) / -inv) - 1);
  // Past 2^53 steps (τ up to Δ/1e-6 with Δ up to 2^41 is allowed) k ± 1 is not a
  // different double: the closed form is then as exact as a double can say.
  const exact = Number.isSafeInteger(k + 1);
  if (exact) {
    while (k > 0 && outside(k - 1) <= alpha) k--;
    while (outside(k) > alpha) k++;
  }
  const excessKurtosis = (1 + 11 * p + 11 * p * p + p * p * p) / (2 * p * (1 + p)) - 3;
  return { variance: (2 * p) / (q * q), excessKurtosis, bound: k, coverage: 1 - outside(k), exact };
}

/** Above this σ (in steps) the Gaussian's inner mass is not summed term by term (≈ 2^23 terms at most). */
const DIRECT_SIGMA = 2 ** 22;

/**
 * Discrete Gaussian N_Z(0, σ²) (sample.ts `gaussianSampler(sigma2)`):
 * P[Z = z] = e^{−z²/2σ²} / S with S = Σ_z e^{−z²/2σ²} (Canonne, Kamath &
 * Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020,
 * Def. 1). S and the variance come from the Poisson summation formula
 * (CKS 2020 §2.1, proof of Fact 18): S = √(2π)σ · Σ_j e^{−2π²σ²j²}, and
 * differentiating in σ, Var Z = σ² (1 − 4π²σ² Σ_j j² e^{−2π²σ²j²} / Σ_j e^{−2π²σ²j²})
 * (< σ², CKS Prop. 19). For σ < 1 both are plain sums over |z| ≤ 60 instead,
 * as is the fourth moment; for σ ≥ 1 the same formula puts the moments within
 * a relative 1e-5 of the continuous Gaussian's, so the excess kurtosis is 0 there.
 * The 95% bound sums the pmf from 0 outwards (exact) for σ ≤ 2^22 steps; above
 * that it is ⌈z·σ − ½⌉, the continuous quantile with the midpoint rule, whose
 * error there (relative O(1/σ²)) can move it by at most one step.
 */
export function gaussianAccuracy(sigma2: Rational): StepAccuracy {
  const v = Number(sigma2.num) / Number(sigma2.den);
  const sigma = Math.sqrt(v);
  const w = (z: number) => Math.exp(-(z * z) / (2 * v));
  let total: number;
  let variance: number;
  let excessKurtosis = 0;
  if (v < 1) {
    total = w(0);
    let second = 0;
    let fourth = 0;
    for (let z = 1; z <= 60; z++) {
      total += 2 * w(z);
      second += 2 * z * z * w(z);
      fourth += 2 * z ** 4 * w(z);
    }
    variance = second / total;
    excessKurtosis = fourth / total / (variance * variance) - 3;
  } else {
    let a = 1;
    let b = 0;
    for (let j = 1; j <= 4; j++) {
      const e = Math.exp(-2 * Math.PI * Math.PI * v * j * j);
      a += 2 * e;
      b += 2 * j * j * e;
    }
    total = Math.sqrt(2 * Math.PI * v) * a;
    variance = v * (1 - (4 * Math.PI * Math.PI * v * b) / a);
  }
  if (sigma > DIRECT_SIGMA) {
    return {
      variance,
      excessKurtosis,
      bound: Math.ceil(Z_95 * sigma - 0.5),
      coverage: CONFIDENCE,
      exact: false,
    };
  }
  // Kahan summation: up to ~2^23 terms of very different size.
  let inner = w(0);
  let carry = 0;
  let k = 0;
  const goal = CONFIDENCE * total;
  while (inner < goal) {
    k++;
    const y = 2 * w(k) - carry;
    const sum = inner + y;
    carry = sum - inner - y;
    inner = sum;
  }
  return { variance, excessKurtosis, bound: k, coverage: Math.min(1, inner / total), exact: true };
}

/**
 * The two-sided error of a sum of n independent copies of a noise with this
 * variance: z·√(n·Var), the normal approximation (central limit theorem). The
 * sum's excess kurtosis is κ/n, and the Cornish–Fisher correction to the 95%
 * quantile is (z² − 3)·κ/(24n) ≈ 0.035·κ/n of it ({@link sumApproximation}):
 * about 0.1% at n = 100 for a discrete Laplace of scale ≥ 1.5 steps (κ ≤ 3.23)
 * and 0 for a discrete Gaussian with σ ≥ 1 step. plan.test.ts checks the
 * coverage by simulation.
 */
export function sumBound(variance: number, n: number): number {
  return Z_95 * Math.sqrt(n * variance);
}

/** The relative size of the Cornish–Fisher term the normal approximation of a sum of n leaves out. */
export function sumApproximation(excessKurtosis: number, n: number): number {
  return Math.abs(((Z_95 * Z_95 - 3) * excessKurtosis) / (24 * n));
}
