// The per-unit ε budget. Amounts are integer micro-ε, spent by basic
// composition (the ε of every noised field adds up) within fixed windows
// window = ⌊now / windowMs⌋. The store is the truth; the tracker in front of it
// holds a bounded set of *leases* (CLOCK eviction): budget the store already
// counts as spent, handed out locally, so most records never touch SQLite.
// Because a lease is counted in the store before it is used, no number of
// processes sharing the file can overspend; the price is that a lease still
// held by one process is not available to another (given back on close and on
// eviction, lost on a crash).
//
// A unit this process has not seen would still cost one store transaction for
// its first lease. With a store that supports reservations (budget-sqlite.ts),
// its first records are covered by a reservation taken once per window
// instead, and what they spent is written later, many units per transaction.

/** What one unit's lease leaves to write back: spent under the reservation, or a row lease's unused part. */
export interface Settlement {
  unit: string;
  /** Micro-ε spent under this process's reservation and not yet in the unit's row. */
  used: number;
  /** Micro-ε taken into a lease and not spent: given back. */
  unused: number;
}

/**
 * What a take returns when the unit's lifetime cap (not its window) has less
 * than `need` left: the unit's fields are suppressed as `budget-exhausted-lifetime`.
 */
export const REFUSED_LIFETIME = -1;

/** Why the last refused spend was refused. */
export type Refusal = 'window' | 'lifetime';

/**
 * Where budgets live. Each method must be atomic with respect to every other
 * writer; one that throws may still have been applied (a late answer), and the
 * tracker never repeats a give-back on that account. A store keeps one currency (budget-accounting.ts); amounts below
 * say micro-ε, read nano-ρ for a ρ store. A store made with a lifetime cap
 * counts every take and write-back in the unit's lifetime row in the same
 * atomic step, and refuses a take the cap cannot cover.
 */
export interface BudgetStore {
  /**
   * Takes `want` micro-ε (or what remains, if at least `need`) of unit's window
   * whose total is `limit`, after adding `flush` (spent under this process's
   * reservation) to what the unit has spent; returns the amount granted, 0
   * when less than `need` remains in the window, {@link REFUSED_LIFETIME}
   * when less than `need` remains of the unit's lifetime cap.
   */
  take(unit: string, window: number, need: number, want: number, limit: number, flush?: number): number;
  /**
   * Writes back every entry in one step; with `release`, also ends this
   * process's reservation of `window` (it then covers nothing unwritten).
   */
  settle(window: number, entries: readonly Settlement[], release: boolean): void;
  /** Forgets windows before `window`; their budgets can no longer be spent. */
  prune(window: number): void;
  /**
   * Optional: reserves `amount` of every unit's budget in `window` that has
   * no stored spending yet; false when refused (too much is reserved already).
   */
  reserve?(window: number, amount: number, limit: number): boolean;
  /** With `reserve`: true when `unit` has no stored spending in `window` yet. */
  isNew?(unit: string, window: number): boolean;
  /** With `reserve`: this process stops tracking its reservation; it stays, counted against everyone, until pruned. */
  forget?(): void;
}

/**
 * A {@link BudgetStore} whose steps run over a network (PostgreSQL,
 * budget-postgres.ts), without reservations. The record path is synchronous,
 * so the noise transform reaches it through budget-bridge.ts: each step is
 * waited for with a deadline, and a late or failed take spends nothing here.
 */
export interface AsyncBudgetStore {
  /** As {@link BudgetStore.take}, without `flush`. */
  take(unit: string, window: number, need: number, want: number, limit: number): Promise<number>;
  settle(window: number, entries: readonly Settlement[], release: boolean): Promise<void>;
  prune(window: number): Promise<void>;
  close(): Promise<void>;
}

interface Lease {
  /** Micro-ε this process may still spend for the unit in the current window. */
  left: number;
  /** Spent under the reservation and not yet written to the unit's row (0 for a row lease). */
  used: number;
  /** `left` comes from the reservation (nothing to give back), not from a take. */
  reserved: boolean;
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
  /** Micro-ε of every new unit's budget to reserve per window; 0 = never reserve. */
  reserve?: number;
}

/** Fraction of a unit's window budget taken per store round trip. */
export const LEASE_FRACTION = 16;
/** Evicted leases written back per transaction. */
export const SETTLE_BATCH = 256;
/** Evicted leases held unwritten at most (the store failing meanwhile); beyond it the reservation is given up. */
const MAX_PENDING = 4 * SETTLE_BATCH;
/** After a refused reservation, new units opened before asking again. */
const RESERVE_RETRY = 1024;

const settlement = (unit: string, l: Lease): Settlement => ({
  unit,
  used: l.used,
  unused: l.reserved ? 0 : l.left,
});
const owes = (l: Lease): boolean => l.used > 0 || (!l.reserved && l.left > 0);

/** Decides, record by record, whether a unit may spend `cost` micro-ε now. */
export class BudgetTracker {
  readonly #store: BudgetStore;
  readonly #o: TrackerOptions;
  readonly #reserveAmount: number;
  // Insertion order is the CLOCK's circle: a hit only marks its lease hot
  // (reordering a Map on every record cost ~0.3 µs); eviction moves hot
  // leases to the back and evicts the first cold one. Leases are for the
  // current window only.
  readonly #leases = new Map<string, Lease>();
  /** Evicted leases that still owe the store something, written SETTLE_BATCH at a time. */
  readonly #pending = new Map<string, Lease>();
  #window = Number.NEGATIVE_INFINITY;
  /** Holds a reservation for #window. */
  #reserved = false;
  /** New units to open before asking for a refused reservation again. */
  #retryIn = 0;
  /** Lost track of what the reservation covered (the store kept failing): not used again this window. */
  #gaveUp = false;
  #refusal: Refusal = 'window';

