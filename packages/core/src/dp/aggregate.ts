import { SealogError } from '../errors.js';
import { readPath } from '../privacy/rewrite.js';
import type { StoredRecord } from '../store/reader.js';
import { parseEntry } from '../store/reader.js';
import { checkedTime } from '../store/time-window.js';
import { inTimeRange } from '../time.js';
import { CONFIDENCE, gaussianAccuracy, laplaceAccuracy, type StepAccuracy, Z_95 } from './accuracy.js';
import { gaussianSigma2, laplaceScale, MICRO, toMicro } from './calibrate.js';
import { MAX_GRID } from './config.js';
import { groupKey } from './group.js';

// Sums and means of already-noised fields per group (issue 20, item 3). Each
// stored marker says how it was noised (mechanism, ε, δ, bounds, granularity:
// noise.ts), which fixes the exact sampler and so the exact variance of its
// noise (accuracy.ts). Reading stored values is post-processing: no new ε.
// What is NOT protected here: which groups exist and how many noised values
// each has are exact, read from the ledger as it is.

/** A distinct declaration costs a pmf pass (Gaussian: up to 2^23 terms); a hostile file gets this many. */
export const MAX_DECLARATIONS = 256;
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
  /** Σ stored values; ± sumError covers Σ (clamped, snapped true values) with ≥ 95% (see `method`). */
  sum: number;
  sumError: number;
  /** sum / n; n is exact, so meanError = sumError / n. Absent when n = 0. */
  mean?: number;
  meanError?: number;
  /** 'exact' (one value: the pmf's own 95% bound) or 'normal+cornish-fisher' (see docs). */
  method: 'exact' | 'normal+cornish-fisher' | 'none';
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
  /** Records dropped for a hostile or unreadable marker (bad bounds, too many distinct declarations). */
  invalid: number;
}

/** The noise one marker declares, in field units. */
interface Declared {
  variance: number;
  /** Fourth cumulant: excess kurtosis × variance². */
  cumulant4: number;
  /** One value's exact 95% half-width, in field units. */
  bound: number;
}

/**
 * The exact noise of a marker, recomputed as noise.ts prepare() did, or
 * undefined when its fields are not what the writer could have produced
 * (attacker input: every number is range checked before it sizes any work).
 */
function declared(m: Record<string, unknown>): Declared | undefined {
  const { dp, epsilon, delta, lower, upper, granularity: g } = m;
  if (dp !== 'laplace' && dp !== 'gaussian') return undefined;
  if (typeof epsilon !== 'number' || !(epsilon >= 1 / MICRO && epsilon <= 1000)) return undefined;
  if (typeof lower !== 'number' || typeof upper !== 'number' || typeof g !== 'number') return undefined;
  if (!(g > 0 && Number.isFinite(g) && Math.abs(lower / g) <= MAX_GRID && Math.abs(upper / g) <= MAX_GRID))
    return undefined;
  const sens = Math.round(upper / g) - Math.round(lower / g);
  if (!(sens >= 1)) return undefined;
  const micro = toMicro(epsilon);
  let acc: StepAccuracy;
  if (dp === 'laplace') {
    if (delta !== undefined) return undefined;
    const { s, t } = laplaceScale(sens, micro);
    acc = laplaceAccuracy(s, t);
  } else {
    if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) return undefined;
    acc = gaussianAccuracy(gaussianSigma2(sens * sens, micro / MICRO, delta));
  }
  const variance = acc.variance * g * g;
  return { variance, cumulant4: acc.excessKurtosis * variance * variance, bound: acc.bound * g };
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

/**
 * Sums and means of the noised values of `o.field` per `o.groupBy` group, with
 * 95% intervals from each record's declared noise. Hostile entries and markers
 * are skipped and counted. Spends no budget.
 * @throws SealogError E_CONFIG for empty paths; E_TAMPER from a time range over an edited ts index.
 */
export function noisedAggregate(records: Iterable<StoredRecord>, o: NoisedAggregateOptions): NoisedReport {
  if (!o.groupBy || !o.field) bad('noised aggregates need a group-by field and a noised field');
  const groupParts = o.groupBy.split('.');
  const fieldParts = o.field.split('.');
  const cache = new Map<string, Declared | undefined>();
  const acc = new Map<string, NoisedGroup & { variance: number; cumulant4: number; one: number }>();
  const wanted = o.groups ? new Set(o.groups) : undefined;
  let invalid = 0;
  const timed = o.from !== undefined || o.to !== undefined;
  const groupOf = (key: string) => {
    let a = acc.get(key);
    if (!a) {
      a = {
        group: key,
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
      };
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
    const value = marker.value;
    // The declaration's own bytes are its cache key: at most MAX_DECLARATIONS pmf passes.
    const id = JSON.stringify([
      marker.dp,
      marker.epsilon,
      marker.delta,
      marker.lower,
      marker.upper,
      marker.granularity,
    ]);
    let d = cache.get(id);
    if (d === undefined && !cache.has(id) && cache.size < MAX_DECLARATIONS) {
      d = declared(marker);
      cache.set(id, d);
    }
    if (d === undefined || typeof value !== 'number' || !Number.isFinite(value)) {
      invalid++;
      continue;
    }
    a.n++;
    a.sum += value;
    a.variance += d.variance;
    a.cumulant4 += d.cumulant4;
    a.one = d.bound;
    const eps = marker.epsilon as number;
    a.epsilonRange = a.epsilonRange
      ? [Math.min(a.epsilonRange[0], eps), Math.max(a.epsilonRange[1], eps)]
      : [eps, eps];
  }
  const groups = [...acc.values()]
    .sort((x, y) => (x.group < y.group ? -1 : x.group > y.group ? 1 : 0))
    .map(({ variance, cumulant4, one, ...g }) => {
      if (g.n === 0) return g;
      // One value: its own pmf's exact 95% bound; more: the sum's approximation (docs, tested coverage).
      g.method = g.n === 1 ? 'exact' : 'normal+cornish-fisher';
      g.sumError = g.n === 1 ? one : sumHalfWidth(variance, cumulant4);
      g.sum = Number(g.sum.toPrecision(15)); // float sums of decimal values: drop the last-bit dust
      return { ...g, mean: g.sum / g.n, meanError: g.sumError / g.n };
    });
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
  };
}
