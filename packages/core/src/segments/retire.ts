import type { SqliteStore } from '../store/sqlite.js';

/** How long a segment done with stays open (its connection's close copies and syncs its WAL). */
export const RETIRE_DELAY_MS = 200;

/**
 * Segments a writer is done with (sealed, or nothing to seal), closed soon, not
 * now: closing the last connection to a file copies its WAL into it and syncs
 * it, which must not stall the commit that rotated (store.ts).
 */
export class Retired {
  #stores: SqliteStore[] = [];
  #timer: NodeJS.Timeout | undefined;

  add(store: SqliteStore): void {
    this.#stores.push(store);
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const s of this.#stores.splice(0)) void s.close();
    }, RETIRE_DELAY_MS);
    this.#timer.unref();
  }

  /** No more closing on the timer: the writer is closing (it closes what `take()` returns itself). */
  stop(): void {
    clearTimeout(this.#timer);
  }

  /** The stores not closed yet, now the caller's. */
  take(): SqliteStore[] {
    return this.#stores.splice(0);
  }
}
