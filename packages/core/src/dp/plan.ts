import {
  gaussianAccuracy,
  laplaceAccuracy,
  type StepAccuracy,
  sumApproximation,
  sumBound,
} from './accuracy.js';
import { releases } from './budget-accounting.js';
import { gaussianSigma2, laplaceScale, MICRO, toMicro } from './calibrate.js';
import type { NoiseBudget, NoiseConfig, NoiseField } from './config.js';
import type { Rational } from './sample.js';

// What the noise will do, before deploying (issue 20, item 2): per field, the
// exact sampler parameters noise.ts builds, the 95% error of one stored value
// and of sums and means over N records, in the field's own units. A single
// noised value is often useless (its error exceeds the range); the plan says
// so, and says how many records make an aggregate useful.

/** Record counts the plan gives sum and mean errors for. */
export const PLAN_RECORDS = [100, 1000, 10_000] as const;

/** The 95% error of a sum and of a mean of `records` noised values. */
export interface AggregateError {
  records: number;
  /** ± this, in the field's units, around the sum of the clamped values. */
  sum: number;
  /** ± this, in the field's units, around the mean of the clamped values (sum / records). */
  mean: number;
}

/** The plan for one noised field. Errors are in the field's units and two-sided at 95%. */
export interface FieldPlan {
  path: string;
  field: NoiseField;
  /** ε as applied (whole micro-ε). */
  epsilon: number;
  /** Grid steps one record can move the value: round(upper/g) − round(lower/g). */
  sensitivity: number;
  /** The discrete Laplace scale τ = t/s in grid steps, exactly as the sampler gets it. */
  laplace?: { s: bigint; t: bigint };
  /** The discrete Gaussian's σ² in grid steps², exactly as the sampler gets it. */
  sigma2?: Rational;
  /** τ (laplace) or σ (gaussian), in the field's units. */
  scale: number;
  /** Exact standard deviation of one value's noise, in the field's units. */
  stdDev: number;
  /** ± this holds for at least 95% of stored values: `errorSteps` grid steps. */
  error: number;
  /** The smallest k with P[|noise| ≤ k steps] ≥ 95%. */
  errorSteps: number;
  /** The exact probability that one value's noise lies within ±error. */
  coverage: number;
  /** False when `error` may be a grid step off (a Gaussian with σ above 2^22 steps, a bound past 2^53 steps). */
  exact: boolean;
  aggregates: AggregateError[];
  /**
   * Values of this field one unit gets noised per window when the field is its only cost,
   * in the currency it spends (ε, or ρ for a Gaussian field under budget.gaussian): releases().
   */
  perWindow: number;
  warnings: string[];
}

/** The plan for a whole noise configuration. */
export interface NoisePlan {
  unit: string;
  budgetEpsilon: number;
  windowSeconds: number;
  fields: FieldPlan[];
  /** What the bounds leave out, the same for every field. */
  notes: string[];
}

/** What no error bound includes: clamping and snapping are deterministic bias, not noise. */
export const PLAN_NOTES = [
  'clamping is not noise: a value outside [lower, upper] is stored as the bound plus noise, so sums and means of ' +
    'values beyond the bounds are biased towards them; the errors above do not include that bias. Pick bounds that ' +
    'hold nearly every value.',
  'each value is also rounded to the granularity before noise (at most half a step each, not included above).',
  'sum and mean errors use the normal approximation (1.96 × √(N × exact variance)), off by about ' +
    '0.035 × excess kurtosis / N of the bound (0.1% at N = 100 for a Laplace scale of 1.5 grid steps or more; a ' +
    'warning says when it exceeds 1%); one-value errors come from the exact discrete distribution.',
] as const;

/** Decimal places needed to print multiples of g exactly as written (as noise.ts prints values). */
function decimalsOf(g: number): number {
  const [mant = '', exp] = String(g).split('e');
  const frac = mant.split('.')[1]?.length ?? 0;
  return Math.min(100, Math.max(0, frac - Number(exp ?? 0)));
}

/** A number for people: 3 significant digits, whole numbers from 100 on, no exponent. */
export function round3(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return String(Math.round(x));
  const digits = Math.min(20, Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x)))));
  return String(Number(x.toFixed(digits)));
}

/** A value on the field's grid, printed as the transform prints stored values. */
export function onGrid(steps: number, granularity: number): string {
  return (steps * granularity).toFixed(decimalsOf(granularity));
}

/**
 * The plan for one field, with the sampler parameters computed exactly as noise.ts's prepare().
 * `budget` is the config's budget, or a number for an ε-only budget of that ε.
 */
