import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { type BudgetStore, REFUSED_LIFETIME, type Settlement } from './budget.js';
import { type Currency, EPS, SUFFIX } from './budget-accounting.js';

// ε budgets in the ledger file, shared by every process (and pool worker)
// writing it. Every change runs in BEGIN IMMEDIATE, so writers queue on
// SQLite's write lock instead of racing a read-modify-write.
//
// Reservations (issue 15, item 2: a new unit cost one transaction per record).
// A writer may reserve R micro-ε of *every* unit's budget in the current window
// (one row in dp_reserve). It then spends up to R on a unit it has never seen,
// without a transaction, provided the unit has no dp_budget row yet (a point
// read); what it spent is written to the unit's row later, many units per
// transaction. Why no one overspends:
//   - the writer uses its reservation only on units with no row when it looks,
//     after its reservation committed, so every take that ever touched such a
//     unit ran while the reservation was visible;
//   - every take leaves room for the reservations of other writers that are
//     not marked done for that unit (dp_reserve_done): whatever such a writer
//     spent on the unit without writing it (at most R) is inside that room;
//   - a writer marks a unit done only in the transaction that writes what it
//     spent there, and always leaves a row behind, so it never uses the
//     reservation on that unit again;
//   - a reservation is deleted only together with writing all it covered; a
//     writer that crashes or loses track keeps it until the window is pruned.
// Every writer sharing a file must run a sealog that knows reservations.
//
// Currencies and lifetime caps (issue 20, item 4; budget-accounting.ts). The ε
// tables keep the names and shapes they always had (old files work as they
// are); ρ has its own set with the suffix _rho. A lifetime cap keeps one row
// per unit in dp_lifetime(_rho), updated in the same transaction as the window
// row it limits; a writer with a cap takes no reservations (noise.ts), so every
// amount it spends went through such a transaction. The lifetime table is
// created on first use and seeded with what the window table still holds.

const ddl = (x: string) => `
CREATE TABLE IF NOT EXISTS dp_budget${x} (
  unit  TEXT NOT NULL,
  win   INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  PRIMARY KEY (unit, win)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dp_reserve${x} (
  win    INTEGER NOT NULL,
  owner  TEXT NOT NULL,
  amount INTEGER NOT NULL,
  PRIMARY KEY (win, owner)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dp_reserve_done${x} (
  win   INTEGER NOT NULL,
  owner TEXT NOT NULL,
  unit  TEXT NOT NULL,
  PRIMARY KEY (win, owner, unit)
) WITHOUT ROWID`;

// Every stored amount is attacker input (anyone who can write the file can plant
// a row): one that is not a whole number in [0, 2^53) counts as the whole budget
// spent, on reading (amount) and in every statement that updates it in place
// (VALID): a negative row lifted a unit's caps, and a give-back clamped at 0
// would have turned it into a fresh budget.
const VALID = (c: string) =>
  `(typeof(${c}) IN ('integer', 'real') AND ${c} >= 0 AND ${c} <= ${Number.MAX_SAFE_INTEGER} AND ${c} = round(${c}))`;

/** Creates dp_lifetime(x) unless it exists, seeded with the stored window spending (a bad row: the cap), in one write transaction. */
function ensureLifetime(db: Database.Database, x: string, cap: number): void {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
  if (has.get(`dp_lifetime${x}`) !== undefined) return;
  db.transaction(() => {
    if (has.get(`dp_lifetime${x}`) !== undefined) return; // another writer made it meanwhile
    db.exec(
      `CREATE TABLE dp_lifetime${x} (unit TEXT NOT NULL PRIMARY KEY, spent INTEGER NOT NULL) WITHOUT ROWID`,
    );
    db.prepare(
      `INSERT INTO dp_lifetime${x} (unit, spent) SELECT unit,
         min(@cap, total(CASE WHEN ${VALID('spent')} THEN spent ELSE @cap END)) FROM dp_budget${x} GROUP BY unit`,
    ).run({ cap });
  }).immediate();
}

