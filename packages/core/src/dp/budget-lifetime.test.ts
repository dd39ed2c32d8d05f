import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite.js';
import { seededRng } from './__tests__/helpers.js';
import { tempLedgers } from './__tests__/ledger.js';
import { GAUSS, LAP, lifetimeNoise } from './__tests__/lifetime.js';
import { BudgetTracker } from './budget.js';
import { epsilonOfRho, NANO, releases } from './budget-accounting.js';
import { SqliteBudgetStore } from './budget-sqlite.js';
import { rhoFor } from './calibrate.js';
import { validateNoiseConfig } from './config.js';
import { buildNoiseTransform } from './noise.js';

// zCDP accounting for Gaussian fields and the lifetime cap (issue 20, item 4).

const ledger = tempLedgers('life');

const DAY = 86_400_000;

/** Applies `n` records of one unit at time `at` and counts what happened to field `f`. */
function run(t: ReturnType<typeof buildNoiseTransform>, n: number, at: { ms: number }, f = 'g') {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = t.apply({ u: 'psn:k:a', g: 100, m: 5, keep: i }) as Record<string, unknown>;
    expect(r.keep).toBe(i); // the record is always logged
    const m = r[f] as { dp: string; reason?: string };
    const k = m.dp === 'suppressed' ? m.reason! : 'noised';
    out[k] = (out[k] ?? 0) + 1;
  }
  void at;
  return out;
}

