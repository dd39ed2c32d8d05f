import { describe, expect, it } from 'vitest';
import { coverageHolds } from './__tests__/binomial.js';
import { laplacePmf, moments, seededRng } from './__tests__/helpers.js';
import { coverage, run, stored, transform } from './__tests__/noised.js';
import { MAX_CACHED, MAX_DECLARATIONS, noisedAggregate, sumHalfWidth } from './aggregate.js';

// Issue 20 item 3: sums and means of values the real noise transform stored,
// with intervals from each record's declared noise. Coverage over many
// seeded trials must be what the interval states (exact two-sided binomial
// test, α = 0.001), and the same test on the same trials must reject an
// interval 0.8× too narrow (coverage ≈ 88%, far outside the acceptance region).

const LAPLACE = { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 100, granularity: 1 };
const GAUSS = { mechanism: 'gaussian', epsilon: 0.5, delta: 1e-6, lower: 0, upper: 50, granularity: 0.5 };
const COARSE = { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 1000, granularity: 10 };

describe('noised aggregates: stated 95% intervals cover 95% of the time', () => {
  const cases: [string, Record<string, unknown>[], number, number][] = [
    ['one Laplace value (exact pmf bound)', [LAPLACE], 1, 6000],
    ['one Gaussian value (exact pmf bound)', [GAUSS], 1, 6000],
    ['2 values, Laplace + Gaussian of different scales', [LAPLACE, GAUSS], 2, 6000],
    ['5 values, three declarations', [LAPLACE, GAUSS, COARSE], 5, 5000],
    ['60 values, three declarations', [LAPLACE, GAUSS, COARSE], 60, 2000],
  ];
  for (const [name, fields, n, trials] of cases) {
    it(`${name}: n = ${n}, ${trials} trials`, { timeout: 60_000 }, () => {
      const rng = seededRng(`aggregate-${name}`);
      const results = run(
        fields.map((f) => transform(f, rng)),
        n,
        trials,
        rng,
      );
      // An exact one-value bound covers its pmf's own coverage (≥ 95% by at most one step's mass).
      const stated = n === 1 ? undefined : 0.95;
      const c = coverage(results);
      expect(results.every((r) => r.method === (n === 1 ? 'exact' : 'normal+cornish-fisher'))).toBe(true);
      if (stated === undefined) {
        // P[|Z| ≤ bound] is in [0.95, 0.95 + one step's mass]: accept either end.
        const holds = [0.95, 0.951, 0.952, 0.953].some((p) => coverageHolds(c.sum, trials, p));
        expect(holds, `covered ${c.sum}/${trials}`).toBe(true);
      } else {
        expect(coverageHolds(c.sum, trials, stated), `covered ${c.sum}/${trials}`).toBe(true);
        expect(coverageHolds(c.mean, trials, stated), `mean covered ${c.mean}/${trials}`).toBe(true);
      }
      // The control: intervals 0.8× too narrow fail the same test on the same trials.
      const wrong = coverage(results, 0.8);
      expect(coverageHolds(wrong.sum, trials, 0.95), `0.8× covered ${wrong.sum}/${trials}`).toBe(false);
    });
  }
});

