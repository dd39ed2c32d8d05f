import type { Rational } from './sample.js';

// How a configured (ε, δ, bounds, granularity) becomes an exact sampler
// parameter. All work happens in granularity units: a value v is clamped to
// [lower, upper] and mapped to the integer round(v / granularity), so one
// record moves the integer by at most Δ = round(upper/g) − round(lower/g).
// Any rounding below goes in the direction of MORE noise, never less.

/** ε is applied in whole micro-ε: exact integer budget arithmetic, no float drift. */
export const MICRO = 1_000_000;

/** ε as an integer count of micro-ε (1e-6). Callers validate ε ≥ 1e-6 first. */
export function toMicro(epsilon: number): number {
  return Math.round(epsilon * MICRO);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * Discrete Laplace scale τ = Δ/ε as the reduced fraction t/s used by
 * `discreteLaplace(rng, s, t)`. Pure ε-DP for an integer query of L1
 * sensitivity Δ (CKS 2020 §2, the geometric mechanism of Ghosh et al. 2009).
 */
export function laplaceScale(sensitivity: number, epsMicro: number): { s: bigint; t: bigint } {
  let t = BigInt(sensitivity) * BigInt(MICRO);
  let s = BigInt(epsMicro);
  const g = gcd(t, s);
  t /= g;
  s /= g;
  return { s, t };
}

/**
 * The zCDP parameter ρ that gives (ε, δ)-DP through the conversion
 * ε = ρ + 2·√(ρ·ln(1/δ)) (Bun & Steinke 2016, Prop. 1.3; used for the discrete
 * Gaussian in CKS 2020 Cor. 13): ρ = (√(ln(1/δ) + ε) − √(ln(1/δ)))².
 */
export function rhoFor(epsilon: number, delta: number): number {
  const l = Math.log(1 / delta);
  const r = Math.sqrt(l + epsilon) - Math.sqrt(l);
  return r * r;
}

/** Denominator of σ²: fine enough that rounding up adds < 1e-6 relative noise at σ ≥ 1. */
const SIGMA2_DEN = 1n << 20n;
/** Guards the float evaluation of ρ (a few ulps) so the rational σ² is never too small. */
const SAFETY = 1 + 1e-9;

/**
 * σ² of the discrete Gaussian for L2 sensitivity √(sensitivity2) at (ε, δ):
 * the discrete Gaussian N_Z(0, σ²) is (Δ²/2σ²)-zCDP (CKS 2020 Thm. 4), so
 * σ² = Δ² / (2ρ) with ρ from {@link rhoFor}, rounded UP to a multiple of 2^-20.
 */
export function gaussianSigma2(sensitivity2: number, epsilon: number, delta: number): Rational {
  const sigma2 = (sensitivity2 / (2 * rhoFor(epsilon, delta))) * SAFETY;
  const num = BigInt(Math.ceil(sigma2 * Number(SIGMA2_DEN)));
  return { num: num > 0n ? num : 1n, den: SIGMA2_DEN };
}