describe('zCDP accounting for Gaussian fields', () => {
  it('budget.gaussian (ε 10, δ 1e-6) fits 20 values of an (ε 2, δ 1e-6) field per window; the ε sum fits 5', () => {
    const budget = { epsilon: 10, windowSeconds: 86400 };
    const zcdp = validateNoiseConfig({
      unit: 'u',
      budget: { ...budget, gaussian: { epsilon: 10, delta: 1e-6 } },
      fields: { g: GAUSS },
    });
    const legacy = validateNoiseConfig({ unit: 'u', budget, fields: { g: GAUSS } });
    expect(releases(zcdp, 'g')).toMatchObject({ currency: 'rho', perWindow: 20 });
    expect(releases(legacy, 'g')).toMatchObject({ currency: 'epsilon', each: 2, budget: 10, perWindow: 5 });
    for (const [cfg, n] of [
      [zcdp, 20],
      [legacy, 5],
    ] as const) {
      const t = buildNoiseTransform(cfg, { now: () => 0 }, seededRng('z'));
      expect(run(t, 30, { ms: 0 })).toEqual({ noised: n, budget: 30 - n });
    }
    // The spent ρ converts back within the (ε, δ) target: 20 · ρ(2, 1e-6) ≤ ρ(10, 1e-6).
    expect(20 * rhoFor(2, 1e-6)).toBeLessThanOrEqual(rhoFor(10, 1e-6));
    expect(21 * rhoFor(2, 1e-6)).toBeGreaterThan(rhoFor(10, 1e-6));
  });

  it('the numbers docs/differential-privacy.md "Accounting" gives', () => {
    const cfg = (e: number) =>
      validateNoiseConfig({
        unit: 'u',
        budget: { epsilon: 10, windowSeconds: 86400, gaussian: { epsilon: 10, delta: 1e-6 } },
        fields: { g: { ...GAUSS, epsilon: e } },
      });
    expect(rhoFor(10, 1e-6).toFixed(4)).toBe('1.3530');
    expect(
      [2, 1, 0.5].map((e) => [rhoFor(e, 1e-6).toPrecision(4), releases(cfg(e), 'g')?.perWindow]),
    ).toEqual([
      ['0.06757', 20],
      ['0.01747', 77],
      ['0.004444', 304],
    ]);
    const twenty = (20 * Math.ceil(rhoFor(2, 1e-6) * NANO)) / NANO;
    expect(twenty.toFixed(4)).toBe('1.3515');
    expect(epsilonOfRho(twenty, 1e-6).toFixed(3)).toBe('9.994');
    expect((30 * rhoFor(10, 1e-6)).toFixed(2)).toBe('40.59');
    expect(epsilonOfRho(30 * rhoFor(10, 1e-6), 1e-6).toFixed(2)).toBe('87.95');
    expect((20 / rhoFor(10, 1e-6)).toFixed(1)).toBe('14.8');
  });

  it('Laplace fields keep their pure-ε budget beside a ρ budget: each currency suppresses only its own fields', () => {
    const cfg = validateNoiseConfig({
      unit: 'u',
      budget: { epsilon: 1, windowSeconds: 86400, gaussian: { rho: 0.2 } },
      fields: { g: GAUSS, m: LAP },
    });
    const t = buildNoiseTransform(cfg, { now: () => 0 }, seededRng('mix'));
    // ρ per g value: rhoFor(2, 1e-6) ≈ 0.0676 → 2 fit in 0.2; ε 0.25 per m value → 4 fit in 1.
    const g: string[] = [];
    const m: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = t.apply({ u: 'psn:k:a', g: 1, m: 1 }) as Record<string, { dp: string }>;
      g.push(r.g!.dp);
      m.push(r.m!.dp);
    }
    expect(g).toEqual(['gaussian', 'gaussian', ...Array(4).fill('suppressed')]);
    expect(m).toEqual([...Array(4).fill('laplace'), 'suppressed', 'suppressed']);
  });

  it('config errors name the field', () => {
    const base = { unit: 'u', fields: { g: GAUSS } };
    const bad = (budget: unknown) => () => validateNoiseConfig({ ...base, budget });
    const w = { epsilon: 10, windowSeconds: 60 };
    expect(bad({ ...w, gaussian: { rho: 0.01 } })).toThrow(
      /privacy\.noise\.fields\.g costs ρ = 0\.06\d+ per value .* more than privacy\.noise\.budget\.gaussian allows/,
    );
    expect(bad({ ...w, gaussian: { rho: 1, epsilon: 1, delta: 1e-6 } })).toThrow(
      /privacy\.noise\.budget\.gaussian takes either "rho" or "epsilon" with "delta"/,
    );
    expect(bad({ ...w, gaussian: { epsilon: 1 } })).toThrow(
      /privacy\.noise\.budget\.gaussian\.delta is required/,
    );
    expect(bad({ ...w, gaussian: { rho: -1 } })).toThrow(/privacy\.noise\.budget\.gaussian\.rho must be in/);
    expect(bad({ ...w, gaussian: { rh: 1 } })).toThrow(
      /budget\.gaussian\.rh is not a known option; did you mean/,
    );
    expect(bad({ ...w, lifetime: {} })).toThrow(
      /privacy\.noise\.budget\.lifetime needs "epsilon", "gaussian"/,
    );
    expect(bad({ ...w, lifetime: { epsilon: 1 } })).toThrow(
      /privacy\.noise\.fields\.g\.epsilon \(2\) exceeds privacy\.noise\.budget\.lifetime\.epsilon \(1\)/,
    );
    expect(bad({ ...w, lifetime: { gaussian: { rho: 1 } } })).toThrow(
      /privacy\.noise\.budget\.lifetime\.gaussian needs budget\.gaussian/,
    );
    expect(bad({ ...w, gaussian: { rho: 1 }, lifetime: { gaussian: { rho: 0.05 } } })).toThrow(
      /more than privacy\.noise\.budget\.lifetime\.gaussian allows/,
    );
  });
});

