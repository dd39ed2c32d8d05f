import { SealogError } from '../../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../../hash.js';
import { CompactRange } from '../../merkle.js';
import type { CommitResult, LedgerHead, LockedSeal, PendingEntry, SealSigner, Store } from '../types.js';
import {
  DEFAULT_PG_LOCK_TIMEOUT_MS,
  isConnectionError,
  type PgSession,
  type PgTarget,
  parsePgUrl,
  pgError,
  qualify,
  SessionSlot,
} from './connect.js';
import { assertPgLedger, ensurePgSchema, lockKey } from './schema.js';

export interface PgStoreOptions {
  /** How long a commit waits for another writer before failing and being retried (ms). */
  lockTimeoutMs?: number;
  /** false: open an existing ledger only (E_NOT_LEDGER when the schema has none). Default true. */
  create?: boolean;
}

interface StateRow {
  size: unknown;
  chain_head: unknown;
  compact: unknown;
}

/** A batch whose COMMIT was sent but never answered: it may or may not have committed. */
interface InDoubt {
  entries: readonly PendingEntry[];
  lastSeq: number;
  chain: Buffer;
  result: CommitResult;
}

/**
 * A ledger in PostgreSQL, shared by any number of writer processes on any hosts.
 * Each batch is one transaction that locks the single `ledger_state` row
 * (SELECT … FOR UPDATE): writers queue on that row lock, then extend the
 * sequence, chain and tree from the state they read, insert the batch with one
 * statement and move the state forward. So the sequence is gap-free and the
 * chain single, whoever writes. A dropped connection is reopened on the next
 * commit; a COMMIT whose answer was lost is resolved by looking for its last
 * chain value, so a retried batch is never stored twice.
 */
export class PgStore implements Store {
  readonly target: PgTarget;
  /** Appends (one at a time: the Ledger never overlaps commits). */
  readonly #writer: SessionSlot;
  /** Checkpoints and head reads, on their own connection so they never land inside an append's transaction. */
  readonly #sealer: SessionSlot;
  #range = new CompactRange();
  #chainHead: Buffer = ZERO_HASH;
  #inDoubt: InDoubt | undefined;
  /**
   * A batch found committed after its COMMIT answer was lost, while the rest of
   * the retried batch failed: the Ledger retries the same entries again, and
   * these must not be stored a second time.
   */
  #committed: { entries: readonly PendingEntry[]; result: CommitResult } | undefined;
  readonly #t: { records: string; state: string; checkpoints: string };

