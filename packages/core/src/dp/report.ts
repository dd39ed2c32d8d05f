import { SealogError } from '../errors.js';
import { readPath as getPath } from '../privacy/rewrite.js';
import type { StoredRecord } from '../store/reader.js';
import { parseEntry } from '../store/reader.js';
import { checkedTime } from '../store/time-window.js';
import { inTimeRange } from '../time.js';
import { laplaceAccuracy } from './accuracy.js';
import { laplaceScale, toMicro } from './calibrate.js';
import { groupKey } from './group.js';
import {
  checkQuantiles,
  groupQuantiles,
  levelMicro,
  type QuantileOptions,
  type QuantileParameters,
  quantileParameters,
} from './report-quantiles.js';
import { cryptoRng, type Rng } from './rng.js';
import { discreteLaplace } from './sample.js';

// Differentially private counts and sums per group over ledger entries.
// 1. Contribution bounding: each privacy unit keeps its first K groups (in
//    ledger order) and its first R rows in each group; the rest is dropped.
// 2. Partition selection (when groups are not declared): a group is released
//    only if its number of distinct units plus discrete Laplace noise of scale
//    K/ε_sel reaches τ, with τ the smallest integer such that
//    K · P[noise ≥ τ − 1] ≤ δ (Korolova et al. 2009; Desfontaines, Voss,
//    Gipson & Mandayam, "Differentially private partition selection", PoPETs 2022).
// 3. Counts (L1 sensitivity K·R) and clamped sums (K·R·max(|L|,|U|)) get
//    discrete Laplace noise; ε is split evenly between the parts (basic composition).
// 4. Quantiles: the exponential mechanism over the grid of [L, U] (quantile.ts);
//    the quantile part's ε is split evenly over the levels, and a unit moves
//    K groups' rank scores by R each, so each group's draw uses ε_level/(K·R) per record.

export interface DpReportOptions {
  groupBy: string;
  count?: boolean;
  sum?: { field: string; lower: number; upper: number; granularity?: number };
  /** DP quantiles of a metric per group; levels default to p50, p95, p99. */
  quantiles?: QuantileOptions;
  epsilon: number;
  delta?: number;
  /** Privacy unit path; absent = every record is its own unit (record-level privacy). */
  unit?: string;
  maxGroupsPerUnit?: number;
  maxRowsPerUnit?: number;
  /** Declared groups: released without selection (missing ones report 0 + noise). */
  groups?: string[];
  from?: number;
  to?: number;
}

export interface DpReportGroup {
  group: string;
  count?: number;
  sum?: number;
  /** Each level's DP value; with ≥ 95% probability its rank is within ±rankError of level·n. */
  quantiles?: { level: number; value: number; rankError: number }[];
}

export interface DpReport {
  version: 1;
  groupBy: string;
  privacyUnit: string;
  epsilon: number;
  delta: number;
  parameters: {
    maxGroupsPerUnit: number;
    maxRowsPerUnit: number;
    epsilonPerPart: number;
    selection: { method: 'laplace-threshold'; threshold: number; scale: number } | null;
    /** error: ± this holds for a released count with ≥ 95% probability (the exact discrete Laplace bound). */
    count: { scale: number; error: number } | null;
    sum: {
      field: string;
      lower: number;
      upper: number;
      granularity: number;
      scale: number;
      error: number;
    } | null;
    quantiles: QuantileParameters | null;
    from: number | null;
    to: number | null;
  };
  groups: DpReportGroup[];
  /** Noisy (DP) number of candidate groups not released; 0 when groups were declared. */
  suppressedGroups: number;
  /** ± this holds for suppressedGroups with ≥ 95% probability before it is floored at 0; 0 when groups were declared. */
  suppressedGroupsError: number;
}

function bad(msg: string): never {
  throw new SealogError('E_CONFIG', msg);
}

