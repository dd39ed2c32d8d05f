import { describe, expect, it } from 'vitest';
import { ALPHA, binomialUpperTail, coverageAtLeast } from './__tests__/binomial.js';
import { chi2Critical, seededRng } from './__tests__/helpers.js';
import { dpQuantile, Q_SCALE, quantileScore, rankError95, scaledLevel } from './quantile.js';
import type { Rng } from './rng.js';

// Issue 20 item 3: the exponential-mechanism quantile. (1) The exact sampler
// draws the EM distribution itself (chi-squared against the exact pmf).
// (2) The stated rank error holds with ≥ 95% probability (one-sided exact
// binomial: it is a guarantee for every data set, so coverage may be higher),
// and an error bar 3× too small fails on a data set built to expose it.
// (3) Empirical privacy: outputs on neighbouring data sets differ by at most
// e^ε per output (exact conditional binomial tests, Bonferroni), and the same
// check rejects the mechanism run with 3ε and with the noise removed.

const MICRO = 1_000_000;

function sample(xs: number[], q: number, lo: number, hi: number, eps: number, runs: number, rng: Rng) {
  const sorted = Float64Array.from(xs).sort();
  const qs = scaledLevel(q)!;
  const out = new Int32Array(runs);
  for (let i = 0; i < runs; i++) out[i] = dpQuantile(sorted, qs, lo, hi, Math.round(eps * MICRO), 1, rng);
  return out;
}

