import { SealogError } from '../errors.js';
import { readPath } from '../privacy/rewrite.js';
import type { StoredRecord } from '../store/reader.js';
import { parseEntry } from '../store/reader.js';
import { checkedTime } from '../store/time-window.js';
import { inTimeRange } from '../time.js';
import { CONFIDENCE, Z_95 } from './accuracy.js';
import { addOnGrid, type ExactSum, emptySum, settle, stepsUp } from './exact-sum.js';
import { groupKey } from './group.js';
import { type LatticeBound, latticeSumBound, type Work } from './lattice-sum.js';
import { type Declared, declared, impossible } from './noised-declaration.js';

// Sums and means of already-noised fields per group (issue 20, item 3). Each
// stored marker says how it was noised (mechanism, ε, δ, bounds, granularity:
// noise.ts), which fixes the exact sampler and so the exact variance of its
// noise (accuracy.ts). Reading stored values is post-processing: no new ε.
// What is NOT protected here: which groups exist and how many noised values
// each has are exact, read from the ledger as it is.

/** A distinct Gaussian declaration costs a pmf pass (up to 2^23 terms); a hostile file gets this many. */
export const MAX_DECLARATIONS = 256;
/** Distinct declarations remembered (Laplace ones past it are recomputed, O(1) each). */
export const MAX_CACHED = 65_536;
/** A group's summed noise at least this many of its coarsest grid steps wide (σ) uses the normal quantile. */
export const NORMAL_STEPS = 20;
/**
 * Cornish–Fisher leaves out higher-order terms: for sums of n equal Laplace noises (the
 * worst case: mixes and Gaussians are more conservative) its 95% quantile covers down to
 * 94.986% (n = 5, continuous limit, characteristic-function inversion); 0.1% more covers ≥ 95.006%.
 */
const CF_SAFETY = 1.001;
/** Distinct declarations per group the lattice convolution takes. */
const MAX_PARTS = 64;
/** Multiply-adds all of one report's lattice convolutions may take (then Chebyshev). */
const EXACT_WORK = 2e9;
/** Chebyshev: P[|S| ≥ √20·σ] ≤ 5% for ANY distribution; the interval is never wider than this. */
const CHEBYSHEV_95 = Math.sqrt(1 / (1 - CONFIDENCE));

export interface NoisedAggregateOptions {
  groupBy: string;
  field: string;
  groups?: string[];
  from?: number;
  to?: number;
}

export interface NoisedGroup {
  group: string;
  /** Noised values summed: exact (read from the ledger, not noised). */
  n: number;
  /**
   * Σ stored values, summed exactly (exact-sum.ts); ± sumError covers Σ (clamped, snapped true
   * values) with ≥ 95% (see `method`), widened by |sum − sumExact| when the sum prints inexactly.
   */
  sum: number;
  sumError: number;
  /** The exact sum (decimal string), only when `sum` does not print it exactly. */
  sumExact?: string;
  /** sum / n; n is exact, so meanError = sumError / n (plus what printing the mean loses). Absent when n = 0. */
  mean?: number;
  meanError?: number;
  /**
   * 'exact': the exact lattice quantile of the summed noise (one value's pmf, or the
   * convolution of all); 'normal+cornish-fisher': noise ≥ NORMAL_STEPS grid steps wide;
   * 'chebyshev': √20·σ, for any distribution (narrow noise not convolved within the work bound).
   */
  method: 'exact' | 'normal+cornish-fisher' | 'chebyshev' | 'none';
  /** For 'exact' sums of several values: P[the interval covers], exactly (a lower bound, ≥ 95%). */
  coverage?: number;
  /** Values with `{dp:'suppressed'}` (budget spent): not in n, their true values are unknown. */
  suppressed: number;
  /** Records whose field is missing or not a noise marker (plain numbers included): not in n. */
  skipped: number;
  /** Smallest and largest ε the summed values were noised with when written. */
  epsilonRange: [number, number] | null;
}

export interface NoisedReport {
  version: 1;
  kind: 'noised-aggregate';
  groupBy: string;
  field: string;
  /** ε this report spends: 0. It post-processes values noised when they were written. */
  epsilon: 0;
  confidence: number;
  exact: string[];
  groups: NoisedGroup[];
  /** Records left out of every group for a marker no writer produced: the sum of `rejected`. */
  invalid: number;
  rejected: Rejected;
}