/** A metric value: a plain number, or the value of a noise marker `{ dp, value }`. */
function metric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'object' && v !== null && Object.hasOwn(v, 'value')) {
    const x = (v as { value: unknown }).value;
    if (typeof x === 'number' && Number.isFinite(x)) return x;
  }
  return undefined;
}

function posInt(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000) bad(`${name} must be an integer in [1, 1000000]`);
  return v;
}

/** Smallest τ with K · P[DLap(b) ≥ τ − 1] ≤ δ, where P[DLap(b) ≥ m] = p^m / (1 + p), p = e^{−1/b}. */
export function selectionThreshold(k: number, scale: number, delta: number): number {
  const p = Math.exp(-1 / scale);
  const m = Math.max(1, Math.ceil(Math.log((delta * (1 + p)) / k) / Math.log(p)));
  return m + 1;
}

/**
 * Computes a DP report over `records` (e.g. `reader.records()`). Hostile
 * entries (not JSON objects) are skipped. Throws E_CONFIG for invalid options.
 */
export function dpReport(
  records: Iterable<StoredRecord>,
  o: DpReportOptions,
  rng: Rng = cryptoRng(),
): DpReport {
  if (!(o.epsilon > 0 && o.epsilon <= 1000)) bad('epsilon must be in (0, 1000]');
  const K = posInt(o.maxGroupsPerUnit, 1, 'maxGroupsPerUnit');
  const R = posInt(o.maxRowsPerUnit, 1, 'maxRowsPerUnit');
  const count = o.count || !(o.sum || o.quantiles);
  const sel = o.groups === undefined;
  const delta = o.delta ?? 0;
  if (sel && !(delta > 0 && delta < 1))
    bad('delta in (0, 1) is required to select groups not declared with --groups');
  if (!sel && o.delta !== undefined)
    bad('delta is only used for group selection; omit it with declared groups');
  const g = o.sum?.granularity ?? 1;
  if (o.sum && !(o.sum.lower <= o.sum.upper && g > 0 && Number.isFinite(o.sum.lower + o.sum.upper + g))) {
    bad('sum needs finite lower <= upper and granularity > 0');
  }
  const quant = o.quantiles && checkQuantiles(o.quantiles);
  // Parts composed: selection, count, sum, quantiles, and the suppressed-group count.
  const parts = (count ? 1 : 0) + (o.sum ? 1 : 0) + (quant ? 1 : 0) + (sel ? 2 : 0);
  const epsMicro = Math.floor(toMicro(o.epsilon) / parts);
  if (epsMicro < 1) bad('epsilon too small to split');
  if (quant && levelMicro(quant, epsMicro) < 1) bad('epsilon too small to split over the quantile levels');
  const groupParts = o.groupBy.split('.');
  const unitParts = o.unit?.split('.');
  const sumParts = o.sum?.field.split('.');
  const lo = o.sum ? Math.round(o.sum.lower / g) : 0;
  const hi = o.sum ? Math.round(o.sum.upper / g) : 0;

  // unit → (group → rows kept); groups: group → {units, rows, sum}
  const perUnit = new Map<string, Map<string, number>>();
  const agg = new Map<string, { units: number; rows: number; sum: number; xs: number[] }>();
  const qParts = quant?.field.split('.');
  let anon = 0;
  const timed = o.from !== undefined || o.to !== undefined;
  for (const r of records) {
    // The range applies to the entry's own time; an edited ts index fails the report (time-window.ts).
    if (timed && !inTimeRange(checkedTime('ledger', r.seq, r.ts, r.entry), o.from, o.to)) continue;
    const e = parseEntry(r.entry);
    if (!e) continue;
    const key = groupKey(getPath(e, groupParts));
    if (key === undefined) continue;
    if (o.groups && !o.groups.includes(key)) continue;
    let unit: string;
    if (unitParts) {
      const u = getPath(e, unitParts);
      unit = typeof u === 'string' ? `s:${u}` : `j:${JSON.stringify(u ?? null)}`; // missing = one shared unit
    } else unit = `r:${anon++}`;
    let mine = perUnit.get(unit);
    if (!mine) {
      mine = new Map();
      perUnit.set(unit, mine);
    }
    const kept = mine.get(key);
    if (kept === undefined && mine.size >= K) continue; // bound: at most K groups per unit
    if ((kept ?? 0) >= R) continue; // bound: at most R rows per unit per group
    mine.set(key, (kept ?? 0) + 1);
    let a = agg.get(key);
    if (!a) {
      a = { units: 0, rows: 0, sum: 0, xs: [] };
      agg.set(key, a);
    }
    if (kept === undefined) a.units++;
    a.rows++;
    if (sumParts) {
      const v = metric(getPath(e, sumParts));
      if (v !== undefined) a.sum += Math.min(hi, Math.max(lo, Math.round(v / g)));
    }
    if (quant && qParts) {
      const v = metric(getPath(e, qParts));
      if (v !== undefined) a.xs.push(Math.min(quant.hi, Math.max(quant.lo, Math.round(v / quant.g))));
    }
  }

  const lap = (sens: number) => {
    const { s, t } = laplaceScale(sens, epsMicro);
    // error: the noise's exact 95% bound (accuracy.ts), data-independent, so printing it costs nothing.
    const error = laplaceAccuracy(s, t).bound;
    return { draw: () => Number(discreteLaplace(rng, s, t)), scale: Number(t) / Number(s), error };
  };
  const selNoise = sel ? lap(K) : undefined;
  const threshold = selNoise ? selectionThreshold(K, selNoise.scale, delta) : 0;
  const countNoise = count ? lap(K * R) : undefined;
  const sumNoise = o.sum ? lap(Math.max(1, K * R * Math.max(Math.abs(lo), Math.abs(hi)))) : undefined;
  const candidates = o.groups ?? [...agg.keys()].sort();
  const released: DpReportGroup[] = [];
  for (const key of candidates) {
    const a = agg.get(key) ?? { units: 0, rows: 0, sum: 0, xs: [] };
    if (selNoise && a.units + selNoise.draw() < threshold) continue;
    const out: DpReportGroup = { group: key };
    if (countNoise) out.count = a.rows + countNoise.draw();
    if (sumNoise) out.sum = Number(((a.sum + sumNoise.draw()) * g).toFixed(10));
    if (quant) out.quantiles = groupQuantiles(a.xs, quant, epsMicro, K * R, rng);
    released.push(out);
  }
  let suppressedGroups = 0;
  let suppressedGroupsError = 0;
  if (sel) {
    const noise = lap(K);
    suppressedGroups = Math.max(0, candidates.length + noise.draw() - released.length);
    suppressedGroupsError = noise.error;
  }
  const epsilonPerPart = epsMicro / 1e6;
  return {
    version: 1,
    groupBy: o.groupBy,
    privacyUnit: o.unit ?? '(record)',
    epsilon: (epsMicro * parts) / 1e6,
    delta,
    parameters: {
      maxGroupsPerUnit: K,
      maxRowsPerUnit: R,
      epsilonPerPart,
      selection: selNoise ? { method: 'laplace-threshold', threshold, scale: selNoise.scale } : null,
      count: countNoise ? { scale: countNoise.scale, error: countNoise.error } : null,
      sum:
        o.sum && sumNoise
          ? {
              field: o.sum.field,
              lower: o.sum.lower,
              upper: o.sum.upper,
              granularity: g,
              scale: sumNoise.scale,
              error: Number((sumNoise.error * g).toFixed(10)),
            }
          : null,
      quantiles: quant ? quantileParameters(quant, epsMicro, K * R) : null,
      from: o.from ?? null,
      to: o.to ?? null,
    },
    groups: released,
    suppressedGroups,
    suppressedGroupsError,
  };
}
