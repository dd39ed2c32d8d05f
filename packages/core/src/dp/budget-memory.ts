import { type BudgetStore, REFUSED_LIFETIME, type Settlement } from './budget.js';

/**
 * Per-process budgets for use without a ledger file. Bounded: when `maxEntries`
 * units are tracked in the current windows (or, with a lifetime cap, in the
 * lifetime map), a new unit is refused budget (its fields are suppressed)
 * rather than forgetting what another unit spent. A lifetime cap here lasts
 * as long as the process.
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly #windows = new Map<number, Map<string, number>>();
  readonly #life: Map<string, number> | undefined;
  readonly #lifetime: number | undefined;
  readonly #maxEntries: number;
  #entries = 0;

  constructor(maxEntries: number, lifetime?: number) {
    this.#maxEntries = maxEntries;
    this.#lifetime = lifetime;
    this.#life = lifetime === undefined ? undefined : new Map();
  }

  get entries(): number {
    return this.#entries;
  }

  take(unit: string, window: number, need: number, want: number, limit: number): number {
    let w = this.#windows.get(window);
    const spent = w?.get(unit);
    if (spent === undefined && this.#entries >= this.#maxEntries) return 0;
    const life = this.#life?.get(unit);
    if (this.#life && life === undefined && this.#life.size >= this.#maxEntries) return 0;
    const lifeLeft = this.#lifetime === undefined ? Number.POSITIVE_INFINITY : this.#lifetime - (life ?? 0);
    if (lifeLeft < need) return REFUSED_LIFETIME;
    const left = Math.min(limit - (spent ?? 0), lifeLeft);
    if (left < need) return 0;
    const grant = Math.min(left, want);
    if (!w) {
      w = new Map();
      this.#windows.set(window, w);
    }
    if (spent === undefined) this.#entries++;
    w.set(unit, (spent ?? 0) + grant);
    this.#life?.set(unit, (life ?? 0) + grant);
    return grant;
  }

  settle(window: number, entries: readonly Settlement[]): void {
    const w = this.#windows.get(window);
    if (!w) return;
    for (const e of entries) {
      const spent = w.get(e.unit);
      if (spent === undefined || e.unused <= 0) continue;
      w.set(e.unit, Math.max(0, spent - e.unused));
      const life = this.#life?.get(e.unit);
      if (life !== undefined) this.#life?.set(e.unit, Math.max(0, life - e.unused));
    }
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
