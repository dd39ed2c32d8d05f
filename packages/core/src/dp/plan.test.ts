import { describe, expect, it } from 'vitest';
import { binomialAcceptance, binomialMass, coverageHolds } from './__tests__/binomial.js';
import { gaussianPmf, laplacePmf, moments, seededRng } from './__tests__/helpers.js';
import { gaussianAccuracy, laplaceAccuracy, sumBound, Z_95 } from './accuracy.js';
import { validateNoiseConfig } from './config.js';
import { buildNoiseTransform } from './noise.js';
import { type FieldPlan, planField, planLine, planNoise } from './plan.js';
import type { Rng } from './rng.js';
import { gaussianSampler, laplaceSampler, type Sampler } from './sample.js';

// Do the stated 95% intervals hold 95% of the time? Draw noise with the real
// samplers (seeded, so every run sees the same draws), count how often it
// falls inside the plan's bound, and accept only counts inside the exact
// two-sided binomial acceptance region at α = 0.001. The same test, on the
// same draws, must reject an interval computed from a deliberately mis-scaled
// noise (and its power against that mis-scaling is computed, not assumed).

function draws(sampler: Sampler, rng: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(sampler(rng));
  return out;
}

function insideCount(xs: Float64Array, bound: number): number {
  let c = 0;
  for (const x of xs) if (Math.abs(x) <= bound) c++;
  return c;
}

const noiseConfig = (fields: Record<string, unknown>) =>
  validateNoiseConfig({ unit: 'user.id', budget: { epsilon: 10, windowSeconds: 86400 }, fields });

/** The plan's noise distribution by the independent pmf formulas of the sampler tests. */
const pmfs = new WeakMap<FieldPlan, { v: number; pmf: (z: number) => number }>();
function pmfOf(p: FieldPlan): { v: number; pmf: (z: number) => number } {
  let r = pmfs.get(p);
  if (!r) {
    const v = p.laplace
      ? Number(p.laplace.t) / Number(p.laplace.s)
      : Number(p.sigma2!.num) / Number(p.sigma2!.den);
    r = { v, pmf: p.laplace ? laplacePmf(v) : gaussianPmf(v) }; // gaussianPmf normalises over ±40σ once
    pmfs.set(p, r);
  }
  return r;
}

/** P[|Z| ≤ k] summed from the pmf. */
function trueCoverage(p: FieldPlan, k: number): number {
  const { pmf } = pmfOf(p);
  let inner = pmf(0);
  for (let z = 1; z <= k; z++) inner += 2 * pmf(z);
  return inner;
}

function samplerOf(p: FieldPlan): Sampler {
  return p.laplace ? laplaceSampler(p.laplace.s, p.laplace.t) : gaussianSampler(p.sigma2!);
}

describe('the exact binomial test itself', () => {
  it('reproduces a textbook acceptance region: Binomial(20, 0.5) at α = 0.05 accepts 6..14', () => {
    // P[X ≤ 5] = 0.0207 ≤ 0.025 < P[X ≤ 6] = 0.0577 (any binomial table).
    expect(binomialAcceptance(20, 0.5, 0.05)).toEqual({ lo: 6, hi: 14 });
    expect(binomialMass(20, 0.5, 0, 5)).toBeCloseTo(0.020695, 6);
  });
});

// One stored value: the docs' and the demo's fields, a tiny Laplace scale where
// the discreteness shows (coverage well above 95%), and Gaussians on both sides
// of σ = 1, up to the docs' payment.amount (σ ≈ 136 000 grid steps).
const oneValueCases: [string, Record<string, unknown>][] = [
  ['laplace, docs latencyMs', { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 }],
  ['laplace, demo amount', { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 0.5 }],
  ['laplace, τ = 1.5 steps', { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 3, granularity: 1 }],
  [
    'gaussian, σ ≈ 0.54 steps',
    { mechanism: 'gaussian', epsilon: 10, delta: 0.01, lower: 0, upper: 1, granularity: 1 },
  ],
  [
    'gaussian, σ ≈ 13.6 steps',
    { mechanism: 'gaussian', epsilon: 2, delta: 1e-6, lower: 0, upper: 5, granularity: 1 },
  ],
  [
    'gaussian, docs payment.amount',
    { mechanism: 'gaussian', epsilon: 2, delta: 1e-6, lower: 0, upper: 500, granularity: 0.01 },
  ],
];