describe('lifetime cap per unit', () => {
  const config = () => validateNoiseConfig(lifetimeNoise(86400));

  for (const backend of ['SQLite', 'memory'] as const) {
    it(`${backend}: windows spend until the cap, then the field is suppressed as budget-exhausted-lifetime, the record kept`, () => {
      const s = backend === 'SQLite' ? ledger() : undefined;
      const at = { ms: 0 };
      const t = buildNoiseTransform(
        config(),
        { ...(s ? { db: s.db } : {}), now: () => at.ms },
        seededRng('l'),
      );
      // ε: 4 of 0.25 per window, 10 in a lifetime of 2.5 → 4, 4, 2, 0.
      // ρ: 2 of 0.0676 per window (0.15), 4 in a lifetime of 0.3 → 2, 2, 0.
      const seen = [0, 1, 2, 3].map((w) => {
        at.ms = w * DAY;
        const out = { m: run(t, 6, at, 'm') };
        return out;
      });
      expect(seen.map((s) => s.m)).toEqual([
        { noised: 4, budget: 2 },
        { noised: 4, budget: 2 },
        { noised: 2, 'budget-exhausted-lifetime': 4 },
        { 'budget-exhausted-lifetime': 6 },
      ]);
      t.close();
      if (s) {
        const life = s.db.prepare('SELECT unit, spent FROM dp_lifetime').all();
        expect(life).toEqual([{ unit: 'psn:k:a', spent: 2_500_000 }]);
        s.close();
      }
    });
  }

  it('the Gaussian lifetime cap is kept in ρ (dp_lifetime_rho), apart from ε', () => {
    const s = ledger();
    const at = { ms: 0 };
    const t = buildNoiseTransform(config(), { db: s.db, now: () => at.ms }, seededRng('g'));
    const g = [0, 1, 2].map((w) => {
      at.ms = w * DAY;
      return run(t, 3, at, 'g');
    });
    // In window 1 the third value finds both the window and the lifetime spent: the lifetime is named.
    expect(g).toEqual([
      { noised: 2, budget: 1 },
      { noised: 2, 'budget-exhausted-lifetime': 1 },
      { 'budget-exhausted-lifetime': 3 },
    ]);
    t.close();
    const cost = Math.ceil(rhoFor(2, 1e-6) * NANO);
    expect(s.db.prepare('SELECT spent FROM dp_lifetime_rho').pluck().all()).toEqual([4 * cost]);
    s.close();
  });
});

describe('never overspent: trackers sharing one SQLite file, windows and a lifetime cap (property)', () => {
  const LIMIT = 1000;
  const LIFE = 1300;
  const opArb = fc.record({
    writer: fc.nat(2),
    unit: fc.constantFrom('psn:k:a', 'psn:k:b', 'psn:k:c'),
    /** Advances the shared clock by one window before this op. */
    tick: fc.nat(7).map((n) => n === 0),
    /** Writers' clocks may lag by up to one window (the previous window is kept for them). */
    lag: fc.nat(1),
    /** Or any window at all (a wild clock): only the lifetime cap is asserted then. */
    wild: fc.option(fc.nat(5), { freq: 6 }),
    cost: fc.integer({ min: 1, max: 400 }),
  });

  for (const wild of [false, true]) {
    it(`${wild ? 'arbitrary clocks: per unit ≤ lifetime' : 'clocks within a window: per window ≤ limit, per unit ≤ lifetime'}; the lifetime rows hold exactly what was granted after close`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), fc.nat(3), (ops, maxUnits) => {
          const db = new Database(':memory:');
          const trackers = [0, 1, 2].map(
            () =>
              new BudgetTracker(new SqliteBudgetStore(db, { lifetime: LIFE }), {
                limit: LIMIT,
                windowMs: 10,
                maxUnits: maxUnits + 1,
                lease: 150,
                reserve: 0,
              }),
          );
          const perWindow = new Map<string, number>();
          const perUnit = new Map<string, number>();
          let clock = 1;
          for (const o of ops) {
            if (o.tick) clock++;
            const window = wild ? (o.wild ?? clock - o.lag) : clock - o.lag;
            if (!trackers[o.writer]!.spend(o.unit, window * 10, o.cost)) continue;
            const k = `${o.unit}/${window}`;
            perWindow.set(k, (perWindow.get(k) ?? 0) + o.cost);
            perUnit.set(o.unit, (perUnit.get(o.unit) ?? 0) + o.cost);
          }
          for (const t of trackers) t.close();
          if (!wild) for (const v of perWindow.values()) expect(v).toBeLessThanOrEqual(LIMIT);
          for (const v of perUnit.values()) expect(v).toBeLessThanOrEqual(LIFE);
          // With every lease given back, the lifetime rows hold exactly what was granted.
          const rows = db.prepare('SELECT unit, spent FROM dp_lifetime').all() as {
            unit: string;
            spent: number;
          }[];
          for (const r of rows) expect(r.spent, r.unit).toBe(perUnit.get(r.unit) ?? 0);
          db.close();
        }),
        { numRuns: 200, seed: 20 },
      );
    });
  }
});

