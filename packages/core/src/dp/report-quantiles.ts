import { SealogError } from '../errors.js';
import { dpQuantile, MAX_CANDIDATES, rankError95, scaledLevel } from './quantile.js';
import type { Rng } from './rng.js';

// The quantile part of a DP report (report.ts): bounds and levels checked
// once, then each group's levels drawn by the exponential mechanism (quantile.ts).

/** p50, p95, p99. */
export const DEFAULT_LEVELS = [0.5, 0.95, 0.99];

/** What a report asks for. */
export interface QuantileOptions {
  field: string;
  lower: number;
  upper: number;
  granularity?: number;
  levels?: number[];
}

/** How the quantiles were drawn: everything needed to read their error bars. */
export interface QuantileParameters {
  field: string;
  lower: number;
  upper: number;
  granularity: number;
  levels: number[];
  method: 'exponential-mechanism';
  /** ε of each level (their sum is the quantile part's ε). */
  epsilonEach: number;
  /** Candidates: grid points of [lower, upper]. */
  candidates: number;
  /** With ≥ 95% probability, for every data set: #{x < value} ≤ level·n + k and #{x ≤ value} ≥ level·n − k. */
  rankError: number;
}

const bad = (msg: string): never => {
  throw new SealogError('E_CONFIG', msg);
};

export interface QuantilePlan {
  field: string;
  lower: number;
  upper: number;
  g: number;
  lo: number;
  hi: number;
  levels: number[];
  scaled: number[];
}

export function checkQuantiles(q: QuantileOptions): QuantilePlan {
  const g = q.granularity ?? 1;
  if (!(q.lower < q.upper && g > 0 && Number.isFinite(q.lower + q.upper + g)))
    bad('quantiles need finite lower < upper and granularity > 0');
  const lo = Math.round(q.lower / g);
  const hi = Math.round(q.upper / g);
  if (!(hi - lo + 1 <= MAX_CANDIDATES))
    bad(
      `quantiles: [lower, upper] holds ${hi - lo + 1} granularity steps, at most ${MAX_CANDIDATES}; use a coarser granularity`,
    );
  const levels = q.levels ?? DEFAULT_LEVELS;
  if (levels.length < 1 || levels.length > 10) bad('quantiles: give 1 to 10 levels');
  const scaled = levels.map(
    (l) => scaledLevel(l) ?? bad(`quantile level ${l} must be in [0, 1] with at most 4 decimals`),
  );
  return { field: q.field, lower: q.lower, upper: q.upper, g, lo, hi, levels, scaled };
}

/** Each level's ε in micro-ε: the quantile part's, split evenly (basic composition). */
export const levelMicro = (q: QuantilePlan, partMicro: number) => Math.floor(partMicro / q.levels.length);

export function groupQuantiles(xs: number[], q: QuantilePlan, partMicro: number, rows: number, rng: Rng) {
  const sorted = Float64Array.from(xs).sort();
  const each = levelMicro(q, partMicro);
  const rankError = rankError95(q.hi - q.lo + 1, each, rows);
  return q.scaled.map((qs, i) => ({
    level: q.levels[i]!,
    value: Number((dpQuantile(sorted, qs, q.lo, q.hi, each, rows, rng) * q.g).toFixed(10)),
    rankError,
  }));
}

export function quantileParameters(q: QuantilePlan, partMicro: number, rows: number): QuantileParameters {
  const each = levelMicro(q, partMicro);
  return {
    field: q.field,
    lower: q.lower,
    upper: q.upper,
    granularity: q.g,
    levels: q.levels,
    method: 'exponential-mechanism',
    epsilonEach: each / 1e6,
    candidates: q.hi - q.lo + 1,
    rankError: rankError95(q.hi - q.lo + 1, each, rows),
  };
}