describe('one value: the stated 95% error', () => {
  for (const [name, spec] of oneValueCases) {
    const plan = planNoise(noiseConfig({ x: spec })).fields[0]!;
    it(`${name}: the bound is the smallest k with P[|Z| ≤ k] ≥ 95% under the exact pmf`, () => {
      const { v, pmf } = pmfOf(plan);
      const k = plan.errorSteps;
      const below = k === 0 ? 0 : trueCoverage(plan, k - 1); // P[|Z| ≤ k − 1]
      const at = trueCoverage(plan, k);
      expect(below).toBeLessThan(0.95);
      expect(at).toBeGreaterThanOrEqual(0.95);
      expect(plan.coverage).toBeCloseTo(at, 9);
      const range = Math.ceil(60 * (plan.laplace ? v : Math.sqrt(v))) + 10;
      if (range < 2_000_000) {
        const { variance } = moments(pmf, range);
        expect(plan.stdDev / plan.field.granularity).toBeCloseTo(Math.sqrt(variance), 6);
      }
      expect(plan.error).toBeCloseTo(k * plan.field.granularity, 9);
    });

    it(`${name}: 100 000 sampled values fall inside it as often as stated; a 0.9× scale's bound fails`, () => {
      const n = 100_000;
      const xs = draws(samplerOf(plan), seededRng(`plan-one-${name}`), n);
      expect(coverageHolds(insideCount(xs, plan.errorSteps), n, plan.coverage)).toBe(true);
      // The interval a planner that got the scale 10% too small would state.
      const wrong = plan.laplace
        ? laplaceAccuracy(plan.laplace.s * 10n, plan.laplace.t * 9n)
        : gaussianAccuracy({ num: plan.sigma2!.num * 81n, den: plan.sigma2!.den * 100n });
      if (wrong.bound === plan.errorSteps) return; // τ = 1.5 and σ < 1: too few steps to mis-scale
      // Power: the chance the test accepts the wrong bound, given what it truly covers, is below 1%.
      const { lo, hi } = binomialAcceptance(n, wrong.coverage);
      expect(binomialMass(n, trueCoverage(plan, wrong.bound), lo, hi)).toBeLessThan(0.01);
      expect(coverageHolds(insideCount(xs, wrong.bound), n, wrong.coverage)).toBe(false);
    });
  }

  it('the mis-scaled control is not vacuous: it changes the bound in four of the six cases', () => {
    const changed = oneValueCases.filter(([, spec]) => {
      const p = planNoise(noiseConfig({ x: spec })).fields[0]!;
      const w = p.laplace
        ? laplaceAccuracy(p.laplace.s * 10n, p.laplace.t * 9n)
        : gaussianAccuracy({ num: p.sigma2!.num * 81n, den: p.sigma2!.den * 100n });
      return w.bound !== p.errorSteps;
    });
    expect(changed.length).toBe(4);
  });
});

/**
 * Sums of N values, from one long stream of draws cut into blocks of N (the
 * blocks are independent). Each N is tested at its number of trials; the
 * mis-scaled bound uses the largest factor in {0.9, 0.8} for which the test
 * has ≥ 99% power (computed below), since 10 000-record sums come in few trials.
 */