describe('a record of a window the writer already pruned', () => {
  it('is refused: its spending was deleted with the window, so a fresh budget there would overspend it', () => {
    const s = ledger();
    const t = new BudgetTracker(new SqliteBudgetStore(s.db), {
      limit: 1000,
      windowMs: 10,
      maxUnits: 10,
      lease: 100,
      reserve: 0,
    });
    let n = 0;
    while (t.spend('psn:k:a', 10, 100)) n++;
    expect(n).toBe(10); // window 1 spent
    expect(t.spend('psn:k:a', 30, 100)).toBe(true); // window 3: windows below 2 pruned
    expect(t.spend('psn:k:a', 10, 100)).toBe(false);
    expect(t.refusal).toBe('window');
    t.close();
    s.close();
  });
});

describe('an old-format budget file (before zCDP and lifetime caps)', () => {
  it('keeps its rows: spending carries on, the lifetime table is seeded from them, ρ gets its own tables', () => {
    const s = ledger();
    const file = s.db.name;
    s.close();
    // Exactly the tables an older sealog made, with spending in window 0.
    const old = new Database(file);
    old.exec(`DROP TABLE IF EXISTS dp_budget; DROP TABLE IF EXISTS dp_reserve; DROP TABLE IF EXISTS dp_reserve_done;
      CREATE TABLE dp_budget (unit TEXT NOT NULL, win INTEGER NOT NULL, spent INTEGER NOT NULL, PRIMARY KEY (unit, win)) WITHOUT ROWID;
      CREATE TABLE dp_reserve (win INTEGER NOT NULL, owner TEXT NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (win, owner)) WITHOUT ROWID;
      CREATE TABLE dp_reserve_done (win INTEGER NOT NULL, owner TEXT NOT NULL, unit TEXT NOT NULL, PRIMARY KEY (win, owner, unit)) WITHOUT ROWID;
      INSERT INTO dp_budget VALUES ('psn:k:a', 0, 750000), ('psn:k:b', 0, 250000)`);
    old.close();
    const db = new SqliteStore(file);
    const at = { ms: 0 };
    const t = buildNoiseTransform(
      validateNoiseConfig({
        unit: 'u',
        budget: { epsilon: 1, windowSeconds: 86400, lifetime: { epsilon: 1.5 }, gaussian: { rho: 1 } },
        fields: { m: LAP, g: GAUSS },
      }),
      { db: db.db, now: () => at.ms },
      seededRng('old'),
    );
    // a spent 0.75 of its 1 in window 0 under the old format: one more value.
    expect(run(t, 3, at, 'm')).toEqual({ noised: 1, budget: 2 });
    // Window 1: the lifetime (1.5, seeded with 0.75 + 0.25) leaves 0.5: two more values.
    at.ms = DAY;
    expect(run(t, 4, at, 'm')).toEqual({ noised: 2, 'budget-exhausted-lifetime': 2 });
    t.close();
    const life = db.db.prepare('SELECT unit, spent FROM dp_lifetime ORDER BY unit').all();
    expect(life).toEqual([
      { unit: 'psn:k:a', spent: 1_500_000 },
      { unit: 'psn:k:b', spent: 250_000 },
    ]);
    const tables = db.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'dp_%' ORDER BY 1")
      .pluck()
      .all();
    expect(tables).toEqual([
      'dp_budget',
      'dp_budget_rho',
      'dp_lifetime',
      'dp_reserve',
      'dp_reserve_done',
      'dp_reserve_done_rho',
      'dp_reserve_rho',
    ]);
    db.close();
  });
});
