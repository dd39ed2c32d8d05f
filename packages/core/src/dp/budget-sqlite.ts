import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { BudgetStore, Settlement } from './budget.js';

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

const DDL = `
CREATE TABLE IF NOT EXISTS dp_budget (
  unit  TEXT NOT NULL,
  win   INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  PRIMARY KEY (unit, win)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dp_reserve (
  win    INTEGER NOT NULL,
  owner  TEXT NOT NULL,
  amount INTEGER NOT NULL,
  PRIMARY KEY (win, owner)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dp_reserve_done (
  win   INTEGER NOT NULL,
  owner TEXT NOT NULL,
  unit  TEXT NOT NULL,
  PRIMARY KEY (win, owner, unit)
) WITHOUT ROWID`;

/** Reservations together take at most this fraction (1/4) of a unit's window budget. */
export const RESERVE_SHARE = 4;

/** A stored amount as a number; a hand-edited value of another type reads as `bad` (fail closed). */
function amount(raw: unknown, bad: number): number {
  return typeof raw === 'number' || typeof raw === 'bigint' ? Number(raw) : bad;
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
  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(DDL);
    const get = db.prepare('SELECT spent FROM dp_budget WHERE unit = ? AND win = ?').pluck();
    this.#exists = db.prepare('SELECT 1 FROM dp_budget WHERE unit = ? AND win = ?').pluck();
    const put = db.prepare(
      'INSERT INTO dp_budget (unit, win, spent) VALUES (?, ?, ?) ON CONFLICT (unit, win) DO UPDATE SET spent = excluded.spent',
    );
    // Reservations of other writers that may still cover unwritten spending on this unit.
    const others = db
      .prepare(
        `SELECT r.amount FROM dp_reserve r WHERE r.win = ? AND r.owner <> ? AND NOT EXISTS
           (SELECT 1 FROM dp_reserve_done d WHERE d.win = r.win AND d.owner = r.owner AND d.unit = ?)`,
      )
      .pluck();
    const reserved = db.prepare('SELECT amount FROM dp_reserve WHERE win = ?').pluck();
    const addReserve = db.prepare('INSERT INTO dp_reserve (win, owner, amount) VALUES (?, ?, ?)');
    // Settling writes without reading first; a row of the wrong type is left as it is (it counts as fully spent).
    const add = db.prepare(
      `INSERT INTO dp_budget (unit, win, spent) VALUES (?, ?, ?) ON CONFLICT (unit, win) DO UPDATE SET
         spent = CASE WHEN typeof(spent) IN ('integer', 'real') THEN spent + excluded.spent ELSE spent END`,
    );
    const sub = db.prepare(
      `UPDATE dp_budget SET spent = max(0, spent - ?)
         WHERE unit = ? AND win = ? AND typeof(spent) IN ('integer', 'real')`,
    );
    const done = db.prepare('INSERT OR IGNORE INTO dp_reserve_done (win, owner, unit) VALUES (?, ?, ?)');
    const dropReserve = db.prepare('DELETE FROM dp_reserve WHERE win = ? AND owner = ?');
    const dropDone = db.prepare('DELETE FROM dp_reserve_done WHERE win = ? AND owner = ?');
    const prunes = ['dp_budget', 'dp_reserve', 'dp_reserve_done'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE win < ?`),
    );

    const take = db.transaction(
      (unit: string, win: number, need: number, want: number, limit: number, flush: number) => {
        const owner = this.#holding?.win === win ? this.#holding.owner : undefined;
        const raw = get.get(unit, win);
        const spent = (raw === undefined ? 0 : amount(raw, limit)) + flush;
        let room = 0;
        for (const r of others.all(win, owner ?? '', unit)) room += amount(r, limit);
        const left = limit - spent - room;
        const grant = left >= need ? Math.min(left, want) : 0;
        // A holder always leaves a row and marks the unit done: it never uses its reservation here again.
        if (owner !== undefined || grant > 0 || flush > 0) put.run(unit, win, spent + grant);
        if (owner !== undefined) done.run(win, owner, unit);
        return grant;
      },
    );
    this.#take = (...a) => take.immediate(...a);

    const settle = db.transaction((win: number, entries: readonly Settlement[], release: boolean) => {
      const owner = this.#holding?.win === win ? this.#holding.owner : undefined;
      for (const e of entries) {
        if (e.used > 0) {
          add.run(e.unit, win, e.used);
          if (owner !== undefined && !release) done.run(win, owner, e.unit);
        } else if (e.unused > 0) {
          sub.run(e.unused, e.unit, win);
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
