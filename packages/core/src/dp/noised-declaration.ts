import { gaussianAccuracy, laplaceAccuracy, type StepAccuracy } from './accuracy.js';
import { gaussianSigma2, laplaceScale, MICRO, toMicro } from './calibrate.js';
import { MAX_GRID } from './config.js';
import { stepsUp } from './exact-sum.js';
import type { StepNoise } from './lattice-sum.js';

// What one stored noise marker declares (noise.ts writes `dp`, `epsilon`,
// `delta`, `lower`, `upper`, `granularity` beside the value), rebuilt into the
// exact sampler it names, and whether a value could have come from it. Every
// field is attacker input (dp/aggregate.ts): numbers are range checked before
// they size any work.

/** The noise one marker declares. */
export interface Declared {
  /** The noise in grid steps (exact sampler), for the lattice convolution. */
  noise: StepNoise;
  g: number;
  /** Grid steps of the clamped value's range [lo, hi], widened by `tail` steps of noise. */
  lo: number;
  hi: number;
  tail: number;
  /** Variance in field units and fourth cumulant (excess kurtosis × variance²). */
  variance: number;
  cumulant4: number;
  /** One value's exact 95% half-width, in field units. */
  bound: number;
  /** Small ordinal naming this declaration in a group's multiset key. */
  id: number;
}

/** −ln(1e-12 / 2): a noise is past `tail` steps with probability < 1e-12 (both mechanisms, see below). */
const TAIL_LOG = Math.log(2e12);

/**
 * The exact noise of a marker, recomputed as noise.ts prepare() did, or
 * undefined when its fields are not what the writer could have produced
 * (attacker input: every number is range checked before it sizes any work).
 */
export function declared(m: Record<string, unknown>, id: number): Declared | undefined {
  const { dp, epsilon, delta, lower, upper, granularity: g } = m;
  if (dp !== 'laplace' && dp !== 'gaussian') return undefined;
  if (typeof epsilon !== 'number' || !(epsilon >= 1 / MICRO && epsilon <= 1000)) return undefined;
  if (typeof lower !== 'number' || typeof upper !== 'number' || typeof g !== 'number') return undefined;
  if (!(g > 0 && Number.isFinite(g) && Math.abs(lower / g) <= MAX_GRID && Math.abs(upper / g) <= MAX_GRID))
    return undefined;
  const lo = Math.round(lower / g);
  const hi = Math.round(upper / g);
  const sens = hi - lo;
  if (!(sens >= 1)) return undefined;
  const micro = toMicro(epsilon);
  let acc: StepAccuracy;
  let noise: StepNoise;
  let tail: number;
  if (dp === 'laplace') {
    if (delta !== undefined) return undefined;
    const { s, t } = laplaceScale(sens, micro);
    acc = laplaceAccuracy(s, t);
    noise = { kind: 'laplace', tau: Number(t) / Number(s) };
    tail = Math.ceil(TAIL_LOG * noise.tau); // P[|Z| > k] = 2p^{k+1}/(1+p) < 2e^{−(k+1)/τ}
  } else {
    if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) return undefined;
    const sigma2 = gaussianSigma2(sens * sens, micro / MICRO, delta);
    acc = gaussianAccuracy(sigma2);
    noise = { kind: 'gaussian', sigma2: Number(sigma2.num) / Number(sigma2.den) };
    tail = Math.ceil(Math.sqrt(2 * noise.sigma2 * TAIL_LOG)); // subgaussian: P[|Z| ≥ t] ≤ 2e^{−t²/2σ²} (CKS 2020)
  }
  const variance = acc.variance * g * g;
  return {
    noise,
    g,
    lo,
    hi,
    tail,
    variance,
    cumulant4: acc.excessKurtosis * variance * variance,
    bound: stepsUp(acc.bound, g),
    id,
  };
}

/**
 * Why a value its declaration cannot have produced is rejected, or undefined:
 * off its grid, or further outside [lower, upper] than the declared noise
 * reaches with probability 1e-12.
 */
export function impossible(d: Declared, value: number): 'offGrid' | 'outOfRange' | undefined {
  const q = value / d.g;
  const z = Math.round(q);
  // noise.ts writes Number((z·g).toFixed(decimals)): q is z up to a few ulps.
  if (Math.abs(q - z) > 1e-9 + 4 * Number.EPSILON * Math.abs(q)) return 'offGrid';
  if (z < d.lo - d.tail || z > d.hi + d.tail) return 'outOfRange';
  return undefined;
}
