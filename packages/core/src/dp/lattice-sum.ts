import { CONFIDENCE } from './accuracy.js';

// The exact distribution of a sum of independent discrete Laplace / discrete
// Gaussian noises on a common lattice, by convolving their exact pmfs (issue 20
// item 3). Used for the 95% interval of a noised sum when the sum's noise is
// only a few lattice steps wide: there the normal approximation under-covers
// (a 0/1 flag at Laplace ε 5 summed over 13 values covered 84.5%, not 95%).
// Every dropped tail term is counted as outside the interval, so the coverage
// computed here is a lower bound on the true one (float rounding aside).

/** One declaration's noise in its own grid steps. */
export type StepNoise = { kind: 'laplace'; tau: number } | { kind: 'gaussian'; sigma2: number };

/** Tail mass we allow each pmf / each trim to drop (it is counted as outside the interval). */
const DROP = 1e-17;
/** The computed coverage must clear the confidence by this much (float rounding over ~1e9 terms). */
const MARGIN = 1e-9;

/** A pmf on the lattice: p[i] is P[Z = (i − offset)·step]. */
interface Pmf {
  p: Float64Array;
  offset: number;
}

/** Terms one pmf may have (80 MB of doubles); a longer one is not built (the caller uses Chebyshev). */
const MAX_TERMS = 10_000_000;

/** Steps each side of 0 that hold all but DROP of the noise's mass. */
function tailSteps(noise: StepNoise): number {
  // Laplace: P[|Z| > k] = 2p^{k+1}/(1+p) ≤ 2e^{−(k+1)/τ}; Gaussian: the subgaussian
  // tail (CKS 2020) P[|Z| ≥ t] ≤ 2e^{−t²/2σ²}.
  return noise.kind === 'laplace'
    ? Math.max(0, Math.ceil(Math.log(2 / DROP) * noise.tau))
    : Math.ceil(Math.sqrt(2 * noise.sigma2 * Math.log(2 / DROP))) + 1;
}

/** Terms (and work) the pmf of `noise` at `stride` takes: checked before it is built. */
function pmfTerms(noise: StepNoise, stride: number): number {
  const extra = noise.kind === 'gaussian' ? Math.ceil(10 * Math.sqrt(noise.sigma2)) + 10 : 0;
  return 2 * tailSteps(noise) * stride + 1 + extra;
}

/**
 * The exact pmf of one noise, spread on a lattice `stride` times finer than its
 * own grid (a grid of 10 inside a common step of 0.5: stride 20), truncated
 * where its two tails together hold less than DROP. Callers check
 * {@link pmfTerms} first: a declaration is attacker input, and its length is not bounded.
 */
export function stepPmf(noise: StepNoise, stride = 1): Pmf {
  const k = tailSteps(noise);
  let w: (z: number) => number;
  if (noise.kind === 'laplace') {
    const inv = 1 / noise.tau;
    const c = -Math.expm1(-inv) / (1 + Math.exp(-inv));
    w = (z) => c * Math.exp(-Math.abs(z) * inv);
  } else {
    const v = noise.sigma2;
    let total = 1;
    for (let z = 1; z <= k + Math.ceil(10 * Math.sqrt(v)) + 10; z++)
      total += 2 * Math.exp((-z * z) / (2 * v));
    w = (z) => Math.exp((-z * z) / (2 * v)) / total;
  }
  const p = new Float64Array(2 * k * stride + 1);
  for (let z = -k; z <= k; z++) p[(z + k) * stride] = w(z);
  return { p, offset: k * stride };
}

/** Work counter: convolutions stop (undefined) once `left` multiply-adds are used up. */
export interface Work {
  left: number;
}

function convolve(a: Pmf, b: Pmf, work: Work): Pmf | undefined {
  const la = a.p.length;
  const lb = b.p.length;
  work.left -= la * lb;
  if (work.left < 0) return undefined;
  const out = new Float64Array(la + lb - 1);
  for (let i = 0; i < la; i++) {
    const x = a.p[i]!;
    if (x === 0) continue;
    for (let j = 0; j < lb; j++) out[i + j]! += x * b.p[j]!;
  }
  // Drop outer terms while they hold < DROP in all: they only ever count as outside.
  let lo = 0;
  let hi = out.length - 1;
  let dropped = 0;
  while (lo < hi && dropped + out[lo]! + out[hi]! < DROP) {
    dropped += out[lo]! + out[hi]!;
    lo++;
    hi--;
  }
  return { p: out.subarray(lo, hi + 1), offset: a.offset + b.offset - lo };
}

/** The pmf of `count` independent copies summed (binary powering). */
function power(one: Pmf, count: number, work: Work): Pmf | undefined {
  let result: Pmf | undefined;
  let base: Pmf | undefined = one;
  let n = count;
  while (n > 0) {
    if (n % 2 === 1) {
      result = result ? convolve(result, base, work) : base;
      if (!result) return undefined;
    }
    n = Math.floor(n / 2);
    if (n > 0) base = convolve(base, base, work);
    if (!base) return undefined;
  }
  return result;
}

/** The exact lattice half-width: the smallest k with P[|S| ≤ k steps] ≥ 95%, and that probability. */
export interface LatticeBound {
  steps: number;
  coverage: number;
}

/**
 * The 95% half-width, in lattice steps, of Σ over parts of `count` copies of
 * each noise (spread by its stride), or undefined when the convolutions would
 * take more than `work.left` multiply-adds (the caller then uses a bound that
 * needs no pmf).
 */
export function latticeSumBound(
  parts: { noise: StepNoise; stride: number; count: number }[],
  work: Work,
): LatticeBound | undefined {
  let sum: Pmf | undefined;
  for (const part of parts) {
    // Charged before anything is allocated: a forged fine grid beside a coarse one
    // (stride 1e10) asked for a 20-billion-term array and crashed the report.
    const terms = pmfTerms(part.noise, part.stride);
    if (!(terms <= MAX_TERMS && terms <= work.left)) return undefined;
    work.left -= terms;
    const one = stepPmf(part.noise, part.stride);
    const s = power(one, part.count, work);
    if (!s) return undefined;
    sum = sum ? convolve(sum, s, work) : s;
    if (!sum) return undefined;
  }
  if (!sum) return undefined;
  const { p, offset } = sum;
  let inside = p[offset] ?? 0;
  for (let k = 0; ; k++) {
    if (k > 0) inside += (p[offset - k] ?? 0) + (p[offset + k] ?? 0);
    if (inside >= CONFIDENCE + MARGIN) return { steps: k, coverage: Math.min(1, inside) };
    if (offset - k < 0 && offset + k >= p.length) return undefined; // cannot happen for a normalised pmf
  }
}