describe('noised aggregates: what is counted', () => {
  it('counts suppressed, skipped and hostile markers apart, and spends no ε', () => {
    const t = transform(LAPLACE, seededRng('agg-count'));
    const rows = [
      t.apply({ user: 'a', group: 'x', ms: 10 }),
      t.apply({ user: 'b', group: 'x', ms: 20 }),
      { user: 'c', group: 'x', ms: { dp: 'suppressed', reason: 'budget' } },
      { user: 'd', group: 'x', ms: 12 }, // a plain number: not noised, not summed
      { user: 'e', group: 'x' },
      // Hostile declarations: bounds a writer cannot produce, a huge grid, no value.
      { group: 'x', ms: { dp: 'laplace', value: 1, epsilon: 1, lower: 5, upper: 5, granularity: 1 } },
      {
        group: 'x',
        ms: { dp: 'laplace', value: 1, epsilon: 1, lower: 0, upper: 1e300, granularity: 1e-300 },
      },
      { group: 'x', ms: { dp: 'gaussian', value: 1, epsilon: 1, lower: 0, upper: 9, granularity: 1 } },
      { group: 'x', ms: { dp: 'laplace', epsilon: 1, lower: 0, upper: 9, granularity: 1 } },
      { group: 'y', ms: [1, 2] },
    ];
    const r = noisedAggregate(
      [...stored(rows), { seq: 99, ts: 0, entry: Buffer.from('[1'), chain: Buffer.alloc(32) }],
      {
        groupBy: 'group',
        field: 'ms',
        groups: ['x', 'y', 'z'],
      },
    );
    expect(r.epsilon).toBe(0);
    expect(r.invalid).toBe(4);
    expect(r.rejected).toEqual({ unreadable: 4, declarations: 0, offGrid: 0, outOfRange: 0, overflow: 0 });
    const [x, y, z] = r.groups;
    expect(x).toMatchObject({ group: 'x', n: 2, suppressed: 1, skipped: 2, epsilonRange: [1, 1] });
    expect(x!.meanError).toBeCloseTo(x!.sumError / 2, 12);
    expect(y).toMatchObject({ group: 'y', n: 0, skipped: 1, method: 'none' });
    expect(z).toMatchObject({ group: 'z', n: 0 });
    expect(y!.mean).toBeUndefined();
  });

  it('a hostile file gets at most MAX_DECLARATIONS Gaussian pmf passes; Laplace declarations (O(1) each) are never voided', () => {
    const gauss = Array.from({ length: MAX_DECLARATIONS + 44 }, (_, i) => ({
      group: 'g',
      ms: {
        dp: 'gaussian',
        value: 1,
        epsilon: 1 + i / 1000,
        delta: 1e-6,
        lower: 0,
        upper: 10,
        granularity: 1,
      },
    }));
    const laplace = Array.from({ length: MAX_DECLARATIONS + 44 }, (_, i) => ({
      group: 'l',
      ms: { dp: 'laplace', value: 1, epsilon: 1 + i / 1000, lower: 0, upper: 10, granularity: 1 },
    }));
    const r = noisedAggregate(stored([...gauss, ...laplace]), { groupBy: 'group', field: 'ms' });
    expect(r.groups.map((g) => [g.group, g.n])).toEqual([
      ['g', MAX_DECLARATIONS],
      ['l', MAX_DECLARATIONS + 44],
    ]);
    expect(r.invalid).toBe(44);
    expect(r.rejected.declarations).toBe(44);
  });

  it('past MAX_CACHED distinct declarations, uncached ones still get their own exact interval', {
    timeout: 60_000,
  }, () => {
    const fill = Array.from({ length: MAX_CACHED }, (_, i) => ({
      group: 'fill',
      ms: { dp: 'laplace', value: 0, epsilon: 1 + i / 1e5, lower: 0, upper: 10, granularity: 1 },
    }));
    // Two narrow declarations seen only after the cache is full: their sums need different bounds.
    const narrow = (epsilon: number, group: string) =>
      Array.from({ length: 3 }, () => ({
        group,
        ms: { dp: 'laplace', value: 0, epsilon, lower: 0, upper: 1, granularity: 1 },
      }));
    const rows = [...fill, ...narrow(5, 'a'), ...narrow(0.5, 'b')];
    const r = noisedAggregate(stored(rows), { groupBy: 'group', field: 'ms' });
    const [a, b] = r.groups; // 'a', 'b', 'fill'
    const alone = (eps: number) =>
      noisedAggregate(stored(narrow(eps, 'x')), { groupBy: 'group', field: 'ms' }).groups[0]!;
    expect(a).toMatchObject({ n: 3, method: alone(5).method, sumError: alone(5).sumError });
    expect(b).toMatchObject({ n: 3, method: alone(0.5).method, sumError: alone(0.5).sumError });
    expect(a!.sumError).not.toBe(b!.sumError);
  });

  it('the interval of a sum: normal at large n, Cornish–Fisher exact enough at n = 2, Chebyshev when the noise is mostly 0', () => {
    // 400 values of Laplace ε=1 on [0,100]: σ² ≈ 2·100², κ = 3/400: close to 1.96σ√400.
    const t = transform(LAPLACE, seededRng('agg-normal'));
    const rows = Array.from({ length: 400 }, (_, i) => t.apply({ user: `u${i}`, group: 'g', ms: 5 }));
    const [g] = noisedAggregate(stored(rows), { groupBy: 'group', field: 'ms' }).groups;
    const tau = 100;
    const p = Math.exp(-1 / tau);
    const sd = Math.sqrt((400 * 2 * p) / (1 - p) ** 2);
    // Cornish–Fisher × 1.001 (its higher-order terms) + half a grid step (continuity correction).
    expect(g!.method).toBe('normal+cornish-fisher');
    expect(g!.sumError / (1.959963984540054 * sd)).toBeGreaterThan(1.001);
    expect(g!.sumError / (1.959963984540054 * sd)).toBeLessThan(1.0015);
    // Two Laplace values of scale 100 steps, exactly (pmf convolution): the plain normal quantile
    // under-covers (≈ 94.1%), the Cornish–Fisher one covers 95% to within 0.1%.
    const pmf = laplacePmf(100);
    const r = 3000;
    const conv = new Float64Array(2 * r + 1);
    for (let i = -r; i <= r; i++)
      for (let j = -r; j <= r; j++) if (Math.abs(i + j) <= r) conv[i + j + r]! += pmf(i) * pmf(j);
    const { variance: v1, m4 } = moments(pmf, r);
    const inside = (w: number) => conv.reduce((acc, p, k) => (Math.abs(k - r) <= w ? acc + p : acc), 0);
    expect(inside(1.959963984540054 * Math.sqrt(2 * v1))).toBeLessThan(0.942);
    const cf = sumHalfWidth(2 * v1, 2 * (m4 - 3 * v1 * v1));
    expect(inside(cf)).toBeGreaterThanOrEqual(0.95);
    expect(inside(cf)).toBeLessThan(0.951);
    // A noise that is almost always 0 (κ huge): Cornish–Fisher would blow up; Chebyshev's √20·σ holds for any law.
    expect(sumHalfWidth(4, 1e6 * 16)).toBeCloseTo(Math.sqrt(20) * 2, 12);
  });
});
