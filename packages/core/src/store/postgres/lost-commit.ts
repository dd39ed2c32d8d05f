import type { CommitResult, PendingEntry } from '../types.js';
import { type PgSession, pgError, qualify } from './connect.js';

// A COMMIT whose answer never came (the connection dropped, a FATAL after a local
// commit) may or may not have committed. The Ledger retries the same batch; this
// finds out what the lost attempt stored, so no record is stored twice or lost.

/** A batch whose COMMIT was sent but never answered. */
export interface InDoubt {
  entries: readonly PendingEntry[];
  lastSeq: number;
  /** The chain value we computed for its last row. */
  chain: Buffer;
  result: CommitResult;
}

/** What one writer knows of its own lost COMMITs (one at a time: the Ledger never overlaps commits). */
export class LostCommits {
  #inDoubt: InDoubt | undefined;
  /**
   * A batch found committed after its COMMIT answer was lost, while the rest of
   * the retried batch failed: the Ledger retries the same entries again, and
   * these must not be stored a second time.
   */
  #committed: { entries: readonly PendingEntry[]; result: CommitResult } | undefined;

  /** The COMMIT of `batch` was sent and no answer came. */
  lost(batch: InDoubt): void {
    this.#inDoubt = batch;
  }

  /**
   * Appends `batch` with `commit`, leaving out the entries an earlier, lost COMMIT
   * is found to have stored; the result covers the whole batch.
   */
  async append(
    s: PgSession,
    batch: readonly PendingEntry[],
    commit: (todo: readonly PendingEntry[]) => Promise<CommitResult>,
  ): Promise<CommitResult> {
    let todo = batch;
    let earlier: CommitResult | undefined;
    const done = this.#committed;
    if (done && startsWith(todo, done.entries)) {
      todo = todo.slice(done.entries.length);
      earlier = done.result;
    }
    if (this.#inDoubt) {
      const d = this.#inDoubt;
      const found = await resolve(s, d, todo);
      this.#inDoubt = undefined;
      if (found) {
        todo = todo.slice(d.entries.length);
        earlier = earlier ? { ...found, firstSeq: earlier.firstSeq } : found;
        // Known committed from here on, whatever happens to the rest of this batch.
        this.#committed = { entries: batch.slice(0, batch.length - todo.length), result: earlier };
      }
    }
    if (todo.length === 0 && earlier) {
      this.#committed = undefined;
      return earlier;
    }
    const result = await commit(todo);
    this.#committed = undefined;
    return earlier ? { ...result, firstSeq: earlier.firstSeq } : result;
  }
}

/**
 * The lost batch committed iff its last seq holds the chain we computed. The old
 * session may not have ended yet (its COMMIT can reach the server after we
 * reconnected), and it holds the ledger_state row lock until it does: so take that
 * lock first, and look only once the old transaction has committed or rolled back.
 */
async function resolve(
  s: PgSession,
  d: InDoubt,
  batch: readonly PendingEntry[],
): Promise<CommitResult | undefined> {
  let found: unknown;
  try {
    await s.query(`BEGIN; SELECT 1 FROM ${qualify(s.target, 'ledger_state')} WHERE id = 0 FOR UPDATE`);
    found = (
      await s.query<{ chain: unknown }>(`SELECT chain FROM ${qualify(s.target, 'records')} WHERE seq = $1`, [
        d.lastSeq,
      ])
    ).rows[0]?.chain;
    await s.query('ROLLBACK');
  } catch (err) {
    if (!s.broken) await s.query('ROLLBACK').catch(() => {});
    throw pgError(s.target, 'append to', err);
  }
  const committed = Buffer.isBuffer(found) && found.equals(d.chain);
  // The ledger retries the same entry objects first; anything else cannot be matched up.
  return committed && d.entries.every((e, i) => batch[i] === e) ? d.result : undefined;
}

/** True when `batch` begins with exactly the entry objects of `prefix`. */
function startsWith(batch: readonly PendingEntry[], prefix: readonly PendingEntry[]): boolean {
  return prefix.length <= batch.length && prefix.every((e, i) => batch[i] === e);
}
