import { ChainState } from '../../chain/state.js';
import { SealogError } from '../../errors.js';
import { chainHash, leafHash, ZERO_HASH } from '../../hash.js';
import { leavesOf } from '../leaves.js';
import type {
  CommitResult,
  LedgerHead,
  LockedSeal,
  PendingEntry,
  SealSigner,
  Store,
  WriterTrust,
} from '../types.js';
import { insertCheckpoint, insertTimestamp, newestCheckpoint, sealedAlready } from './checkpoint-rows.js';
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
import { type InDoubt, LostCommits } from './lost-commit.js';
import {
  assertPgLedger,
  ensurePgSchema,
  ensureResumeColumns,
  ensureTimestampTable,
  lockKey,
} from './schema.js';
import {
  derivationFrom,
  deriveFromStart,
  feedRows,
  rederiveAfterPrune,
  storedHead,
  tailStart,
} from './writer-derive.js';

export interface PgStoreOptions {
  /** How long a commit waits for another writer before failing and being retried (ms). */
  lockTimeoutMs?: number;
  /** false: open an existing ledger only (E_NOT_LEDGER when the schema has none). Default true. */
  create?: boolean;
  /** A signing writer's trust root: see SqliteStoreOptions.trust. */
  trust?: WriterTrust;
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
  /** Derived by hashing entries here: never read back from ledger_state. */
  #state = new ChainState();
  readonly #trust: WriterTrust | undefined;
  #divergence: SealogError | undefined;
  /** The ledger could not be derived: records go after its highest seq, chained on its last row. */
  #tail = false;
  /** The checkpoints table has chain_head/compact (see ensureResumeColumns). */
  #hasResume = false;
  readonly #lost = new LostCommits();
  readonly #t: { records: string; state: string; checkpoints: string };

  private constructor(target: PgTarget, options: PgStoreOptions) {
    this.target = target;
    this.#trust = options.trust;
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
        store.#hasResume = await ensureResumeColumns(s);
        await ensureTimestampTable(s); // else addTimestamp says how to add it
        await store.#start(s);
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

  /**
   * The start state, in one snapshot: a signing writer derives it (chain/derive.ts:
   * the newest checkpoint its key signed, else row 0, then every later row hashed
   * here); a writer without a key adopts the stored head after checking it against
   * the last record, as SqliteStore does.
   */
  async #start(s: PgSession): Promise<void> {
    try {
      await s.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      this.#state = this.#trust ? await this.#derive(s, this.#trust) : await this.#adopt(s, true);
      await s.query('COMMIT');
    } catch (err) {
      await s.query('ROLLBACK').catch(() => {});
      throw err instanceof SealogError ? err : pgError(this.target, 'open', err);
    }
  }

  async #derive(s: PgSession, trust: WriterTrust): Promise<ChainState> {
    const derived = await deriveFromStart(s, trust, this.#hasResume);
    if (derived instanceof ChainState) return derived;
    this.#diverged(derived);
    return this.#adopt(s, false);
  }