  constructor(store: BudgetStore, options: TrackerOptions) {
    this.#store = store;
    this.#o = options;
    this.#reserveAmount = store.reserve && store.isNew ? (options.reserve ?? 0) : 0;
  }

  /** Why the last spend that returned false was refused. */
  get refusal(): Refusal {
    return this.#refusal;
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
    // A window this writer pruned (a clock lagging by more than a window): its spending is gone, refuse.
    if (window < this.#window - 1) {
      this.#refusal = 'window';
      return false;
    }
    // A record of a window already left (a lagging clock): exactly its cost, straight from the store.
    if (window < this.#window)
      return this.#granted(this.#store.take(unit, window, cost, cost, this.#o.limit)) >= cost;
    let lease = this.#leases.get(unit);
    if (lease === undefined) {
      lease = this.#pending.get(unit);
      if (lease) this.#pending.delete(unit);
      else lease = this.#open(unit, cost);
      this.#leases.set(unit, lease);
    }
    // Hot, like every hit: the lease being spent must survive this eviction pass.
    lease.hot = true;
    if (lease.left < cost) this.#refill(unit, lease, cost);
    const granted = lease.left >= cost;
    if (granted) {
      lease.left -= cost;
      if (lease.reserved) lease.used += cost;
    }
    if (this.#leases.size > this.#o.maxUnits) this.#evict();
    return granted;
  }

  /**
   * Writes back every lease in one store step (spent under the reservation,
   * unused leases given back) and ends the reservation. The tracker stays usable.
   * @throws whatever the store throws; the reservation then stays until its window is pruned.
   */
  close(): void {
    this.#settleAll();
  }

  /** A take's answer as an amount (a lifetime refusal grants nothing), noting why it was refused. */
  #granted(amount: number): number {
    this.#refusal = amount === REFUSED_LIFETIME ? 'lifetime' : 'window';
    return Math.max(0, amount);
  }

  /** A lease for a unit not held in memory: from the reservation when the store has no spending for it yet. */
  #open(unit: string, cost: number): Lease {
    const store = this.#store;
    if (cost <= this.#reserveAmount && !this.#gaveUp && this.#pending.size < MAX_PENDING) {
      if (!this.#reserved && this.#retryIn-- <= 0) {
        try {
          this.#reserved = store.reserve?.(this.#window, this.#reserveAmount, this.#o.limit) ?? false;
        } catch {
          this.#reserved = false; // busy: take per unit meanwhile
        }
        if (!this.#reserved) this.#retryIn = RESERVE_RETRY;
      }
      if (this.#reserved && store.isNew?.(unit, this.#window)) {
        return { left: this.#reserveAmount, used: 0, reserved: true, hot: true };
      }
    }
    return { left: 0, used: 0, reserved: false, hot: true };
  }

  #refill(unit: string, lease: Lease, cost: number): void {
    const { limit } = this.#o;
    if (lease.reserved) {
      // The reservation cannot cover this record: write what it covered, lease from the row from now on.
      // A take that throws may have landed (and ended the reservation on this unit): spend none of it after.
      lease.left = 0;
      const grant = this.#granted(
        this.#store.take(unit, this.#window, cost, Math.max(cost, this.#o.lease), limit, lease.used),
      );
      lease.reserved = false;
      lease.used = 0;
      lease.left = grant;
    } else {
      const need = cost - lease.left;
      lease.left += this.#granted(
        this.#store.take(unit, this.#window, need, Math.max(need, this.#o.lease), limit),
      );
    }
  }

  #advance(window: number): void {
    try {
      this.#settleAll();
    } catch {
      // What the old window's reservation covered stays covered: it is kept until pruned.
    }
    this.#window = window;
    this.#gaveUp = false;
    this.#retryIn = 0;
    // Keep the previous window: a writer whose clock lags slightly may still spend in it.
    this.#store.prune(window - 1);
  }

  #settleAll(): void {
    const entries: Settlement[] = [];
    for (const m of [this.#leases, this.#pending])
      for (const [u, l] of m) if (owes(l)) entries.push(settlement(u, l));
    const reserved = this.#reserved && !this.#gaveUp;
    this.#leases.clear();
    this.#pending.clear();
    this.#reserved = false;
    try {
      if (entries.length > 0 || reserved) this.#store.settle(this.#window, entries, reserved);
    } catch (err) {
      this.#store.forget?.();
      throw err;
    }
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
      if (owes(l)) this.#pending.set(unit, l);
    }
    if (this.#pending.size >= SETTLE_BATCH) this.#flush();
  }

  /**
   * Writes evicted leases back in one store step. A step that threw may still
   * have been applied (the bridge stops waiting after 100 ms and the server
   * commits anyway), so nothing it carried is given back or spent twice (issue 20):
   * unused row leases are dropped, counted as spent (sent again, the same unused
   * part was subtracted again and the unit overspent); spending under the
   * reservation is kept to write again, which at worst counts it twice, but no
   * longer spent from (a write that landed ended the reservation on that unit).
   */
  #flush(): void {
    const entries = [...this.#pending].map(([u, l]) => settlement(u, l));
    try {
      this.#store.settle(this.#window, entries, false);
      this.#pending.clear();
    } catch {
      for (const [u, l] of this.#pending) {
        if (l.used > 0) l.left = 0;
        else this.#pending.delete(u);
      }
      if (this.#pending.size < MAX_PENDING) return; // written on a later eviction
      // Too much unwritten: drop it. The reservation keeps covering what was spent
      // under it, so it is never used or released again (and counts for this
      // process too); unused row leases are lost, counted as spent.
      this.#pending.clear();
      this.#gaveUp = true;
      this.#reserved = false;
      this.#store.forget?.();
    }
  }
}