function sumCase(name: string, spec: Record<string, unknown>, stream: number, sizes: number[]) {
  const plan = planNoise(noiseConfig({ x: spec })).fields[0]!;
  const g = plan.field.granularity;
  let drawn: Float64Array | undefined; // drawn by the first test that needs it, not at collection
  for (const records of sizes) {
    const agg = plan.aggregates.find((a) => a.records === records)!;
    it(`${name}: sums and means of ${records} values stay inside ±sum and ±mean 95% of the time`, () => {
      drawn ??= draws(samplerOf(plan), seededRng(`plan-sum-${name}`), stream);
      const xs = drawn;
      const trials = Math.floor(stream / records);
      let inSum = 0;
      let inMean = 0;
      const sums: number[] = [];
      for (let b = 0; b < trials; b++) {
        let s = 0;
        for (let i = b * records; i < (b + 1) * records; i++) s += xs[i]!;
        sums.push(s);
        if (Math.abs(s * g) <= agg.sum) inSum++;
        if (Math.abs((s * g) / records) <= agg.mean) inMean++;
      }
      expect(coverageHolds(inSum, trials, 0.95)).toBe(true);
      expect(coverageHolds(inMean, trials, 0.95)).toBe(true);

      // The control: the same test on bounds computed for a noise whose scale is off.
      const { lo, hi } = binomialAcceptance(trials, 0.95);
      const factor = [0.9, 0.8].find((f) => {
        const covered = 2 * normalCdf(f * Z_95) - 1; // what a bound f× too small covers
        return binomialMass(trials, covered, lo, hi) < 0.01;
      });
      expect(factor).toBeDefined();
      const variance = (plan.stdDev / g) ** 2;
      const wrong = sumBound(variance * factor! * factor!, records) * g;
      const inWrong = sums.filter((s) => Math.abs(s * g) <= wrong).length;
      expect(coverageHolds(inWrong, trials, 0.95)).toBe(false);
    });
  }
}

/** Standard normal CDF through erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7): only sizes the control's power. */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + z / 2);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