/** Records left out, by reason. */
export interface Rejected {
  /** Not a declaration noise.ts writes (unknown mechanism, bad bounds, δ on Laplace, no finite value…). */
  unreadable: number;
  /** A Gaussian declaration past the first MAX_DECLARATIONS distinct ones (each costs a pmf pass). */
  declarations: number;
  /** A value off its declared granularity grid. */
  offGrid: number;
  /** A value further outside [lower, upper] than its declared noise goes with probability 1e-12. */
  outOfRange: number;
  /** A value that would make its group's sum (or variance) overflow to ±Infinity. */
  overflow: number;
}

/**
 * The 95% half-width of a sum of independent noises: the normal quantile with
 * the Cornish–Fisher term for the sum's excess kurtosis κ = Σκ₄ / (ΣVar)²,
 * z + (z³ − 3z)·κ/24 (Cornish & Fisher 1938; symmetric noise, so no skewness
 * term), capped at Chebyshev's √20·σ, which holds for any distribution.
 */
export function sumHalfWidth(variance: number, cumulant4: number): number {
  if (variance === 0) return 0;
  const kappa = cumulant4 / (variance * variance);
  const z = Z_95 + ((Z_95 ** 3 - 3 * Z_95) * kappa) / 24;
  return Math.min(z, CHEBYSHEV_95) * Math.sqrt(variance);
}

const bad = (msg: string): never => {
  throw new SealogError('E_CONFIG', msg);
};

type Acc = NoisedGroup & {
  exact: ExactSum;
  variance: number;
  cumulant4: number;
  one: number;
  /** Declaration → count, for the lattice convolution; null past MAX_PARTS declarations. */
  parts: Map<Declared, number> | null;
  gMin: number;
  gMax: number;
};

const newGroup = (group: string): Acc => ({
  group,
  exact: emptySum(),
  n: 0,
  sum: 0,
  sumError: 0,
  method: 'none',
  suppressed: 0,
  skipped: 0,
  epsilonRange: null,
  variance: 0,
  cumulant4: 0,
  one: 0,
  parts: new Map(),
  gMin: Infinity,
  gMax: 0,
});

/**
 * A group's 95% half-width and how it was found. One value: its pmf's exact
 * bound. Wide noise (σ ≥ NORMAL_STEPS of the coarsest grid): Cornish–Fisher
 * plus half a grid step (the lattice's continuity correction). Narrow noise on
 * commensurate grids: the exact lattice quantile by convolution, within the
 * work left. Otherwise Chebyshev's √20·σ, which holds for any distribution.
 */
function interval(a: Acc, work: Work, memo: Map<string, LatticeBound | undefined>): Partial<NoisedGroup> {
  if (a.n === 1) return { method: 'exact', sumError: a.one };
  const sigma = Math.sqrt(a.variance);
  if (sigma >= NORMAL_STEPS * a.gMax)
    return {
      method: 'normal+cornish-fisher',
      sumError: CF_SAFETY * sumHalfWidth(a.variance, a.cumulant4) + a.gMax / 2,
    };
  const h = a.gMin;
  const parts = a.parts ? [...a.parts].sort(([x], [y]) => x.id - y.id) : [];
  const strides = parts.map(([d]) => Math.round(d.g / h));
  if (a.parts && parts.every(([d], i) => Math.abs(d.g / h - strides[i]!) <= 1e-9 * strides[i]!)) {
    const key = parts.map(([d, c]) => `${d.id}x${c}`).join(',');
    let b = memo.get(key);
    if (!memo.has(key)) {
      b = latticeSumBound(
        parts.map(([d, count], i) => ({ noise: d.noise, stride: strides[i]!, count })),
        work,
      );
      memo.set(key, b);
    }
    if (b) return { method: 'exact', sumError: stepsUp(b.steps, h), coverage: b.coverage };
  }
  return { method: 'chebyshev', sumError: CHEBYSHEV_95 * sigma };
}

/**
 * Sums and means of the noised values of `o.field` per `o.groupBy` group, with
 * 95% intervals from each record's declared noise. Hostile entries and markers
 * are skipped and counted, each record on its own. Spends no budget.
 * @throws SealogError E_CONFIG for empty paths; E_TAMPER from a time range over an edited ts index.
 */