/** Options of {@link SqliteBudgetStore}. */
export interface SqliteBudgetOptions {
  /** The budget kept: ε (default; tables dp_budget, …) or ρ (dp_budget_rho, …). */
  currency?: Currency;
  /** Lifetime cap per unit, in the currency's integer unit; undefined = none. */
  lifetime?: number;
}

/** Reservations together take at most this fraction (1/4) of a unit's window budget. */
export const RESERVE_SHARE = 4;

/** A stored amount as a number; anything but a whole number in [0, 2^53) reads as `bad` (fail closed). */
function amount(raw: unknown, bad: number): number {
  const n = typeof raw === 'number' || typeof raw === 'bigint' ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : bad;
}

/**
 * Budgets in the ledger file: `dp_budget` holds one row per (unit, window),
 * `spent` in micro-ε including outstanding leases; `dp_reserve` and
 * `dp_reserve_done` hold the writers' reservations (see above).
 */
export class SqliteBudgetStore implements BudgetStore {
  readonly #db: Database.Database;
  readonly #take: (
    unit: string,
    win: number,
    need: number,
    want: number,
    limit: number,
    flush: number,
  ) => number;
  readonly #settle: (win: number, entries: readonly Settlement[], release: boolean) => void;
  readonly #reserve: (win: number, amount: number, limit: number, owner: string) => boolean;
  readonly #prune: (win: number) => void;
  readonly #exists: Database.Statement;
  /** This store's reservation while it holds one: its window and owner id. */
  #holding: { win: number; owner: string } | undefined;

  /** @throws better-sqlite3 errors when the tables cannot be created (read-only or busy file). */
  constructor(db: Database.Database, options: SqliteBudgetOptions = {}) {
    this.#db = db;
    const x = SUFFIX[options.currency ?? EPS];
    const lifetime = options.lifetime;
    db.exec(ddl(x));
    if (lifetime !== undefined) ensureLifetime(db, x, lifetime);
    const life =
      lifetime === undefined
        ? undefined
        : {
            get: db.prepare(`SELECT spent FROM dp_lifetime${x} WHERE unit = ?`).pluck(),
            add: db.prepare(
              `INSERT INTO dp_lifetime${x} (unit, spent) VALUES (?, ?) ON CONFLICT (unit) DO UPDATE SET
                 spent = CASE WHEN ${VALID('spent')} THEN spent + excluded.spent ELSE spent END`,
            ),
            sub: db.prepare(
              `UPDATE dp_lifetime${x} SET spent = max(0, spent - ?) WHERE unit = ? AND ${VALID('spent')}`,
            ),
          };
    const get = db.prepare(`SELECT spent FROM dp_budget${x} WHERE unit = ? AND win = ?`).pluck();
    this.#exists = db.prepare(`SELECT 1 FROM dp_budget${x} WHERE unit = ? AND win = ?`).pluck();
    const put = db.prepare(
      `INSERT INTO dp_budget${x} (unit, win, spent) VALUES (?, ?, ?) ON CONFLICT (unit, win) DO UPDATE SET spent = excluded.spent`,
    );
    // Reservations of other writers that may still cover unwritten spending on this unit.
    const others = db
      .prepare(
        `SELECT r.amount FROM dp_reserve${x} r WHERE r.win = ? AND r.owner <> ? AND NOT EXISTS
           (SELECT 1 FROM dp_reserve_done${x} d WHERE d.win = r.win AND d.owner = r.owner AND d.unit = ?)`,
      )
      .pluck();
    const reserved = db.prepare(`SELECT amount FROM dp_reserve${x} WHERE win = ?`).pluck();
    const addReserve = db.prepare(`INSERT INTO dp_reserve${x} (win, owner, amount) VALUES (?, ?, ?)`);
    // Settling writes without reading first; a bad row is left as it is (it counts as fully spent).
    const add = db.prepare(
      `INSERT INTO dp_budget${x} (unit, win, spent) VALUES (?, ?, ?) ON CONFLICT (unit, win) DO UPDATE SET
         spent = CASE WHEN ${VALID('spent')} THEN spent + excluded.spent ELSE spent END`,
    );
    const sub = db.prepare(
      `UPDATE dp_budget${x} SET spent = max(0, spent - ?) WHERE unit = ? AND win = ? AND ${VALID('spent')}`,
    );
    const done = db.prepare(`INSERT OR IGNORE INTO dp_reserve_done${x} (win, owner, unit) VALUES (?, ?, ?)`);
    const dropReserve = db.prepare(`DELETE FROM dp_reserve${x} WHERE win = ? AND owner = ?`);
    const dropDone = db.prepare(`DELETE FROM dp_reserve_done${x} WHERE win = ? AND owner = ?`);
    const prunes = ['dp_budget', 'dp_reserve', 'dp_reserve_done'].map((t) =>
      db.prepare(`DELETE FROM ${t}${x} WHERE win < ?`),
    );

    const take = db.transaction(
      (unit: string, win: number, need: number, want: number, limit: number, flush: number) => {
        const owner = this.#holding?.win === win ? this.#holding.owner : undefined;
        const raw = get.get(unit, win);
        const spent = (raw === undefined ? 0 : amount(raw, limit)) + flush;
        let room = 0;
        for (const r of others.all(win, owner ?? '', unit)) room += amount(r, limit);
        let left = limit - spent - room;
        // The lifetime row counts what this unit spent in every window (and what it flushes now).
        const lr = life?.get.get(unit);
        const lifeSpent = lr === undefined ? 0 : amount(lr, lifetime as number);
        const lifeLeft = life ? (lifetime as number) - lifeSpent - flush - room : Number.POSITIVE_INFINITY;
        left = Math.min(left, lifeLeft);
        const grant = left >= need ? Math.min(left, want) : 0;
        // A holder always leaves a row and marks the unit done: it never uses its reservation here again.
        if (owner !== undefined || grant > 0 || flush > 0) put.run(unit, win, spent + grant);
        if (owner !== undefined) done.run(win, owner, unit);
        if (life && grant + flush > 0) life.add.run(unit, grant + flush);
        return grant === 0 && lifeLeft < need ? REFUSED_LIFETIME : grant;
      },
    );
    this.#take = (...a) => take.immediate(...a);

    const settle = db.transaction((win: number, entries: readonly Settlement[], release: boolean) => {
      const owner = this.#holding?.win === win ? this.#holding.owner : undefined;
      for (const e of entries) {
        if (e.used > 0) {
          add.run(e.unit, win, e.used);
          life?.add.run(e.unit, e.used);
          if (owner !== undefined && !release) done.run(win, owner, e.unit);
        } else if (e.unused > 0) {
          sub.run(e.unused, e.unit, win);
          life?.sub.run(e.unused, e.unit);
        }
      }
      if (release && owner !== undefined) {
        dropReserve.run(win, owner);
        dropDone.run(win, owner);
      }
    });
    this.#settle = (...a) => settle.immediate(...a);

    const reserve = db.transaction((win: number, amt: number, limit: number, owner: string) => {
      let total = 0;
      for (const r of reserved.all(win)) total += amount(r, limit);
      if (total + amt > Math.floor(limit / RESERVE_SHARE)) return false;
      addReserve.run(win, owner, amt);
      return true;
    });
    this.#reserve = (...a) => reserve.immediate(...a);

    const prune = db.transaction((win: number) => {
      for (const p of prunes) p.run(win);
    });
    this.#prune = (win) => void prune.immediate(win);
  }

  take(unit: string, window: number, need: number, want: number, limit: number, flush = 0): number {
    return this.#take(unit, window, need, want, limit, flush);
  }

  settle(window: number, entries: readonly Settlement[], release: boolean): void {
    if (!this.#db.open) return;
    this.#settle(window, entries, release);
    if (release) this.forget();
  }

  prune(window: number): void {
    this.#prune(window);
  }

  reserve(window: number, amount: number, limit: number): boolean {
    // A fresh owner id per reservation: one this store lost track of stays separate until pruned.
    const owner = randomBytes(9).toString('base64url');
    if (!this.#reserve(window, amount, limit, owner)) return false;
    this.#holding = { win: window, owner };
    return true;
  }

  isNew(unit: string, window: number): boolean {
    return this.#exists.get(unit, window) === undefined;
  }

  forget(): void {
    this.#holding = undefined;
  }
}