describe('sums and means over N records: the stated 95% errors', () => {
  sumCase(
    'laplace τ = 250',
    { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
    6_000_000,
    [100, 1000, 10_000],
  );
  sumCase(
    'gaussian σ ≈ 13.6',
    { mechanism: 'gaussian', epsilon: 2, delta: 1e-6, lower: 0, upper: 5, granularity: 0.5 },
    1_000_000,
    [100, 1000],
  );
});

describe('the plan describes the samplers the transform uses', () => {
  it('a seeded transform and the plan’s sampler give the same values from the same draws', () => {
    const config = noiseConfig({
      latencyMs: { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
      amount: { mechanism: 'gaussian', epsilon: 2, delta: 1e-6, lower: 0, upper: 500, granularity: 0.01 },
    });
    const [lat, amount] = planNoise(config).fields as [FieldPlan, FieldPlan];
    const t = buildNoiseTransform(config, {}, seededRng('same'));
    const rng = seededRng('same');
    const [sl, sa] = [samplerOf(lat), samplerOf(amount)];
    for (let i = 0; i < 500; i++) {
      const out = t.apply({ user: { id: `u${i}` }, latencyMs: 40, amount: 100 }) as Record<
        string,
        { value: number }
      >;
      expect(out.latencyMs!.value).toBe(40 + Number(sl(rng)));
      expect(out.amount!.value).toBe(Number(((10_000 + Number(sa(rng))) * 0.01).toFixed(2)));
    }
  });

  it('states the scales: Laplace τ = range/ε, Gaussian σ from (ε, δ), and values per window', () => {
    const p = planField(
      'lat',
      { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
      10,
    );
    expect(p.laplace).toEqual({ s: 1n, t: 250n });
    expect(p.scale).toBe(250);
    expect(p.perWindow).toBe(5);
    const q = planField(
      'amt',
      { mechanism: 'gaussian', epsilon: 2, delta: 1e-6, lower: 0, upper: 500, granularity: 0.01 },
      10,
    );
    const rho = (Math.sqrt(Math.log(1e6) + 2) - Math.sqrt(Math.log(1e6))) ** 2; // ≈ 0.06757
    expect(q.scale).toBeCloseTo(500 / Math.sqrt(2 * rho), 2); // σ = Δ/√(2ρ)
  });
});

describe('warnings and the startup line', () => {
  it('warns when one value’s error exceeds the range, and only then', () => {
    const wide = planField(
      'w',
      { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
      10,
    );
    expect(wide.error).toBeGreaterThan(500);
    expect(wide.warnings).toHaveLength(1);
    expect(wide.warnings[0]).toMatch(/exceeds the range \(500\).*mean of 1000 is within ±21\.9/);
    // ε = 4: τ = 125, one value ±374 < 500.
    const ok = planField('o', { mechanism: 'laplace', epsilon: 4, lower: 0, upper: 500, granularity: 1 }, 10);
    expect(ok.error).toBeLessThan(500);
    expect(ok.warnings).toEqual([]);
  });

  it('one line per field names the errors a reader needs', () => {
    const p = planField(
      'latencyMs',
      { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
      10,
    );
    expect(planLine(p)).toBe(
      'noise latencyMs: laplace ε=2 on [0, 500]: one value ±749, mean of 1000 ±21.9, of 10000 ±6.93 (95%); ' +
        'a single value is noise, read aggregates',
    );
  });

  it('past σ = 2^22 steps the Gaussian bound is the midpoint-rule quantile, one step from the exact sum at most', () => {
    const sigma = 2 ** 22 - 1;
    const exact = gaussianAccuracy({ num: BigInt(sigma) ** 2n, den: 1n });
    expect(exact.exact).toBe(true);
    expect(Math.abs(exact.bound - Math.ceil(Z_95 * sigma - 0.5))).toBeLessThanOrEqual(1);
    const approx = gaussianAccuracy({ num: BigInt(sigma + 2) ** 2n, den: 1n });
    expect(approx.exact).toBe(false);
    expect(approx.bound).toBe(Math.ceil(Z_95 * (sigma + 2) - 0.5));
  });
});

describe('the extremes validateNoiseConfig allows', () => {
  it('plans them in finite time with finite numbers', () => {
    const huge = 2 ** 40;
    for (const spec of [
      { mechanism: 'laplace', epsilon: 1e-6, lower: -huge, upper: huge, granularity: 1 },
      { mechanism: 'gaussian', epsilon: 1e-6, delta: 1e-12, lower: -huge, upper: huge, granularity: 1 },
      { mechanism: 'laplace', epsilon: 1000, lower: 0, upper: 1, granularity: 1 },
      { mechanism: 'gaussian', epsilon: 1000, delta: 0.5, lower: 0, upper: 1, granularity: 1 },
    ]) {
      const config = validateNoiseConfig({
        unit: 'user.id',
        budget: { epsilon: 1000, windowSeconds: 86400 },
        fields: { x: spec },
      });
      const p = planNoise(config).fields[0]!;
      for (const n of [p.scale, p.stdDev, p.error, p.coverage, ...p.aggregates.map((a) => a.mean)])
        expect(Number.isFinite(n), JSON.stringify(spec)).toBe(true);
      expect(p.coverage).toBeGreaterThanOrEqual(0.95);
    }
  });
});

describe('how far the sums are from normal', () => {
  it('the excess kurtosis matches the moments of the exact pmf', () => {
    for (const tau of [0.5, 1.5, 40]) {
      const { variance, m4 } = moments(laplacePmf(tau), Math.ceil(60 * tau) + 10);
      const s = 2n;
      const t = BigInt(tau * 2);
      expect(laplaceAccuracy(s, t).excessKurtosis).toBeCloseTo(m4 / variance ** 2 - 3, 6);
    }
    for (const sigma2 of [0.3, 0.8]) {
      const { variance, m4 } = moments(gaussianPmf(sigma2), 60);
      const acc = gaussianAccuracy({ num: BigInt(sigma2 * 10), den: 10n });
      expect(acc.excessKurtosis).toBeCloseTo(m4 / variance ** 2 - 3, 6);
    }
  });

  it('warns when the normal approximation of a sum of 100 is off by more than 1%', () => {
    const mostlyZero = planField(
      'z',
      { mechanism: 'laplace', epsilon: 8, lower: 0, upper: 1, granularity: 1 },
      10,
    );
    expect(mostlyZero.warnings.join('\n')).toMatch(
      /mostly 0 \(excess kurtosis \d+\).*fewer than \d+ records/,
    );
    const fine = planField('f', { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 3, granularity: 1 }, 10);
    expect(fine.warnings.join('\n')).not.toMatch(/kurtosis/);
  });
});
