import type Database from 'better-sqlite3';

// The per-unit ε budget. Amounts are integer micro-ε, spent by basic
// composition (the ε of every noised field adds up) within fixed windows
// window = ⌊now / windowMs⌋. The store is the truth; the tracker in front of it
// holds a bounded set of *leases* (CLOCK eviction): budget already marked spent in the store and
// handed out locally, so most records never touch SQLite. Because a lease is
// spent in the store before it is used, no number of processes sharing the file
// can overspend; the price is that a lease still held by one process is not
// available to another (given back on close and on eviction, lost on a crash).

/** Where budgets live. `take` must be atomic with respect to every other taker. */
export interface BudgetStore {
  /**
   * Takes `want` micro-ε (or what remains, if at least `need`) of unit's window
   * whose total is `limit`; returns the amount granted, 0 when less than `need` remains.
   */
  take(unit: string, window: number, need: number, want: number, limit: number): number;
  /** Returns unused micro-ε taken earlier by this process. */
  giveBack(unit: string, window: number, amount: number): void;
  /** Forgets windows before `window`; their budgets can no longer be spent. */
  prune(window: number): void;
}

const DDL = `
CREATE TABLE IF NOT EXISTS dp_budget (
  unit  TEXT NOT NULL,
  win   INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  PRIMARY KEY (unit, win)
) WITHOUT ROWID`;

/**
 * Budgets in the ledger file's `dp_budget` table (mutable, unlike `records`):
 * one row per (unit, window), `spent` in micro-ε including outstanding leases.
 * Every change runs in BEGIN IMMEDIATE, so writers in other processes queue on
 * SQLite's write lock instead of racing a read-modify-write.
 */
export class SqliteBudgetStore implements BudgetStore {
  readonly #db: Database.Database;
  readonly #take: (unit: string, win: number, need: number, want: number, limit: number) => number;
  readonly #giveBack: (unit: string, win: number, amount: number) => void;
  readonly #prune: (win: number) => void;

  /** @throws better-sqlite3 errors when the table cannot be created (read-only or busy file). */
  constructor(db: Database.Database) {
    this.#db = db;
    db.exec(DDL);
    const get = db.prepare('SELECT spent FROM dp_budget WHERE unit = ? AND win = ?').pluck();
    const put = db.prepare(
      'INSERT INTO dp_budget (unit, win, spent) VALUES (?, ?, ?) ON CONFLICT (unit, win) DO UPDATE SET spent = excluded.spent',
    );
    const sub = db.prepare('UPDATE dp_budget SET spent = max(0, spent - ?) WHERE unit = ? AND win = ?');
    const del = db.prepare('DELETE FROM dp_budget WHERE win < ?');
    const take = db.transaction((unit: string, win: number, need: number, want: number, limit: number) => {
      const raw = get.get(unit, win);
      // A hand-edited row of the wrong type counts as fully spent: fail closed.
      const spent =
        typeof raw === 'number' || typeof raw === 'bigint' ? Number(raw) : raw === undefined ? 0 : limit;
      const left = limit - spent;
      if (left < need) return 0;
      const grant = Math.min(left, want);
      put.run(unit, win, spent + grant);
      return grant;
    });
    this.#take = (...a) => take.immediate(...a);
    const giveBack = db.transaction((unit: string, win: number, amount: number) =>
      sub.run(amount, unit, win),
    );
    this.#giveBack = (...a) => void giveBack.immediate(...a);
    const prune = db.transaction((win: number) => del.run(win));
    this.#prune = (win) => void prune.immediate(win);
  }

  take(unit: string, window: number, need: number, want: number, limit: number): number {
    return this.#take(unit, window, need, want, limit);
  }

