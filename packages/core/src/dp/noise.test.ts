import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../encode.js';
import { SqliteStore } from '../store/sqlite.js';
import { chi2Critical, chiSquared, gaussianPmf, laplacePmf, seededRng } from './__tests__/helpers.js';
import { gaussianSigma2 } from './calibrate.js';
import { validateNoiseConfig } from './config.js';
import { buildNoiseTransform, createNoiseTransform } from './noise.js';

const config = validateNoiseConfig({
  unit: 'user.id',
  budget: { epsilon: 10, windowSeconds: 86400 },
  fields: {
    latencyMs: { mechanism: 'laplace', epsilon: 0.5, lower: 0, upper: 5000, granularity: 1 },
    'payment.amount': {
      mechanism: 'gaussian',
      epsilon: 1,
      delta: 1e-6,
      lower: 0,
      upper: 1000,
      granularity: 0.01,
    },
  },
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('noise transform', () => {
  it('replaces each metric by a marker, leaves the input untouched and other fields shared', () => {
    const t = createNoiseTransform(config);
    const input = {
      user: { id: 'psn:k1:abc' },
      latencyMs: 1234,
      payment: { amount: 99.99, cur: 'EUR' },
      tags: [1],
    };
    const before = structuredClone(input);
    const out = t.apply(input);
    expect(input).toEqual(before);
    expect(out.tags).toBe(input.tags);
    expect(out.user).toBe(input.user);
    expect(out.latencyMs).toMatchObject({
      dp: 'laplace',
      epsilon: 0.5,
      lower: 0,
      upper: 5000,
      granularity: 1,
    });
    const amount = (out.payment as Record<string, unknown>).amount as Record<string, unknown>;
    expect(amount).toMatchObject({ dp: 'gaussian', epsilon: 1, delta: 1e-6, granularity: 0.01 });
    expect((out.payment as Record<string, unknown>).cur).toBe('EUR');
    const v = amount.value as number;
    expect(Number.isFinite(v)).toBe(true);
    expect(Math.abs(Math.round(v * 100) - v * 100)).toBeLessThan(1e-6); // on the 0.01 grid
  });

  it('records without any configured field pass through as the same object and spend nothing', () => {
    const t = createNoiseTransform(config);
    const r = { user: { id: 'psn:k1:abc' }, msg: 'hello' };
    expect(t.apply(r)).toBe(r);
    expect(t.cachedUnits).toBe(0);
  });

  it('suppresses non-numeric values instead of logging them', () => {
    const t = createNoiseTransform(config);
    const out = t.apply({ user: { id: 'u' }, latencyMs: '1234ms' });
    expect(out.latencyMs).toEqual({ dp: 'suppressed', reason: 'not-a-number' });
  });

  it('never lets a raw value into the encoded entry (property)', () => {
    const t = buildNoiseTransform(config, {}, seededRng('raw'));
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.string(), (raw, unit) => {
        // Odd sub-granularity fractions cannot survive snapping to the 0.01 / 1 grids.
        const x = Math.trunc(raw) + 0.123456789;
        const { json } = encodeRecord(t.apply({ user: { id: unit }, latencyMs: x, payment: { amount: x } }));
        return !json.includes(String(x)) && !json.includes('123456789');
      }),
    );
  });

  it('clamps before noising: values beyond the bounds are noised like the bound', () => {
    const cfg = validateNoiseConfig({
      unit: 'u',
      budget: { epsilon: 1000, windowSeconds: 60 },
      fields: { x: { mechanism: 'laplace', epsilon: 1000, lower: 0, upper: 10, granularity: 1 } },
    });
    // ε = 1000 with Δ = 10: scale 0.01, noise is 0 except with probability ~1e-43.
    const t = buildNoiseTransform(cfg, { now: () => 0 }, seededRng('clamp'));
    let now = 0;
    const t2 = buildNoiseTransform(cfg, { now: () => (now += 60_000) }, seededRng('clamp'));
    expect((t.apply({ u: 'a', x: 1e9 }).x as { value: number }).value).toBe(10);
    expect((t2.apply({ u: 'a', x: -5 }).x as { value: number }).value).toBe(0);
    expect((t2.apply({ u: 'a', x: 3.4 }).x as { value: number }).value).toBe(3);
  });
});