/** The exact EM pmf over lo..hi: ∝ exp(−ε·d(y)/2). */
function emPmf(xs: number[], q: number, lo: number, hi: number, eps: number): number[] {
  const sorted = Float64Array.from(xs).sort();
  const w: number[] = [];
  for (let y = lo; y <= hi; y++)
    w.push(Math.exp((-eps * quantileScore(sorted, scaledLevel(q)!, y)) / Q_SCALE / 2));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

/** d(y) in records for each output, and how many are within k. */
function within(xs: number[], q: number, out: Int32Array, k: number): number {
  const sorted = Float64Array.from(xs).sort();
  const qs = scaledLevel(q)!;
  let inside = 0;
  for (const y of out) if (quantileScore(sorted, qs, y) <= k * Q_SCALE) inside++;
  return inside;
}

describe('exponential-mechanism quantile: the sampler', () => {
  it('draws exactly the EM distribution (chi-squared at α = 0.001), and a 20% wrong ε is rejected', () => {
    const xs = [2, 4, 4, 6, 9, 12, 12, 12, 15];
    const runs = 60_000;
    const out = sample(xs, 0.5, 0, 19, 1, runs, seededRng('em-gof'));
    const counts = new Array(20).fill(0);
    for (const y of out) counts[y]++;
    const chi = (pmf: number[]) => {
      let stat = 0;
      let bins = 0;
      let poolObs = 0;
      let poolExp = 0;
      for (let y = 0; y < 20; y++) {
        const e = runs * pmf[y]!;
        if (e < 20) {
          poolObs += counts[y];
          poolExp += e;
          continue;
        }
        stat += (counts[y] - e) ** 2 / e;
        bins++;
      }
      if (poolExp > 0) {
        stat += (poolObs - poolExp) ** 2 / poolExp;
        bins++;
      }
      return stat <= chi2Critical(bins - 1, ALPHA);
    };
    expect(chi(emPmf(xs, 0.5, 0, 19, 1))).toBe(true);
    expect(chi(emPmf(xs, 0.5, 0, 19, 1.2))).toBe(false);
  });

  it('scores handle ties: every y between tied values is a median', () => {
    const xs = Float64Array.from([5, 5, 5, 5]);
    for (const y of [5]) expect(quantileScore(xs, scaledLevel(0.5)!, y)).toBe(0);
    expect(quantileScore(xs, scaledLevel(0.5)!, 4)).toBe(2 * Q_SCALE); // 0 below, 2 needed
    expect(quantileScore(xs, scaledLevel(0.5)!, 6)).toBe(2 * Q_SCALE); // 4 below, 2 wanted
    expect(scaledLevel(0.12345)).toBeUndefined();
    expect(scaledLevel(1.5)).toBeUndefined();
  });
});

describe('exponential-mechanism quantile: the stated 95% rank error', () => {
  const trials = 4000;
  it('holds on spread-out data for p50, p95, p99 (ε = 0.5)', { timeout: 60_000 }, () => {
    const rng = seededRng('em-spread');
    const xs = Array.from({ length: 300 }, () => rng(1000));
    const k = rankError95(1000, 0.5 * MICRO, 1);
    for (const q of [0.5, 0.95, 0.99]) {
      const inside = within(xs, q, sample(xs, q, 0, 999, 0.5, trials, rng), k);
      expect(coverageAtLeast(inside, trials, 0.95), `p${q * 100}: ${inside}/${trials}`).toBe(true);
    }
  });

  it('holds on a data set with a wide gap past the median, where k/3 fails', { timeout: 60_000 }, () => {
    // 59 values at 0..58, 41 at 9959..9999: every y in 59..9958 is 9 records from the median (c = 50).
    const xs = [
      ...Array.from({ length: 59 }, (_, i) => i),
      ...Array.from({ length: 41 }, (_, i) => 9959 + i),
    ];
    const k = rankError95(10_000, MICRO, 1);
    expect(k).toBe(Math.ceil(2 * Math.log(20 * 9999)));
    const out = sample(xs, 0.5, 0, 9999, 1, trials, seededRng('em-gap'));
    const inside = within(xs, 0.5, out, k);
    expect(coverageAtLeast(inside, trials, 0.95), `${inside}/${trials}`).toBe(true);
    const wrong = within(xs, 0.5, out, Math.floor(k / 3));
    expect(Math.floor(k / 3)).toBeLessThan(9);
    expect(coverageAtLeast(wrong, trials, 0.95), `k/3: ${wrong}/${trials}`).toBe(false);
  });
});

/**
 * The privacy check: for every output y with enough draws, given c0 + c1 = t
 * draws of y from the two data sets (equal runs), c1 ~ Binomial(t, π) with
 * π = p1/(p0 + p1) ≤ e^ε/(1 + e^ε) when p1 ≤ e^ε·p0. Reject when either
 * direction's upper tail is below α / (2 · outputs) (Bonferroni).
 */
function privacyHolds(a: Int32Array, b: Int32Array, size: number, eps: number): boolean {
  const ca = new Array(size).fill(0);
  const cb = new Array(size).fill(0);
  for (const y of a) ca[y]++;
  for (const y of b) cb[y]++;
  const pi = Math.exp(eps) / (1 + Math.exp(eps));
  const level = ALPHA / (2 * size);
  for (let y = 0; y < size; y++) {
    const t = ca[y] + cb[y];
    if (t === 0) continue;
    if (binomialUpperTail(t, pi, cb[y]) < level || binomialUpperTail(t, pi, ca[y]) < level) return false;
  }
  return true;
}

describe('exponential-mechanism quantile: empirical privacy on neighbouring data sets', () => {
  // Neighbours: one record added (the median's rank moves), and one record changed
  // (a 2 becomes 15, q = 0.95): the score moves by ≤ 1 either way (quantile.ts).
  const pairs: [string, number[], number[], number][] = [
    ['one record added', [3, 5, 7, 8, 11, 13], [3, 5, 7, 8, 11, 13, 14], 0.5],
    ['one record changed', [1, 1, 2, 2, 4, 4, 6, 14], [1, 1, 2, 4, 4, 6, 14, 15], 0.95],
  ];
  const runs = 30_000;
  const maxLogRatio = (a: number[], b: number[], q: number, e: number) => {
    const [p, r] = [emPmf(a, q, 0, 15, e), emPmf(b, q, 0, 15, e)];
    return Math.max(...p.map((x, i) => Math.abs(Math.log(x / r[i]!))));
  };

  it('the exact output laws are within e^ε; at 3ε the changed record moves one output by e^1.43 (what the control must find)', () => {
    for (const [, a, b, q] of pairs) expect(maxLogRatio(a, b, q, 1)).toBeLessThanOrEqual(1 + 1e-12);
    const [, a, b, q] = pairs[1]!;
    expect(maxLogRatio(a, b, q, 3)).toBeGreaterThan(1.4);
    expect(maxLogRatio(a, b, q, 1)).toBeCloseTo(0.585, 3); // the worst case's factor 2 is not reached here
  });

  for (const [name, a, b, q] of pairs) {
    it(`ε = 1, ${name}: every output's frequency ratio is within e^ε plus sampling error`, {
      timeout: 60_000,
    }, () => {
      const rng = seededRng(`em-privacy-${name}`);
      expect(privacyHolds(sample(a, q, 0, 15, 1, runs, rng), sample(b, q, 0, 15, 1, runs, rng), 16, 1)).toBe(
        true,
      );
    });
  }

  it('negative controls: the mechanism run with 3ε, or with no noise, fails the same check at ε = 1', () => {
    const rng = seededRng('em-privacy-control');
    const [, a, b, q] = pairs[1]!;
    expect(privacyHolds(sample(a, q, 0, 15, 3, runs, rng), sample(b, q, 0, 15, 3, runs, rng), 16, 1)).toBe(
      false,
    );
    // No noise: the exact lower median, every run.
    const [, c, d] = pairs[0]!;
    const exact = (xs: number[]) =>
      new Int32Array(runs).fill([...xs].sort((x, y) => x - y)[Math.ceil(xs.length / 2) - 1]!);
    expect(privacyHolds(exact(c), exact(d), 16, 1)).toBe(false);
  });
});