export function noisedAggregate(records: Iterable<StoredRecord>, o: NoisedAggregateOptions): NoisedReport {
  if (!o.groupBy || !o.field) bad('noised aggregates need a group-by field and a noised field');
  const groupParts = o.groupBy.split('.');
  const fieldParts = o.field.split('.');
  const cache = new Map<string, Declared | undefined>();
  let gaussians = 0;
  let ids = 0; // names a declaration in a group's multiset key (also when the cache is full)
  const acc = new Map<string, Acc>();
  const wanted = o.groups ? new Set(o.groups) : undefined;
  const rejected: Rejected = { unreadable: 0, declarations: 0, offGrid: 0, outOfRange: 0, overflow: 0 };
  const timed = o.from !== undefined || o.to !== undefined;
  const groupOf = (key: string) => {
    let a = acc.get(key);
    if (!a) {
      a = newGroup(key);
      acc.set(key, a);
    }
    return a;
  };
  for (const key of o.groups ?? []) groupOf(key);
  for (const r of records) {
    if (timed && !inTimeRange(checkedTime('ledger', r.seq, r.ts, r.entry), o.from, o.to)) continue;
    const e = parseEntry(r.entry);
    if (!e) continue;
    const key = groupKey(readPath(e, groupParts));
    if (key === undefined || (wanted && !wanted.has(key))) continue;
    const a = groupOf(key);
    const m = readPath(e, fieldParts);
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      a.skipped++;
      continue;
    }
    const marker = m as Record<string, unknown>;
    if (marker.dp === 'suppressed') {
      a.suppressed++;
      continue;
    }
    const { dp, epsilon, delta, lower, upper, granularity, value } = marker;
    // Only numbers (and an absent δ) make a key: `delta: null` is not an absent δ, and no
    // record's key can collide with another's, so a forged marker voids only itself.
    const nums = [epsilon, lower, upper, granularity, value];
    if (
      (dp !== 'laplace' && dp !== 'gaussian') ||
      nums.some((x) => typeof x !== 'number' || !Number.isFinite(x)) ||
      (delta !== undefined && typeof delta !== 'number')
    ) {
      rejected.unreadable++;
      continue;
    }
    const id = `${dp}|${epsilon}|${delta ?? '-'}|${lower}|${upper}|${granularity}`;
    let d = cache.get(id);
    if (d === undefined && !cache.has(id)) {
      // A Gaussian declaration costs a pmf pass (up to 2^23 terms): a hostile file gets MAX_DECLARATIONS.
      if (dp === 'gaussian' && gaussians >= MAX_DECLARATIONS) {
        rejected.declarations++;
        continue;
      }
      if (dp === 'gaussian') gaussians++;
      d = declared(marker, ids++);
      if (cache.size < MAX_CACHED) cache.set(id, d);
    }
    const v = value as number;
    const why = d ? impossible(d, v) : 'unreadable';
    if (why || !d) {
      rejected[why ?? 'unreadable']++;
      continue;
    }
    if (!Number.isFinite(a.sum + v) || !Number.isFinite(a.variance + d.variance)) {
      rejected.overflow++;
      continue;
    }
    a.n++;
    a.sum += v; // float: only the overflow check above
    addOnGrid(a.exact, v, d.g);
    a.variance += d.variance;
    a.cumulant4 += d.cumulant4;
    a.one = d.bound;
    a.gMin = Math.min(a.gMin, d.g);
    a.gMax = Math.max(a.gMax, d.g);
    if (a.parts) {
      a.parts.set(d, (a.parts.get(d) ?? 0) + 1);
      if (a.parts.size > MAX_PARTS) a.parts = null;
    }
    const eps = epsilon as number;
    a.epsilonRange = a.epsilonRange
      ? [Math.min(a.epsilonRange[0], eps), Math.max(a.epsilonRange[1], eps)]
      : [eps, eps];
  }
  const work: Work = { left: EXACT_WORK };
  const memo = new Map<string, LatticeBound | undefined>();
  const groups = [...acc.values()]
    .sort((x, y) => (x.group < y.group ? -1 : x.group > y.group ? 1 : 0))
    .map((full) => {
      const { variance, cumulant4, one, parts, gMin, gMax, exact, ...g } = full;
      if (g.n === 0) return g;
      Object.assign(g, interval(full, work, memo));
      return Object.assign(g, settle(exact, g.n, g.sumError));
    });
  const invalid = Object.values(rejected).reduce((x, y) => x + y, 0);
  return {
    version: 1,
    kind: 'noised-aggregate',
    groupBy: o.groupBy,
    field: o.field,
    epsilon: 0,
    confidence: CONFIDENCE,
    exact: [
      'which groups exist and n (the number of noised values per group): read from the ledger as they are, exact, not noised',
      'the intervals cover the sum and mean of the values after clamping to each record\u2019s [lower, upper] and snapping to its granularity',
    ],
    groups,
    invalid,
    rejected,
  };
}