describe('noise distribution through the transform', () => {
  // The whole fast path (prepared samplers, number arithmetic, marker values)
  // must still add exactly the configured discrete noise: value − clamped input
  // fits the exact pmf (α = 0.001, fixed seeds).
  const N = 60_000;
  function noiseOf(field: Record<string, unknown>, raw: number, seed: string): number[] {
    const cfg = validateNoiseConfig({
      unit: 'u',
      budget: { epsilon: 1000, windowSeconds: 1 },
      fields: { x: field },
    });
    let now = 0;
    const t = buildNoiseTransform(cfg, { now: () => (now += 1000) }, seededRng(seed));
    const g = field.granularity as number;
    const out = new Array<number>(N);
    for (let i = 0; i < N; i++) {
      const v = (t.apply({ u: 'psn:k:a', x: raw }).x as { value: number }).value;
      out[i] = Math.round(v / g) - Math.round(raw / g);
    }
    return out;
  }

  it('laplace: Δ = 40 grid steps of 0.5, ε = 2 → scale 20', () => {
    const z = noiseOf(
      { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 20, granularity: 0.5 },
      7.5,
      'd-lap',
    );
    const r = chiSquared(z, laplacePmf(20));
    expect(r.dof).toBeGreaterThan(10);
    expect(r.statistic).toBeLessThan(chi2Critical(r.dof, 0.001));
  });

  it('gaussian: Δ = 10, ε = 1, δ = 1e-6, σ² as calibrated', () => {
    const field = { mechanism: 'gaussian', epsilon: 1, delta: 1e-6, lower: 0, upper: 10, granularity: 1 };
    const { num, den } = gaussianSigma2(100, 1, 1e-6);
    const z = noiseOf(field, 3, 'd-gauss');
    const r = chiSquared(z, gaussianPmf(Number(num) / Number(den)));
    expect(r.dof).toBeGreaterThan(10);
    expect(r.statistic).toBeLessThan(chi2Critical(r.dof, 0.001));
  });
});

