import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chi2Critical,
  chiSquared,
  gaussianPmf,
  laplacePmf,
  moments,
  seededRng,
} from './__tests__/helpers.js';
import { belowBig, cryptoRng } from './rng.js';
import { bernoulliExp, discreteGaussian, discreteLaplace, isqrt, laplaceSampler } from './sample.js';

// Significance of every goodness-of-fit test below. With fixed seeds the
// outcome is deterministic; α says how unlucky a seed would have to be.
const ALPHA = 0.001;
const N = 100_000;

function draw(n: number, f: () => bigint): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Number(f());
  return out;
}

function sampleVariance(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x * x; // the mean is 0 by symmetry; testing E[Z²] is the variance claim
  return s / xs.length;
}

describe('chi-squared critical values', () => {
  it('match the published table (NIST/SEMATECH e-Handbook §1.3.6.7.4, upper 0.001)', () => {
    expect(chi2Critical(1, 0.001)).toBeCloseTo(10.828, 2);
    expect(chi2Critical(10, 0.001)).toBeCloseTo(29.588, 2);
    expect(chi2Critical(30, 0.001)).toBeCloseTo(59.703, 2);
    expect(chi2Critical(100, 0.001)).toBeCloseTo(149.449, 2);
  });
});

describe('bernoulliExp (CKS Algorithm 1)', () => {
  for (const [num, den] of [
    [3n, 10n],
    [27n, 10n],
    [123456789n, 100000000000n],
  ] as const) {
    it(`is Bernoulli(exp(-${num}/${den}))`, () => {
      const rng = seededRng(`bexp-${num}/${den}`);
      const p = Math.exp(-Number(num) / Number(den));
      let ones = 0;
      for (let i = 0; i < N; i++) if (bernoulliExp(rng, num, den)) ones++;
      const e1 = N * p;
      const e0 = N - e1;
      const stat = (ones - e1) ** 2 / e1 + (N - ones - e0) ** 2 / e0;
      expect(stat).toBeLessThan(chi2Critical(1, ALPHA));
    });
  }
});

// The first three take the number path (s, t < 2^26), the last the bigint path
// with the same scale as the first: both must give the same pmf.
const laplaceCases = [
  { name: 'scale 7/2', s: 2n, t: 7n },
  { name: 'scale 10000/4999 (large numerator)', s: 4999n, t: 10000n },
  { name: 'scale 40', s: 1n, t: 40n },
  { name: 'scale 7/2 as 7·2^27 / 2^28 (bigint path)', s: 1n << 28n, t: 7n << 27n },
];

describe('discreteLaplace (CKS Algorithm 2)', () => {
  for (const c of laplaceCases) {
    const tau = Number(c.t) / Number(c.s);
    const samples = draw(
      N,
      (() => {
        const rng = seededRng(`dlap-${c.name}`);
        return () => discreteLaplace(rng, c.s, c.t);
      })(),
    );

    it(`${c.name}: chi-squared goodness of fit at α = ${ALPHA}`, () => {
      const r = chiSquared(samples, laplacePmf(tau));
      expect(r.dof).toBeGreaterThan(3);
      expect(r.statistic).toBeLessThan(chi2Critical(r.dof, ALPHA));
    });

    it(`${c.name}: variance 2p/(1-p)^2 within 5 standard errors`, () => {
      const p = Math.exp(-1 / tau);
      const { variance, m4 } = moments(laplacePmf(tau), Math.ceil(60 * tau) + 10);
      expect(variance).toBeCloseTo((2 * p) / (1 - p) ** 2, 6);
      const se = Math.sqrt((m4 - variance * variance) / N);
      expect(Math.abs(sampleVariance(samples) - variance)).toBeLessThan(5 * se);
    });

    it(`${c.name}: negative control, a 15% larger scale fails the same test`, () => {
      const rng = seededRng(`dlap-wrong-${c.name}`);
      const wrong = draw(N, () => discreteLaplace(rng, c.s * 20n, c.t * 23n));
      const r = chiSquared(wrong, laplacePmf(tau));
      expect(r.statistic).toBeGreaterThan(chi2Critical(r.dof, ALPHA));
    });
  }
});

