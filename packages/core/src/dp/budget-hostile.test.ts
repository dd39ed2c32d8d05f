import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../store/sqlite.js';
import { seededRng } from './__tests__/helpers.js';
import { tempLedgers } from './__tests__/ledger.js';
import { GAUSS, LAP } from './__tests__/lifetime.js';
import { SqliteBudgetStore } from './budget-sqlite.js';
import { validateNoiseConfig } from './config.js';
import { buildNoiseTransform } from './noise.js';

// Planted budget rows (issue 20): the budget tables are attacker input like
// every stored state. One dp_reserve row with amount −1e15 let a unit get 50
// noised values against a window budget and lifetime cap of 4: only wrong
// types failed closed. Now any amount that is not a whole number in [0, 2^53)
// counts as the whole budget spent, in every table of both currencies.

const ledger = tempLedgers('hostile');

const UNIT = 'psn:k:a';
const BAD = [-1e15, -1, 0.5, Number.POSITIVE_INFINITY];

/** ε 1 per window (four `m` values), ρ 0.15 (two `g` values); optionally the same as a lifetime cap. */
const noise = (lifetime: boolean) =>
  validateNoiseConfig({
    unit: 'u',
    budget: {
      epsilon: 1,
      windowSeconds: 86_400,
      gaussian: { rho: 0.15 },
      ...(lifetime ? { lifetime: { epsilon: 1, gaussian: { rho: 0.15 } } } : {}),
    },
    fields: { m: LAP, g: GAUSS },
  });

/** 20 records of UNIT; what happened to field `f`. */
function outcomes(s: SqliteStore, lifetime: boolean, f: 'm' | 'g'): Record<string, number> {
  const t = buildNoiseTransform(noise(lifetime), { db: s.db, now: () => 0 }, seededRng('h'));
  const out: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const m = (t.apply({ u: UNIT, m: 5, g: 100 }) as Record<string, { dp: string; reason?: string }>)[f]!;
    const k = m.dp === 'suppressed' ? m.reason! : 'noised';
    out[k] = (out[k] ?? 0) + 1;
  }
  t.close();
  return out;
}

/** Creates the tables (as a first writer would), then plants `sql` with the bad value. */
function planted(lifetime: boolean, sql: string, value: number): SqliteStore {
  const s = ledger();
  buildNoiseTransform(noise(lifetime), { db: s.db, now: () => 0 }, seededRng('p')).close();
  s.db.prepare(sql).run(value);
  return s;
}

describe('a planted budget amount that is negative, fractional or infinite fails closed', () => {
  for (const [x, f] of [
    ['', 'm'],
    ['_rho', 'g'],
  ] as const) {
    for (const lifetime of [false, true]) {
      for (const value of BAD) {
        const label = `${value}${lifetime ? ', under a lifetime cap' : ''}`;
        it(`dp_reserve${x} amount ${label}: nothing noised`, () => {
          const s = planted(
            lifetime,
            `INSERT INTO dp_reserve${x} (win, owner, amount) VALUES (0, 'x', ?)`,
            value,
          );
          // Under a cap, a take leaves the reservations' room in the lifetime too: refused there first.
          expect(outcomes(s, lifetime, f)).toEqual(
            lifetime ? { 'budget-exhausted-lifetime': 20 } : { budget: 20 },
          );
          s.close();
        });
        it(`dp_budget${x} spent ${label}: nothing noised`, () => {
          const s = planted(
            lifetime,
            `INSERT INTO dp_budget${x} (unit, win, spent) VALUES ('${UNIT}', 0, ?)`,
            value,
          );
          expect(outcomes(s, lifetime, f)).toEqual({ budget: 20 });
          s.close();
        });
      }
    }
    for (const value of BAD) {
      it(`dp_lifetime${x} spent ${value}: nothing noised (budget-exhausted-lifetime)`, () => {
        const s = planted(true, `INSERT INTO dp_lifetime${x} (unit, spent) VALUES ('${UNIT}', ?)`, value);
        expect(outcomes(s, true, f)).toEqual({ 'budget-exhausted-lifetime': 20 });
        s.close();
      });
      it(`a dp_budget${x} row of ${value} in an old window seeds the new lifetime table as the whole cap`, () => {
        const s = ledger();
        // Only the window tables exist (no lifetime cap yet), with a planted row of a past window.
        buildNoiseTransform(noise(false), { db: s.db, now: () => 0 }, seededRng('p')).close();
        s.db.prepare(`INSERT INTO dp_budget${x} (unit, win, spent) VALUES ('${UNIT}', -5, ?)`).run(value);
        expect(outcomes(s, true, f)).toEqual({ 'budget-exhausted-lifetime': 20 });
        s.close();
      });
    }
  }

  for (const value of BAD)
    it(`a give-back never turns a planted ${value} into a fresh budget (window and lifetime rows)`, () => {
      const s = ledger();
      const store = new SqliteBudgetStore(s.db, { lifetime: 100 });
      s.db.prepare(`INSERT INTO dp_budget (unit, win, spent) VALUES ('${UNIT}', 0, ?)`).run(value);
      s.db.prepare(`INSERT INTO dp_lifetime (unit, spent) VALUES ('${UNIT}', ?)`).run(value);
      store.settle(0, [{ unit: UNIT, used: 0, unused: 50 }], false);
      store.settle(0, [{ unit: 'psn:k:b', used: 7, unused: 0 }], false);
      expect(store.take(UNIT, 0, 1, 1, 100)).toBeLessThanOrEqual(0);
      s.db.prepare(`DELETE FROM dp_budget WHERE unit = '${UNIT}'`).run();
      expect(store.take(UNIT, 0, 1, 1, 100)).toBeLessThanOrEqual(0); // the lifetime row alone still refuses
      s.close();
    });
});