  giveBack(unit: string, window: number, amount: number): void {
    if (this.#db.open) this.#giveBack(unit, window, amount);
  }

  prune(window: number): void {
    this.#prune(window);
  }
}

/**
 * Per-process budgets for use without a ledger file. Bounded: when `maxEntries`
 * units are tracked in the current windows, a new unit is refused budget (its
 * fields are suppressed) rather than forgetting what another unit spent.
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly #windows = new Map<number, Map<string, number>>();
  readonly #maxEntries: number;
  #entries = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get entries(): number {
    return this.#entries;
  }

  take(unit: string, window: number, need: number, want: number, limit: number): number {
    let w = this.#windows.get(window);
    const spent = w?.get(unit);
    if (spent === undefined && this.#entries >= this.#maxEntries) return 0;
    const left = limit - (spent ?? 0);
    if (left < need) return 0;
    const grant = Math.min(left, want);
    if (!w) {
      w = new Map();
      this.#windows.set(window, w);
    }
    if (spent === undefined) this.#entries++;
    w.set(unit, (spent ?? 0) + grant);
    return grant;
  }

  giveBack(unit: string, window: number, amount: number): void {
    const w = this.#windows.get(window);
    const spent = w?.get(unit);
    if (w && spent !== undefined) w.set(unit, Math.max(0, spent - amount));
  }

  prune(window: number): void {
    for (const [win, m] of this.#windows) {
      if (win < window) {
        this.#entries -= m.size;
        this.#windows.delete(win);
      }
    }
  }
}

interface Lease {
  window: number;
  left: number;
  /** Used since the eviction hand last passed: gets a second chance (CLOCK). */
  hot: boolean;
}

export interface TrackerOptions {
  /** Budget per unit per window, micro-ε. */
  limit: number;
  windowMs: number;
  /** Leases held in memory at most (CLOCK eviction). */
  maxUnits: number;
  /** Micro-ε taken from the store at a time (at least the record's cost). */
  lease: number;
}

/** Fraction of a unit's window budget taken per store round trip. */
export const LEASE_FRACTION = 16;

/** Decides, record by record, whether a unit may spend `cost` micro-ε now. */
export class BudgetTracker {
  readonly #store: BudgetStore;
  readonly #o: TrackerOptions;
  // Insertion order is the CLOCK's circle: a hit only marks its lease hot
  // (reordering a Map on every record cost ~0.3 µs); eviction moves hot
  // leases to the back and evicts the first cold one.
  readonly #leases = new Map<string, Lease>();
  #window = Number.NEGATIVE_INFINITY;

  constructor(store: BudgetStore, options: TrackerOptions) {
    this.#store = store;
    this.#o = options;
  }

  /** Leases currently held in memory (≤ maxUnits). */
  get size(): number {
    return this.#leases.size;
  }

  /**
   * Spends `cost` micro-ε of `unit`'s budget for the window containing `nowMs`;
   * false (nothing spent) when the budget cannot cover it.
   * @throws whatever the store throws (e.g. SQLITE_BUSY); callers must fail closed.
   */
  spend(unit: string, nowMs: number, cost: number): boolean {
    const window = Math.floor(nowMs / this.#o.windowMs);
    if (window > this.#window) this.#advance(window);
    let lease = this.#leases.get(unit);
    if (lease === undefined || lease.window !== window) {
      if (lease) this.#leases.delete(unit); // an old window's lease is void
      // Hot from the start, like a hit: the lease being spent must survive this eviction pass.
      lease = { window, left: 0, hot: true };
      this.#leases.set(unit, lease);
    } else {
      lease.hot = true;
    }
    if (lease.left < cost) {
      const need = cost - lease.left;
      lease.left += this.#store.take(unit, window, need, Math.max(need, this.#o.lease), this.#o.limit);
    }
    if (this.#leases.size > this.#o.maxUnits) this.#evict();
    if (lease.left < cost) return false;
    lease.left -= cost;
    return true;
  }

  /** Gives every unused lease back to the store. The tracker stays usable. */
  close(): void {
    for (const [unit, l] of this.#leases)
      if (l.left > 0 && l.window === this.#window) this.#store.giveBack(unit, l.window, l.left);
    this.#leases.clear();
  }

  #advance(window: number): void {
    this.#window = window;
    // Keep the previous window: a writer whose clock lags slightly may still spend in it.
    this.#store.prune(window - 1);
  }

  #evict(): void {
    while (this.#leases.size > this.#o.maxUnits) {
      const [unit, l] = this.#leases.entries().next().value as [string, Lease];
      this.#leases.delete(unit);
      if (l.hot) {
        l.hot = false;
        this.#leases.set(unit, l);
        continue;
      }
      if (l.left > 0) this.#store.giveBack(unit, l.window, l.left);
    }
  }
}