export function planField(path: string, f: NoiseField, budget: number | NoiseBudget): FieldPlan {
  const g = f.granularity;
  const sensitivity = Math.round(f.upper / g) - Math.round(f.lower / g);
  const micro = toMicro(f.epsilon);
  const epsilon = micro / MICRO;
  let acc: StepAccuracy;
  let scaleSteps: number;
  const plan: Partial<FieldPlan> = {};
  if (f.mechanism === 'laplace') {
    const { s, t } = laplaceScale(sensitivity, micro);
    plan.laplace = { s, t };
    acc = laplaceAccuracy(s, t);
    scaleSteps = Number(t) / Number(s);
  } else {
    const sigma2 = gaussianSigma2(sensitivity * sensitivity, epsilon, f.delta);
    plan.sigma2 = sigma2;
    acc = gaussianAccuracy(sigma2);
    scaleSteps = Math.sqrt(Number(sigma2.num) / Number(sigma2.den));
  }
  const error = acc.bound * g;
  const aggregates = PLAN_RECORDS.map((records) => {
    const sum = sumBound(acc.variance, records) * g;
    return { records, sum, mean: sum / records };
  });
  const range = f.upper - f.lower;
  const warnings: string[] = [];
  if (error > range) {
    const m = aggregates.find((a) => a.mean <= range / 10) ?? aggregates[aggregates.length - 1]!;
    warnings.push(
      `one value's 95% error (±${onGrid(acc.bound, g)}) exceeds the range (${round3(range)}): a single stored ` +
        `value says little; read sums and means (a mean of ${m.records} is within ±${round3(m.mean)})`,
    );
  }
  const off = sumApproximation(acc.excessKurtosis, PLAN_RECORDS[0]);
  if (!(off <= 0.01)) {
    warnings.push(
      Number.isFinite(off)
        ? `the noise is mostly 0 (excess kurtosis ${round3(acc.excessKurtosis)}): the sum and mean errors of fewer ` +
            `than ${Math.ceil(off * 100 * PLAN_RECORDS[0])} records may be off by more than 1%`
        : 'the noise is 0 for all but a vanishing fraction of values: sums and means are practically exact',
    );
  }
  return {
    path,
    field: f,
    epsilon,
    sensitivity,
    ...plan,
    scale: scaleSteps * g,
    stdDev: Math.sqrt(acc.variance) * g,
    error,
    errorSteps: acc.bound,
    coverage: acc.coverage,
    exact: acc.exact,
    aggregates,
    perWindow: perWindow(f, budget),
    warnings,
  };
}

/** Values per window as the budget tracker counts them: releases() of the field alone under `budget`. */
function perWindow(f: NoiseField, budget: number | NoiseBudget): number {
  const b = typeof budget === 'number' ? { epsilon: budget, windowSeconds: 1 } : budget;
  return releases({ unit: '', budget: b, fields: { f } }, 'f')!.perWindow;
}

/**
 * The accuracy plan of a validated noise configuration (see validateNoiseConfig):
 * per field the sampler's exact scale, the 95% error of one value and of sums
 * and means over {@link PLAN_RECORDS} records, and warnings.
 */
export function planNoise(config: NoiseConfig): NoisePlan {
  return {
    unit: config.unit,
    budgetEpsilon: config.budget.epsilon,
    windowSeconds: config.budget.windowSeconds,
    fields: Object.entries(config.fields).map(([path, f]) => planField(path, f, config.budget)),
    notes: [...PLAN_NOTES],
  };
}

/**
 * One line per field for a transport's startup notice, e.g.
 * `noise latencyMs: laplace ε=1 on [0, 1000]: one value ±2996, mean of 1000 ±87.7, of 10000 ±27.7 (95%); ...`.
 */
export function planLine(p: FieldPlan): string {
  const f = p.field;
  const [, thousand, tenThousand] = p.aggregates;
  const warn = p.warnings.length > 0 ? '; a single value is noise, read aggregates' : '';
  return (
    `noise ${p.path}: ${f.mechanism} ε=${p.epsilon}${f.mechanism === 'gaussian' ? ` δ=${f.delta}` : ''} on ` +
    `[${f.lower}, ${f.upper}]: one value ±${onGrid(p.errorSteps, f.granularity)}, ` +
    `mean of ${thousand!.records} ±${round3(thousand!.mean)}, of ${tenThousand!.records} ±${round3(tenThousand!.mean)} (95%)${warn}`
  );
}