const gaussianCases = [
  { name: 'sigma^2 = 25/2', num: 25n, den: 2n },
  { name: 'sigma^2 = 0.7 (below 1)', num: 7n, den: 10n },
  { name: 'sigma^2 = 400.3 (2^20 denominator)', num: 419744973n, den: 1n << 20n },
];

describe('discreteGaussian (CKS Algorithm 3)', () => {
  for (const c of gaussianCases) {
    const sigma2 = Number(c.num) / Number(c.den);
    const samples = draw(
      N,
      (() => {
        const rng = seededRng(`dgauss-${c.name}`);
        return () => discreteGaussian(rng, { num: c.num, den: c.den });
      })(),
    );

    it(`${c.name}: chi-squared goodness of fit at α = ${ALPHA}`, () => {
      const r = chiSquared(samples, gaussianPmf(sigma2));
      expect(r.statistic).toBeLessThan(chi2Critical(r.dof, ALPHA));
    });

    it(`${c.name}: variance matches the exact pmf within 5 standard errors`, () => {
      const { variance, m4 } = moments(gaussianPmf(sigma2), Math.ceil(40 * Math.sqrt(sigma2)) + 10);
      const se = Math.sqrt((m4 - variance * variance) / N);
      expect(Math.abs(sampleVariance(samples) - variance)).toBeLessThan(5 * se);
    });

    it(`${c.name}: negative control, σ² 20% too large fails the same test`, () => {
      const rng = seededRng(`dgauss-wrong-${c.name}`);
      const wrong = draw(N, () => discreteGaussian(rng, { num: c.num * 6n, den: c.den * 5n }));
      const r = chiSquared(wrong, gaussianPmf(sigma2));
      expect(r.statistic).toBeGreaterThan(chi2Critical(r.dof, ALPHA));
    });
  }
});

describe('laplaceSampler', () => {
  it('returns numbers on the number path, and the same numbers discreteLaplace returns as bigints', () => {
    const a = seededRng('same-draws');
    const b = seededRng('same-draws');
    const fast = laplaceSampler(2n, 7n);
    for (let i = 0; i < 2000; i++) {
      const x = fast(a);
      expect(typeof x).toBe('number');
      expect(BigInt(x)).toBe(discreteLaplace(b, 2n, 7n));
    }
    expect(typeof laplaceSampler(1n << 28n, 7n << 27n)(a)).toBe('bigint');
  });

  it('rejects non-positive parameters', () => {
    expect(() => laplaceSampler(0n, 1n)).toThrow(RangeError);
    expect(() => laplaceSampler(1n, -1n)).toThrow(RangeError);
  });
});

describe('integer helpers', () => {
  it('isqrt is the floor square root', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 200n) - 1n }), (n) => {
        const r = isqrt(n);
        return r * r <= n && (r + 1n) * (r + 1n) > n;
      }),
    );
  });

  it('belowBig stays in range and is uniform across 10 buckets for n > 2^32', () => {
    const rng = seededRng('belowBig');
    const n = (1n << 40n) * 3n + 7n;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 50_000; i++) {
      const x = belowBig(rng, n);
      expect(x >= 0n && x < n).toBe(true);
      buckets[Number((x * 10n) / n)]!++;
    }
    const e = 5000;
    const stat = buckets.reduce((a, o) => a + (o - e) ** 2 / e, 0);
    expect(stat).toBeLessThan(chi2Critical(9, ALPHA));
  });

  it('cryptoRng rejects bounds it cannot serve and stays in range', () => {
    const rng = cryptoRng();
    expect(() => rng(0)).toThrow(RangeError);
    expect(() => rng(2 ** 32 + 1)).toThrow(RangeError);
    for (let i = 0; i < 5000; i++) {
      const x = rng(7);
      expect(Number.isInteger(x) && x >= 0 && x < 7).toBe(true);
    }
  });
});