  /**
   * A state to chain on when nothing is to be signed. `strict` (a writer without a
   * key, at open): the stored head must agree with the last record (E_STATE).
   * Otherwise (after a divergence) the rows are rehashed when it does not.
   */
  async #adopt(s: PgSession, strict: boolean): Promise<ChainState> {
    const { decoded, error, rowsSize, agrees } = await storedHead(s);
    if (!decoded && strict) throw this.#stateError('the ledger_state row is missing or malformed', error);
    if (decoded && agrees) return decoded;
    if (strict) {
      throw this.#stateError(
        `the stored head (size ${decoded?.size}) does not match the last record (size ${rowsSize}); ` +
          'the ledger was modified outside sealog or is damaged: run `sealog verify` on it',
      );
    }
    // Rows missing, renumbered or unchained: no state derives from them. Counting leaves
    // would reuse a seq after a gap, so records go after the highest stored seq instead.
    this.#tail = true;
    return new ChainState();
  }

  #stateError(what: string, cause?: unknown): SealogError {
    return new SealogError('E_STATE', `ledger ${this.target.display}: ${what}`, { cause });
  }

  #diverged(finding: SealogError): void {
    if (!this.#trust || this.#divergence) return;
    this.#divergence = finding;
    this.#trust.onDiverge?.(finding);
  }

  /** Why this store will not sign, if it will not. */
  get divergence(): SealogError | undefined {
    return this.#divergence;
  }

  append(batch: readonly PendingEntry[]): Promise<CommitResult> {
    return this.#writer
      .use((s) => this.#lost.append(s, batch, (todo) => this.#appendTx(s, todo)))
      .catch((err) => {
        throw pgError(this.target, 'append to', err);
      });
  }

  async #appendTx(s: PgSession, batch: readonly PendingEntry[]): Promise<CommitResult> {
    let commitSent = false;
    let pending: InDoubt | undefined;
    // Leaf hashes depend only on the entries: computed before the lock, so other writers
    // wait only for the chain step (one small hash per record) and the insert.
    const leaves = batch.map((p) => leafHash(p.entry));
    try {
      // Rows other writers committed are hashed first outside the lock (they never change
      // once committed), so under it only the few committed meanwhile remain: the lock
      // serialises every writer, the hashing need not be.
      if (this.#trust && !this.#tail) await this.#catchUp(s);
      // One round trip opens the transaction and takes the sequencing lock.
      await s.query(`BEGIN; SELECT 1 FROM ${this.#t.state} WHERE id = 0 FOR UPDATE`);
      // Rows other writers committed since our last commit are hashed here, under the
      // lock, before anything is chained on them: they are never adopted from ledger_state.
      await this.#catchUp(s);
      // Derived: extend our state. Tail mode (the ledger does not derive): sequence and
      // chain after the highest stored row, with no Merkle state, never signed.
      const state = this.#tail ? undefined : this.#state.clone();
      const tail = state ? undefined : await tailStart(s, batch.length);
      if (!state && !tail)
        throw this.#stateError('no free range of seqs to append to; run `sealog verify` on it');
      let chain = state ? state.chainHead : tail!.chain;
      const firstSeq = state ? state.size : tail!.next;
      const seqs = new Array<number>(batch.length);
      const tss = new Array<number>(batch.length);
      const entries = new Array<Buffer>(batch.length);
      const chains = new Array<Buffer>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const { entry, ts } = batch[i]!;
        seqs[i] = firstSeq + i;
        tss[i] = ts;
        entries[i] = entry;
        chain = state ? state.appendLeaf(leaves[i]!) : chainHash(chain, leaves[i]!);
        chains[i] = chain;
      }
      const head: LedgerHead = state
        ? state.head()
        : { size: firstSeq + batch.length, root: ZERO_HASH, chainHead: chain, compact: Buffer.alloc(0) };
      // GREATEST: the state row only moves forward (a trigger refuses otherwise); a size
      // someone inflated must not block every append. It is a cache for readers anyway.
      await s.query(
        `WITH ins AS (INSERT INTO ${this.#t.records} (seq, ts, entry, chain)
           SELECT * FROM unnest($1::int8[], $2::int8[], $3::bytea[], $4::bytea[]))
         UPDATE ${this.#t.state} SET size = GREATEST(size, $5), chain_head = $6, compact = $7 WHERE id = 0`,
        [seqs, tss, entries, chains, head.size, chain, head.compact],
      );
      const result: CommitResult = { firstSeq, ...head };
      pending = { entries: batch, lastSeq: head.size - 1, chain, result };
      commitSent = true;
      await s.query('COMMIT');
      if (state) this.#state = state;
      return result;
    } catch (err) {
      if (commitSent) {
        // Whatever the error, the server may have committed (a FATAL such as 57P01 can
        // follow a local commit): the next append finds out. Resolution is always safe.
        if (pending) this.#lost.lost(pending);
        await s.end();
      } else {
        if (!s.broken) await s.query('ROLLBACK').catch(() => {});
        if (isConnectionError(err)) await s.end();
      }
      throw pgError(this.target, 'append to', err);
    }
  }

  /**
   * Hashes rows other writers committed after our state (inside the caller's
   * transaction). If they do not extend it, the ledger was changed under us: a
   * signing writer signs nothing from then on, and chaining goes on over the rows
   * as they are so no record is lost.
   */
  async #catchUp(s: PgSession): Promise<void> {
    if (this.#tail) return;
    // A writer without a key never signs: it follows the stored head (checked against the
    // last row) instead of paying to hash every other writer's rows.
    if (!this.#trust) {
      this.#state = await this.#adopt(s, false);
      return;
    }
    const next = await this.#extend(s);
    if (next instanceof ChainState) {
      this.#state = next;
      return;
    }
    this.#diverged(next);
    this.#state = await this.#adopt(s, false);
  }

  /**
   * Our state extended over the rows committed since (hashed here: writer-derive.ts),
   * derived again from the new start when a prune cut under it; or the finding.
   */
  async #extend(s: PgSession): Promise<ChainState | SealogError> {
    const d = await derivationFrom(s, this.#state, this.#trust);
    const finding = await feedRows(s, d);
    if (!finding) return d.state;
    return (await rederiveAfterPrune(s, this.#state, this.#trust, this.#hasResume)) ?? finding;
  }

  /** The head this writer derived (see Store.head). @throws SealogError E_TAMPER after a divergence. */
  head(): LedgerHead {
    if (this.#divergence) throw this.#divergence;
    if (this.#tail) throw this.#stateError('its rows do not derive a head; run `sealog verify` on it');
    return this.#state.head();
  }

  async addCheckpoint(head: LedgerHead, note: string, createdAt: number): Promise<void> {
    try {
      await this.#sealer.use((s) => insertCheckpoint(s, head, note, createdAt, this.#hasResume));
    } catch (err) {
      throw pgError(this.target, 'store a checkpoint in', err);
    }
  }

  /**
   * Stores a timestamp token beside the checkpoints (see Store.addTimestamp).
   * @throws SealogError E_CONFIG (no checkpoint_timestamps table: a ledger made by an
   *   older sealog, opened by a role that may not add it), E_IO.
   */
  async addTimestamp(
    size: number,
    noteSha256: Uint8Array,
    token: Uint8Array,
    tsaTimeMs: number,
  ): Promise<void> {
    try {
      await this.#sealer.use((s) => insertTimestamp(s, { size, noteSha256, token, tsaTimeMs }));
    } catch (err) {
      throw pgError(this.target, 'store a timestamp token in', err);
    }
  }

  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    let rows: { seq: unknown; entry: unknown }[];
    try {
      rows = (
        await this.#sealer.use((s) =>
          s.query<{ seq: unknown; entry: unknown }>(
            `SELECT seq, entry FROM ${this.#t.records} WHERE seq >= $1 AND seq < $2 ORDER BY seq`,
            [from, to],
          ),
        )
      ).rows;
    } catch (err) {
      throw pgError(this.target, 'read', err);
    }
    return leavesOf(rows, from, to, this.target.display);
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
      // Sign what this writer derives: its own state, extended over the rows other
      // writers committed since (hashed here). Never the ledger_state row.
      if (this.#divergence) throw this.#divergence;
      if (this.#tail) throw this.#stateError('its rows do not derive a head; run `sealog verify` on it');
      const state = await this.#extend(s);
      if (!(state instanceof ChainState)) {
        this.#diverged(state);
        throw state;
      }
      const head: LedgerHead = state.head();
      const latest = await newestCheckpoint(s);
      const signed = await sign(head);
      // Another writer of this ledger may have just stored a checkpoint of exactly this
      // head: then ours is not stored again. The note returned, and anchored by the
      // caller, is always our own.
      if (sealedAlready(latest, head, signed, this.#trust?.own)) {
        await s.query('ROLLBACK');
        return { size: head.size, note: signed.note, createdAt: signed.createdAt, fresh: false, head };
      }
      await insertCheckpoint(s, head, signed.note, signed.createdAt, this.#hasResume);
      await s.query('COMMIT');
      return { size: head.size, note: signed.note, createdAt: signed.createdAt, fresh: true, head };
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