  private constructor(target: PgTarget, options: PgStoreOptions) {
    this.target = target;
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_PG_LOCK_TIMEOUT_MS;
    // A writer's statements are short (one batch insert) or wait on a lock bounded by
    // lock_timeout: anything slower than that plus a margin is a lost answer.
    const opts = { lockTimeoutMs, queryTimeoutMs: lockTimeoutMs + QUERY_MARGIN_MS };
    this.#writer = new SessionSlot(target, opts);
    this.#sealer = new SessionSlot(target, opts);
    this.#t = {
      records: qualify(target, 'records'),
      state: qualify(target, 'ledger_state'),
      checkpoints: qualify(target, 'checkpoints'),
    };
  }

  /**
   * Connects, creates the schema if the database has none, and checks the stored
   * head against the last record. @throws SealogError E_CONFIG / E_IO / E_NOT_LEDGER / E_STATE.
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const store = new PgStore(parsePgUrl(url), options);
    try {
      await store.#writer.use(async (s) => {
        if (options.create !== false) await ensurePgSchema(s, Date.now());
        await assertPgLedger(s);
        await store.#checkPrivileges(s);
        await store.#checkHead(s);
      });
    } catch (err) {
      await store.close();
      throw pgError(store.target, 'open', err);
    }
    return store;
  }

  get display(): string {
    return this.target.display;
  }

  #stateError(what: string): SealogError {
    return new SealogError('E_STATE', `ledger ${this.target.display}: ${what}`);
  }

  #decodeState(row: StateRow | undefined): { range: CompactRange; chainHead: Buffer } {
    if (!row || typeof row.size !== 'number' || row.size < 0 || !Buffer.isBuffer(row.chain_head)) {
      throw this.#stateError('the ledger_state row is missing or malformed');
    }
    if (row.chain_head.length !== HASH_SIZE) throw this.#stateError('the stored chain head is not 32 bytes');
    try {
      const compact = Buffer.isBuffer(row.compact) ? row.compact : Buffer.alloc(0);
      return { range: CompactRange.decode(row.size, compact), chainHead: row.chain_head };
    } catch {
      throw this.#stateError('the stored Merkle state does not match the stored size');
    }
  }

  /** A role that may only read (or nothing) fails at startup, not at its first commit. */
  async #checkPrivileges(s: PgSession): Promise<void> {
    const t = this.#t;
    const r = await s.query<{ ok: unknown; role: unknown }>(
      `SELECT current_user AS role, has_table_privilege($1, 'INSERT') AND has_table_privilege($2, 'INSERT')
         AND has_table_privilege($3, 'UPDATE') AS ok`,
      [t.records, t.checkpoints, t.state],
    );
    if (r.rows[0]?.ok !== true) {
      throw new SealogError(
        'E_CONFIG',
        `role ${JSON.stringify(r.rows[0]?.role)} may not append to ${this.target.display}: a writer needs INSERT on records and checkpoints and UPDATE on ledger_state (\`sealog init URL --writer ROLE\` grants them)`,
      );
    }
  }

  /** Reads state and last record in one snapshot and insists they agree (as SqliteStore does at open). */
  async #checkHead(s: PgSession): Promise<void> {
    try {
      await s.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const state = await s.query<StateRow>(
        `SELECT size, chain_head, compact FROM ${this.#t.state} WHERE id = 0`,
      );
      const last = await s.query<{ seq: unknown; chain: unknown }>(
        `SELECT seq, chain FROM ${this.#t.records} ORDER BY seq DESC LIMIT 1`,
      );
      await s.query('COMMIT');
      const decoded = this.#decodeState(state.rows[0]);
      const row = last.rows[0];
      const rowsSize = row && typeof row.seq === 'number' ? row.seq + 1 : 0;
      const lastChain = row ? row.chain : ZERO_HASH;
      if (
        rowsSize !== decoded.range.size ||
        !Buffer.isBuffer(lastChain) ||
        !lastChain.equals(decoded.chainHead)
      ) {
        throw this.#stateError(
          `the stored head (size ${decoded.range.size}) does not match the last record (size ${rowsSize}); ` +
            'the ledger was modified outside sealog or is damaged: run `sealog verify` on it',
        );
      }
      this.#range = decoded.range;
      this.#chainHead = decoded.chainHead;
    } catch (err) {
      await s.query('ROLLBACK').catch(() => {});
      throw err instanceof SealogError ? err : pgError(this.target, 'open', err);
    }
  }

  append(batch: readonly PendingEntry[]): Promise<CommitResult> {
    return this.#writer
      .use((s) => this.#append(s, batch))
      .catch((err) => {
        throw pgError(this.target, 'append to', err);
      });
  }

  async #append(s: PgSession, batch: readonly PendingEntry[]): Promise<CommitResult> {
    let todo = batch;
    let earlier: CommitResult | undefined;
    const done = this.#committed;
    if (done && startsWith(todo, done.entries)) {
      todo = todo.slice(done.entries.length);
      earlier = done.result;
    }
    if (this.#inDoubt) {
      const d = this.#inDoubt;
      const found = await this.#resolveInDoubt(s, todo);
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
    const result = await this.#appendTx(s, todo);
    this.#committed = undefined;
    return earlier ? { ...result, firstSeq: earlier.firstSeq } : result;
  }

  /**
   * After a lost COMMIT answer: the batch committed iff its last seq holds the chain we computed.
   * The old session may not have ended yet (its COMMIT can reach the server after we
   * reconnected), and it holds the ledger_state row lock until it does: so take that lock
   * first, and look only once the old transaction has committed or rolled back.
   */
  async #resolveInDoubt(s: PgSession, batch: readonly PendingEntry[]): Promise<CommitResult | undefined> {
    const d = this.#inDoubt!;
    let found: unknown;
    try {
      // The lost COMMIT's transaction holds this row lock until it commits or aborts:
      // taking it first means the lookup below sees that transaction's final outcome.
      await s.query(`BEGIN; SELECT 1 FROM ${this.#t.state} WHERE id = 0 FOR UPDATE`);
      found = (
        await s.query<{ chain: unknown }>(`SELECT chain FROM ${this.#t.records} WHERE seq = $1`, [d.lastSeq])
      ).rows[0]?.chain;
      await s.query('ROLLBACK');
    } catch (err) {
      if (!s.broken) await s.query('ROLLBACK').catch(() => {});
      throw pgError(this.target, 'append to', err);
    }
    const committed = Buffer.isBuffer(found) && found.equals(d.chain);
    // The ledger retries the same entry objects first; anything else cannot be matched up.
    return committed && d.entries.every((e, i) => batch[i] === e) ? d.result : undefined;
  }

  async #appendTx(s: PgSession, batch: readonly PendingEntry[]): Promise<CommitResult> {
    let commitSent = false;
    let pending: InDoubt | undefined;
    // Leaf hashes depend only on the entries: computed before the lock, so other writers
    // wait only for the chain step (one small hash per record) and the insert.
    const leaves = batch.map((p) => leafHash(p.entry));
    try {
      // One round trip opens the transaction and takes the sequencing lock.
      const res = (await s.query(
        `BEGIN; SELECT size, chain_head, compact FROM ${this.#t.state} WHERE id = 0 FOR UPDATE`,
      )) as unknown as { rows: StateRow[] }[];
      const row = res[1]?.rows[0];
      if (
        !row ||
        row.size !== this.#range.size ||
        !Buffer.isBuffer(row.chain_head) ||
        !row.chain_head.equals(this.#chainHead)
      ) {
        const st = this.#decodeState(row); // another writer appended since our last commit
        this.#range = st.range;
        this.#chainHead = st.chainHead;
      }
      const range = this.#range.clone();
      let chain = this.#chainHead;
      const firstSeq = range.size;
      const seqs = new Array<number>(batch.length);
      const tss = new Array<number>(batch.length);
      const entries = new Array<Buffer>(batch.length);
      const chains = new Array<Buffer>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const { entry, ts } = batch[i]!;
        const leaf = leaves[i]!;
        chain = chainHash(chain, leaf);
        seqs[i] = range.size;
        tss[i] = ts;
        entries[i] = entry;
        chains[i] = chain;
        range.append(leaf);
      }
      await s.query(
        `WITH ins AS (INSERT INTO ${this.#t.records} (seq, ts, entry, chain)
           SELECT * FROM unnest($1::int8[], $2::int8[], $3::bytea[], $4::bytea[]))
         UPDATE ${this.#t.state} SET size = $5, chain_head = $6, compact = $7 WHERE id = 0`,
        [seqs, tss, entries, chains, range.size, chain, range.encode()],
      );
      const result: CommitResult = { firstSeq, size: range.size, root: range.root(), chainHead: chain };
      pending = { entries: batch, lastSeq: range.size - 1, chain, result };
      commitSent = true;
      await s.query('COMMIT');
      this.#range = range;
      this.#chainHead = chain;
      return result;
    } catch (err) {
      if (commitSent) {
        // Whatever the error, the server may have committed (a FATAL such as 57P01 can
        // follow a local commit): the next append finds out. Resolution is always safe.
        this.#inDoubt = pending;
        await s.end();
      } else {
        if (!s.broken) await s.query('ROLLBACK').catch(() => {});
        if (isConnectionError(err)) await s.end();
      }
      throw pgError(this.target, 'append to', err);
    }
  }

  async head(): Promise<LedgerHead> {
    try {
      return await this.#sealer.use(async (s) => {
        const r = await s.query<StateRow>(
          `SELECT size, chain_head, compact FROM ${this.#t.state} WHERE id = 0`,
        );
        const st = this.#decodeState(r.rows[0]);
        return { size: st.range.size, root: st.range.root(), chainHead: st.chainHead };
      });
    } catch (err) {
      throw pgError(this.target, 'read the head of', err);
    }
  }

  async addCheckpoint(size: number, note: string, createdAt: number): Promise<void> {
    try {
      await this.#sealer.use((s) =>
        s.query(`INSERT INTO ${this.#t.checkpoints} (size, note, created_at) VALUES ($1, $2, $3)`, [
          size,
          note,
          createdAt,
        ]),
      );
    } catch (err) {
      throw pgError(this.target, 'store a checkpoint in', err);
    }
  }

  /** The newest stored checkpoint note, if any. */
  async lastCheckpointNote(): Promise<string | undefined> {
    try {
      const r = await this.#sealer.use((s) =>
        s.query<{ note: unknown }>(`SELECT note FROM ${this.#t.checkpoints} ORDER BY id DESC LIMIT 1`),
      );
      const note = r.rows[0]?.note;
      return typeof note === 'string' ? note : undefined;
    } catch (err) {
      throw pgError(this.target, 'read', err);
    }
  }

  /**
   * Signs the committed head while holding the ledger's checkpoint lock, so at most one
   * writer signs at a time. With `wait: false` it gives up when another writer holds the
   * lock (that writer is sealing now). A head already checkpointed in the last second by
   * another writer is not signed again.
   */
  async sealLocked(sign: SealSigner, options: { wait: boolean }): Promise<LockedSeal | undefined> {
    try {
      return await this.#sealer.use((s) => this.#sealTx(s, sign, options.wait));
    } catch (err) {
      throw pgError(this.target, 'store a checkpoint in', err);
    }
  }

  async #sealTx(s: PgSession, sign: SealSigner, wait: boolean): Promise<LockedSeal | undefined> {
    try {
      await s.query('BEGIN');
      const lock = wait ? 'pg_advisory_xact_lock' : 'pg_try_advisory_xact_lock';
      const got = await s.query<{ ok: unknown }>(
        `SELECT ${lock}(${lockKey(this.target, 'checkpoint')}) AS ok`,
      );
      if (!wait && got.rows[0]?.ok !== true) {
        await s.query('ROLLBACK');
        return undefined;
      }
      const st = this.#decodeState(
        (await s.query<StateRow>(`SELECT size, chain_head, compact FROM ${this.#t.state} WHERE id = 0`))
          .rows[0],
      );
      const head: LedgerHead = { size: st.range.size, root: st.range.root(), chainHead: st.chainHead };
      const latest = (
        await s.query<{ size: unknown; note: unknown; created_at: unknown }>(
          `SELECT size, note, created_at FROM ${this.#t.checkpoints} ORDER BY id DESC LIMIT 1`,
        )
      ).rows[0];
      const signed = sign(head);
      // Skip only a checkpoint of exactly this head (same signed body: origin, size,
      // root) stored moments ago. Every value in that row is untrusted: a forged row
      // with a huge size or a future time must not stop this writer from signing.
      const age = typeof latest?.created_at === 'number' ? signed.createdAt - latest.created_at : -1;
      if (
        latest &&
        typeof latest.note === 'string' &&
        latest.size === head.size &&
        age >= 0 &&
        age < RESIGN_AFTER_MS &&
        noteBody(latest.note) === noteBody(signed.note)
      ) {
        await s.query('ROLLBACK');
        return { size: head.size, note: latest.note, createdAt: signed.createdAt - age, fresh: false };
      }
      await s.query(`INSERT INTO ${this.#t.checkpoints} (size, note, created_at) VALUES ($1, $2, $3)`, [
        head.size,
        signed.note,
        signed.createdAt,
      ]);
      await s.query('COMMIT');
      return { size: head.size, note: signed.note, createdAt: signed.createdAt, fresh: true };
    } catch (err) {
      if (!s.broken) await s.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#writer.close(), this.#sealer.close()]);
  }
}

/** A writer's statement answered later than lock_timeout plus this is treated as lost. */
const QUERY_MARGIN_MS = 30_000;

/** Another writer's checkpoint of the same head younger than this is not signed again. */
const RESIGN_AFTER_MS = 1000;

/** The signed text of a note (before the blank line that starts its signatures). */
function noteBody(note: string): string {
  const end = note.indexOf('\n\n');
  return end < 0 ? '' : note.slice(0, end);
}

/** True when `batch` begins with exactly the entry objects of `prefix`. */
function startsWith(batch: readonly PendingEntry[], prefix: readonly PendingEntry[]): boolean {
  return prefix.length <= batch.length && prefix.every((e, i) => batch[i] === e);
}