describe('budget', () => {
  const small = validateNoiseConfig({
    unit: 'user.id',
    budget: { epsilon: 1, windowSeconds: 3600 },
    fields: { m: { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 100, granularity: 1 } },
  });

  function noisedCount(t: ReturnType<typeof createNoiseTransform>, unit: string, n: number): number {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const m = t.apply({ user: { id: unit }, m: 50 }).m as { dp: string; reason?: string };
      if (m.dp === 'laplace') ok++;
      else expect(m).toEqual({ dp: 'suppressed', reason: 'budget' });
    }
    return ok;
  }

  it('suppresses a unit once its window budget is spent, and refills in the next window', () => {
    let now = 0;
    const t = createNoiseTransform(small, { now: () => now });
    expect(noisedCount(t, 'psn:a', 10)).toBe(4); // 4 × 0.25 = 1
    expect(noisedCount(t, 'psn:b', 2)).toBe(2); // other units are independent
    now = 3_600_000;
    expect(noisedCount(t, 'psn:a', 10)).toBe(4);
  });

  it('treats records without a unit as one shared unknown unit', () => {
    const t = createNoiseTransform(small, { now: () => 0 });
    let ok = 0;
    for (let i = 0; i < 10; i++) if ((t.apply({ m: 1 }).m as { dp: string }).dp === 'laplace') ok++;
    expect(ok).toBe(4);
  });

  it('persists in the ledger file across reopen and is shared by two connections', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    dirs.push(dir);
    const file = path.join(dir, 'audit.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    const ta = createNoiseTransform(small, { db: a.db, now: () => 0 });
    const tb = createNoiseTransform(small, { db: b.db, now: () => 0 });
    // Interleave two writers on one unit: together they get exactly the budget.
    let ok = 0;
    for (let i = 0; i < 10; i++) ok += noisedCount(i % 2 ? ta : tb, 'psn:shared', 1);
    expect(ok).toBe(4);
    ta.close();
    tb.close();
    expect(noisedCount(createNoiseTransform(small, { db: a.db, now: () => 0 }), 'psn:x', 1)).toBe(1);
    a.close();
    b.close();
    const c = new SqliteStore(file);
    const tc = createNoiseTransform(small, { db: c.db, now: () => 0 });
    expect(noisedCount(tc, 'psn:shared', 3)).toBe(0);
    expect(noisedCount(tc, 'psn:x', 5)).toBe(3);
    tc.close();
    c.close();
  });

  it('gives unused leases back on close so a restarted writer can spend them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    dirs.push(dir);
    const s = new SqliteStore(path.join(dir, 'audit.db'));
    const cfg = validateNoiseConfig({ ...small, budget: { epsilon: 16, windowSeconds: 3600 } });
    const t1 = createNoiseTransform(cfg, { db: s.db, now: () => 0 });
    expect(noisedCount(t1, 'psn:a', 1)).toBe(1); // leases 1 ε (= 16/16), uses 0.25
    t1.close();
    const spent = s.db.prepare('SELECT spent FROM dp_budget WHERE unit = ?').pluck().get('psn:a');
    expect(spent).toBe(250_000);
    const t2 = createNoiseTransform(cfg, { db: s.db, now: () => 0 });
    expect(noisedCount(t2, 'psn:a', 100)).toBe(63);
    s.close();
  });

  it('keeps memory bounded and still enforces the budget after eviction', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    dirs.push(dir);
    const s = new SqliteStore(path.join(dir, 'audit.db'));
    const cfg = validateNoiseConfig({ ...small, budget: { epsilon: 1, windowSeconds: 3600, maxUnits: 50 } });
    const t = createNoiseTransform(cfg, { db: s.db, now: () => 0 });
    expect(noisedCount(t, 'psn:first', 4)).toBe(4);
    for (let i = 0; i < 5000; i++) t.apply({ user: { id: `psn:${i}` }, m: 1 });
    expect(t.cachedUnits).toBeLessThanOrEqual(50);
    expect(noisedCount(t, 'psn:first', 3)).toBe(0); // evicted from memory, not from the file
    s.close();
  });

  it('with room for one lease, units that take turns still get exactly their budget', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    dirs.push(dir);
    const s = new SqliteStore(path.join(dir, 'audit.db'));
    const cfg = validateNoiseConfig({ ...small, budget: { epsilon: 1, windowSeconds: 3600, maxUnits: 1 } });
    const t = createNoiseTransform(cfg, { db: s.db, now: () => 0 });
    const ok = { a: 0, b: 0 };
    // Two records per turn: the second is a hit, so the held lease is hot when the other unit arrives.
    for (let i = 0; i < 10; i++) for (const u of ['a', 'b'] as const) ok[u] += noisedCount(t, `psn:${u}`, 2);
    expect(ok).toEqual({ a: 4, b: 4 });
    expect(t.cachedUnits).toBe(1);
    t.close();
    const spent = s.db.prepare('SELECT unit, spent FROM dp_budget ORDER BY unit').all();
    expect(spent).toEqual([
      { unit: 'psn:a', spent: 1_000_000 },
      { unit: 'psn:b', spent: 1_000_000 },
    ]);
    s.close();
  });

  it('in memory, refuses new units rather than forgetting old ones when full', () => {
    const cfg = validateNoiseConfig({ ...small, budget: { epsilon: 1, windowSeconds: 3600, maxUnits: 10 } });
    const t = createNoiseTransform(cfg, { now: () => 0 });
    for (let i = 0; i < 10; i++) expect(noisedCount(t, `psn:${i}`, 4)).toBe(4);
    expect(noisedCount(t, 'psn:new', 1)).toBe(0);
    expect(noisedCount(t, 'psn:0', 1)).toBe(0);
    expect(t.cachedUnits).toBeLessThanOrEqual(10);
  });

  it('fails closed when the budget table is unavailable', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    dirs.push(dir);
    const s = new SqliteStore(path.join(dir, 'audit.db'));
    const t = createNoiseTransform(small, { db: s.db, now: () => 0 });
    s.db.exec('DROP TABLE dp_budget');
    expect(t.apply({ user: { id: 'psn:a' }, m: 42 }).m).toEqual({
      dp: 'suppressed',
      reason: 'budget-unavailable',
    });
    s.close();
  });
});
