import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../store/reader.js';
import { indexTime } from '../time.js';
import { seededRng } from './__tests__/helpers.js';
import { laplaceAccuracy } from './accuracy.js';
import { laplaceScale } from './calibrate.js';
import { rankError95 } from './quantile.js';
import { dpReport, selectionThreshold } from './report.js';

/** Rows as the writer stores them: objects carry their time (1000 + seq), ts is the entry's own time. */
function ledger(rows: unknown[]): StoredRecord[] {
  return rows.map((r, seq) => {
    const entry = Buffer.from(
      typeof r === 'string' ? r : JSON.stringify({ ...(r as object), time: 1000 + seq }),
    );
    return { seq, ts: indexTime(entry), entry, chain: Buffer.alloc(32) };
  });
}

function data(): unknown[] {
  const rows: unknown[] = [];
  for (let u = 0; u < 500; u++) rows.push({ user: `psn:k:${u}`, route: '/a', ms: 100 });
  for (let u = 0; u < 300; u++)
    rows.push({ user: `psn:k:b${u}`, route: '/b', ms: { dp: 'laplace', value: 200 } });
  rows.push({ user: 'psn:k:lonely', route: '/secret-admin-path', ms: 5 });
  return rows;
}

describe('dpReport', () => {
  it('releases large groups with accurate noisy counts and suppresses a one-unit group', () => {
    const r = dpReport(
      ledger(data()),
      { groupBy: 'route', unit: 'user', count: true, epsilon: 2, delta: 1e-6 },
      seededRng('rep1'),
    );
    expect(r.groups.map((g) => g.group)).toEqual(['/a', '/b']);
    const [a, b] = r.groups;
    expect(Math.abs(a!.count! - 500)).toBeLessThan(40);
    expect(Math.abs(b!.count! - 300)).toBeLessThan(40);
    expect(JSON.stringify(r)).not.toContain('secret-admin-path');
    expect(r.parameters.selection!.threshold).toBe(
      selectionThreshold(1, r.parameters.selection!.scale, 1e-6),
    );
    expect(r.parameters.selection!.threshold).toBeGreaterThan(10);
    for (const k of [
      'version',
      'groupBy',
      'privacyUnit',
      'epsilon',
      'delta',
      'parameters',
      'groups',
      'suppressedGroups',
    ]) {
      expect(r).toHaveProperty(k);
    }
    expect(r.epsilon).toBeLessThanOrEqual(2);
    expect(r.delta).toBe(1e-6);
    // Every released number carries its 95% bound: the exact discrete Laplace one, data-independent.
    const lap = (sens: number) =>
      laplaceAccuracy(
        ...(Object.values(laplaceScale(sens, Math.round(r.parameters.epsilonPerPart * 1e6))) as [
          bigint,
          bigint,
        ]),
      ).bound;
    expect(r.parameters.count!.error).toBe(lap(1));
    expect(r.suppressedGroupsError).toBe(lap(1));
  });

  it('the selection threshold bounds a lonely group release by δ', () => {
    // K = 1, scale b: P[1 + DLap(b) >= τ] = p^{τ-1}/(1+p) must be <= δ, and τ − 1 is the smallest such.
    for (const [k, b, d] of [
      [1, 2, 1e-6],
      [4, 8, 1e-9],
    ] as const) {
      const t = selectionThreshold(k, b, d);
      const p = Math.exp(-1 / b);
      expect((k * p ** (t - 1)) / (1 + p)).toBeLessThanOrEqual(d);
      expect((k * p ** (t - 2)) / (1 + p)).toBeGreaterThan(d);
    }
  });

  it('contribution bounding limits a heavy unit', () => {
    const rows = data();
    for (let i = 0; i < 5000; i++) rows.push({ user: 'psn:k:heavy', route: '/a', ms: 1e6 });
    for (let i = 0; i < 50; i++) rows.push({ user: 'psn:k:heavy', route: `/other${i}`, ms: 1 });
    const r = dpReport(
      ledger(rows),
      {
        groupBy: 'route',
        unit: 'user',
        count: true,
        sum: { field: 'ms', lower: 0, upper: 1000 },
        maxGroupsPerUnit: 1,
        maxRowsPerUnit: 3,
        groups: ['/a', '/b'],
        epsilon: 50,
      },
      seededRng('rep2'),
    );
    const a = r.groups.find((g) => g.group === '/a')!;
    // 500 light rows + at most 3 heavy rows; sums clamp 1e6 to 1000.
    expect(Math.abs(a.count! - 503)).toBeLessThan(5);
    expect(Math.abs(a.sum! - (500 * 100 + 3 * 1000))).toBeLessThan(2000);
    const b = r.groups.find((g) => g.group === '/b')!;
    expect(Math.abs(b.sum! - 300 * 200)).toBeLessThan(2000); // noise markers' values are summed
    expect(r.parameters.selection).toBeNull();
    expect(r.suppressedGroups).toBe(0);
    // Without bounding the heavy unit would have added 5000 rows.
    const loose = dpReport(
      ledger(rows),
      { groupBy: 'route', unit: 'user', maxRowsPerUnit: 10000, groups: ['/a'], epsilon: 50 },
      seededRng('rep3'),
    );
    expect(loose.groups[0]!.count!).toBeGreaterThan(5000);
  });

  it('declared groups are all reported, even absent ones; δ is refused', () => {
    const r = dpReport(
      ledger(data()),
      { groupBy: 'route', groups: ['/a', '/none'], epsilon: 1 },
      seededRng('rep4'),
    );
    expect(r.groups.map((g) => g.group)).toEqual(['/a', '/none']);
    expect(r.privacyUnit).toBe('(record)');
    expect(() => dpReport([], { groupBy: 'route', groups: ['/a'], epsilon: 1, delta: 1e-6 })).toThrow(
      /delta/,
    );
    expect(() => dpReport([], { groupBy: 'route', epsilon: 1 })).toThrow(/delta/);
    expect(() => dpReport([], { groupBy: 'route', epsilon: 0, delta: 1e-6 })).toThrow(/epsilon/);
  });

  it('skips hostile entries and applies the time range', () => {
    const rows = [...data(), 'not json', '[1,2]', '{"route":{"x":1}}', '\u0000\xff'];
    const r = dpReport(
      ledger(rows),
      { groupBy: 'route', unit: 'user', epsilon: 50, groups: ['/a', '/b'], from: 1000 + 500 },
      seededRng('rep5'),
    );
    expect(Math.abs(r.groups[0]!.count!)).toBeLessThan(5); // every /a row is before `from`
    expect(Math.abs(r.groups[1]!.count! - 300)).toBeLessThan(5);
  });

  it('quantiles: ε split over the levels and the K·R bound, error bars data-independent, errors named', () => {
    const rows: unknown[] = [];
    // /a: ms = 0..499 once each (one row per unit); /b: ms all 200 (ties).
    for (let u = 0; u < 500; u++) rows.push({ user: `a${u}`, route: '/a', ms: u });
    for (let u = 0; u < 300; u++)
      rows.push({ user: `b${u}`, route: '/b', ms: { dp: 'laplace', value: 200 } });
    const opts = {
      groupBy: 'route',
      unit: 'user',
      quantiles: { field: 'ms', lower: 0, upper: 999 },
      groups: ['/a', '/b'],
      epsilon: 3,
      maxGroupsPerUnit: 2,
      maxRowsPerUnit: 1,
    };
    const r = dpReport(ledger(rows), opts, seededRng('rep-q'));
    const q = r.parameters.quantiles!;
    expect(r.parameters.count).toBeNull(); // quantiles alone: no default count
    expect(q).toMatchObject({ method: 'exponential-mechanism', levels: [0.5, 0.95, 0.99], candidates: 1000 });
    expect(q.epsilonEach).toBe(1); // one part (declared groups, no count): 3 / 3 levels
    expect(q.rankError).toBe(rankError95(1000, 1_000_000, 2)); // K·R = 2 rows per unit across groups
    expect(r.epsilon).toBe(3);
    const [a, b] = r.groups;
    for (const [i, level] of [0.5, 0.95, 0.99].entries()) {
      const x = a!.quantiles![i]!;
      expect(x.level).toBe(level);
      expect(x.rankError).toBe(q.rankError);
      // The error bar is in ranks, not values: in /a, #{x < v} = v and #{x ≤ v} = v + 1 (capped at 500).
      // Past 499 every candidate has rank 500, so p95 may land far above 499 in value while
      // staying 25 ranks from 475 (within k = 40). Holds with ≥ 95%, in practice almost always here.
      const [below, atOrBelow] = [Math.min(x.value, 500), Math.min(x.value + 1, 500)];
      expect(below).toBeLessThanOrEqual(level * 500 + q.rankError);
      expect(atOrBelow).toBeGreaterThanOrEqual(level * 500 - q.rankError);
      // /b is all 200 (ties): 200 is every level's exact answer; a miss must stay within k ranks.
      const v = b!.quantiles![i]!.value;
      if (v !== 200) expect(v < 200 ? level * 300 : 300 - level * 300).toBeLessThanOrEqual(q.rankError);
    }
    const bad = (quantiles: object) => () => dpReport([], { ...opts, quantiles } as typeof opts);
    expect(bad({ field: 'ms', lower: 0, upper: 2 ** 21 })).toThrow(/coarser granularity/);
    expect(bad({ field: 'ms', lower: 0, upper: 10, levels: [0.123456] })).toThrow(/level 0.123456/);
    expect(bad({ field: 'ms', lower: 5, upper: 5 })).toThrow(/lower < upper/);
    expect(() => dpReport([], { ...opts, epsilon: 2e-6 })).toThrow(/quantile levels/);
  });
});
