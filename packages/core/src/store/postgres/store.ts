import {
  type CheckpointRow,
  Derivation,
  MAX_RESUME_CANDIDATES,
  pickStart,
  type ResumeRow,
} from '../../chain/derive.js';
import { ChainState } from '../../chain/state.js';
import { SealogError } from '../../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../../hash.js';
import { leavesOf } from '../leaves.js';
import { MAX_TAIL_SEQ, tailStarts } from '../tail.js';
import type {
  CommitResult,
  LedgerHead,
  LockedSeal,
  PendingEntry,
  SealSigner,
  Store,
  WriterTrust,
} from '../types.js';
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
import { prunedSize, prunedStart } from './pruned-start.js';
import {
  assertPgLedger,
  ensurePgSchema,
  ensureResumeColumns,
  ensureTimestampTable,
  lockKey,
} from './schema.js';

export interface PgStoreOptions {
  /** How long a commit waits for another writer before failing and being retried (ms). */
  lockTimeoutMs?: number;
  /** false: open an existing ledger only (E_NOT_LEDGER when the schema has none). Default true. */
  create?: boolean;
  /** A signing writer's trust root: see SqliteStoreOptions.trust. */
  trust?: WriterTrust;
}

/** Rows read per query while re-deriving (bounded memory on any ledger size). */
const DERIVE_PAGE_ROWS = 10_000;

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
  /** Derived by hashing entries here: never read back from ledger_state. */
  #state = new ChainState();
  readonly #trust: WriterTrust | undefined;
  #divergence: SealogError | undefined;
  /** The ledger could not be derived: records go after its highest seq, chained on its last row. */
  #tail = false;
  /** The checkpoints table has chain_head/compact (see ensureResumeColumns). */
  #hasResume = false;
  #inDoubt: InDoubt | undefined;
  /**
   * A batch found committed after its COMMIT answer was lost, while the rest of
   * the retried batch failed: the Ledger retries the same entries again, and
   * these must not be stored a second time.
   */
  #committed: { entries: readonly PendingEntry[]; result: CommitResult } | undefined;
  readonly #t: { records: string; state: string; checkpoints: string; timestamps: string };

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
      timestamps: qualify(target, 'checkpoint_timestamps'),
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
    const derived = await this.#deriveFromStart(s, trust);
    if (derived instanceof ChainState) return derived;
    this.#diverged(derived);
    return this.#adopt(s, false);
  }

  /**
   * The newest checkpoint row this key signed with a resume state, else a pruned
   * prefix's tombstone (its checkpoint signed by this key at exactly its size,
   * its compact range hashing to that root, and its prune statement this key's,
   * sealed, naming that head: pruned-start.ts and prune-evidence.ts), else
   * row 0; then every later row hashed here. The state, or the first finding.
   */
  async #deriveFromStart(s: PgSession, trust: WriterTrust): Promise<ChainState | SealogError> {
    const t = this.#t;
    const last = (await s.query<{ m: unknown }>(`SELECT max(seq) AS m FROM ${t.records}`)).rows[0]?.m;
    const rowCount = typeof last === 'number' ? last + 1 : 0;
    const pruned = await prunedStart(s, trust.own, this.target.display);
    if (pruned instanceof SealogError) return pruned;
    const cut = pruned?.state.size ?? 0;
    const anchored = trust.heads.length > 0 ? Math.max(...trust.heads.map((h) => h.size)) : undefined;
    // Only heads after the cut: a resume row at or below it would chain on a deleted row.
    const candidates = this.#hasResume
      ? (
          await s.query<ResumeRow>(
            `SELECT id, size, note, chain_head, compact FROM ${t.checkpoints} WHERE compact IS NOT NULL AND size <= $1 AND size > $3 ORDER BY size DESC, id DESC LIMIT $2`,
            [rowCount, MAX_RESUME_CANDIDATES, cut],
          )
        ).rows
      : [];
    const start = pickStart(
      candidates,
      trust.own,
      anchored !== undefined ? { rowCount, atMost: anchored } : { rowCount },
    );
    const from = start?.state ?? pruned?.state ?? new ChainState();
    const rows = (
      await s.query<CheckpointRow>(`SELECT id, note FROM ${t.checkpoints} WHERE size >= $1`, [from.size])
    ).rows;
    const d = new Derivation(from, this.target.display, { own: trust.own, heads: trust.heads, rows });
    // From the tombstone: row size-1 was pruned; its chain value is the tombstone's, so the
    // link check is fed that value (the signed root, not the chain, is what binds the range).
    if (!start && pruned) d.row(cut - 1, undefined, pruned.state.chainHead);
    return (await this.#feed(s, d)) ?? d.state;
  }

  /**
   * After a prune cut the ledger at or above our state (rows we would chain from are
   * gone): derive again from the new start. The state, or undefined when nothing was pruned there.
   */
  async #rederiveAfterPrune(s: PgSession): Promise<ChainState | SealogError | undefined> {
    const size = await prunedSize(s);
    if (!this.#trust || size === undefined || size < this.#state.size) return undefined;
    return this.#deriveFromStart(s, this.#trust);
  }

  /** Feeds every row from the derivation's start (page by page) and ends it. */
  async #feed(s: PgSession, d: Derivation): Promise<SealogError | undefined> {
    let next = Math.max(d.state.size - 1, 0);
    for (;;) {
      const page = (
        await s.query<{ seq: unknown; entry: unknown; chain: unknown }>(
          `SELECT seq, entry, chain FROM ${this.#t.records} WHERE seq >= $1 ORDER BY seq LIMIT ${DERIVE_PAGE_ROWS}`,
          [next],
        )
      ).rows;
      let going = true;
      for (const r of page) {
        going = d.row(r.seq, r.entry, r.chain);
        if (!going) break;
      }
      const lastSeq = page[page.length - 1]?.seq;
      if (!going || page.length < DERIVE_PAGE_ROWS || typeof lastSeq !== 'number') break;
      next = lastSeq + 1;
    }
    return d.end();
  }

  /**
   * A state to chain on when nothing is to be signed. `strict` (a writer without a
   * key, at open): the stored head must agree with the last record (E_STATE).
   * Otherwise (after a divergence) the rows are rehashed when it does not.
   */
  async #adopt(s: PgSession, strict: boolean): Promise<ChainState> {
    const state = (
      await s.query<{ size: unknown; chain_head: unknown; compact: unknown }>(
        `SELECT size, chain_head, compact FROM ${this.#t.state} WHERE id = 0`,
      )
    ).rows[0];
    const last = (
      await s.query<{ seq: unknown; chain: unknown }>(
        `SELECT seq, chain FROM ${this.#t.records} ORDER BY seq DESC LIMIT 1`,
      )
    ).rows[0];
    const rowsSize = last && typeof last.seq === 'number' ? last.seq + 1 : 0;
    let decoded: ChainState | undefined;
    try {
      decoded = ChainState.decode(state?.size, state?.chain_head, state?.compact);
    } catch (err) {
      if (strict) throw this.#stateError('the ledger_state row is missing or malformed', err);
    }
    const agrees =
      decoded !== undefined &&
      decoded.size === rowsSize &&
      (rowsSize === 0 || (Buffer.isBuffer(last?.chain) && last.chain.equals(decoded.chainHead)));
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
      const tail = state ? undefined : await this.#tailStart(s, batch.length);
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
        this.#inDoubt = pending;
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
    const d = await this.#derivation(s);
    let finding = await this.#feed(s, d);
    if (!finding) {
      this.#state = d.state;
      return;
    }
    const again = await this.#rederiveAfterPrune(s);
    if (again instanceof ChainState) {
      this.#state = again;
      return;
    }
    finding = again ?? finding;
    this.#diverged(finding);
    this.#state = await this.#adopt(s, false);
  }

  /**
   * A derivation from our state; a signing store also checks the rows against every
   * head its key signed at or above our size, even when no row was appended (rows
   * another writer sealed may have been rewritten, or cut off): checkpoint rows, and
   * the anchor file re-read now (only what was appended since).
   */
  async #derivation(s: PgSession): Promise<Derivation> {
    const size = this.#state.size;
    const trust = this.#trust;
    if (!trust) return new Derivation(this.#state, this.target.display);
    const rows = (
      await s.query<CheckpointRow>(`SELECT id, note FROM ${this.#t.checkpoints} WHERE size >= $1`, [size])
    ).rows;
    const heads = trust.anchor ? trust.anchor.readOrKnown() : trust.heads;
    return new Derivation(this.#state, this.target.display, { own: trust.own, heads, rows });
  }

  /**
   * In tail mode: where records go, after the highest stored seq on that row's
   * chain value. No Merkle state derives from such a ledger: nothing is signed
   * (head() refuses) and ledger_state says so with an empty range.
   */
  async #tailStart(s: PgSession, n: number): Promise<{ next: number; chain: Buffer }> {
    const t = this.#t.records;
    const last = (
      await s.query<{ seq: unknown; chain: unknown }>(
        `SELECT seq, chain FROM ${t} WHERE seq >= 0 AND seq < $1 ORDER BY seq DESC LIMIT 1`,
        [MAX_TAIL_SEQ],
      )
    ).rows[0];
    const highest = last && typeof last.seq === 'number' ? last.seq : undefined;
    for (const start of tailStarts(highest, n)) {
      const taken = await s.query(`SELECT 1 FROM ${t} WHERE seq >= $1 AND seq < $2 LIMIT 1`, [
        start,
        start + n,
      ]);
      if (taken.rows.length > 0) continue;
      const chain =
        last && Buffer.isBuffer(last.chain) && last.chain.length === HASH_SIZE ? last.chain : ZERO_HASH;
      return { next: start, chain };
    }
    throw this.#stateError('no free range of seqs to append to; run `sealog verify` on it');
  }

  /** The head this writer derived (see Store.head). @throws SealogError E_TAMPER after a divergence. */
  head(): LedgerHead {
    if (this.#divergence) throw this.#divergence;
    if (this.#tail) throw this.#stateError('its rows do not derive a head; run `sealog verify` on it');
    return this.#state.head();
  }

  #insertCheckpoint(s: PgSession, head: LedgerHead, note: string, createdAt: number): Promise<unknown> {
    const t = this.#t.checkpoints;
    return this.#hasResume
      ? s.query(
          `INSERT INTO ${t} (size, note, created_at, chain_head, compact) VALUES ($1, $2, $3, $4, $5)`,
          [head.size, note, createdAt, head.chainHead, head.compact ?? null],
        )
      : s.query(`INSERT INTO ${t} (size, note, created_at) VALUES ($1, $2, $3)`, [
          head.size,
          note,
          createdAt,
        ]);
  }

  async addCheckpoint(head: LedgerHead, note: string, createdAt: number): Promise<void> {
    try {
      await this.#sealer.use((s) => this.#insertCheckpoint(s, head, note, createdAt));
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
      await this.#sealer.use((s) =>
        s.query(
          `INSERT INTO ${this.#t.timestamps} (size, note_sha256, token, tsa_time, created_at) VALUES ($1, $2, $3, $4, $5)`,
          [size, Buffer.from(noteSha256), Buffer.from(token), Math.trunc(tsaTimeMs), Date.now()],
        ),
      );
    } catch (err) {
      // 42P01: a ledger made by an older sealog, opened by a role that may not add the
      // table; 42501: a writer role granted before the table existed.
      const code = (err as { code?: unknown }).code;
      if (code === '42P01' || code === '42501') {
        throw new SealogError(
          'E_CONFIG',
          `${this.target.display} cannot keep timestamp tokens (${code === '42P01' ? 'no checkpoint_timestamps table' : 'no INSERT on checkpoint_timestamps'}): run \`sealog init URL --writer ROLE\` as the owner of the ledger tables`,
          { cause: err },
        );
      }
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
      const d = await this.#derivation(s);
      let finding = await this.#feed(s, d);
      let state = d.state;
      if (finding) {
        const again = await this.#rederiveAfterPrune(s);
        if (again instanceof ChainState) {
          state = again;
          finding = undefined;
        } else finding = again ?? finding;
      }
      if (finding) {
        this.#diverged(finding);
        throw finding;
      }
      const head: LedgerHead = state.head();
      const latest = (
        await s.query<{ size: unknown; note: unknown; created_at: unknown }>(
          `SELECT size, note, created_at FROM ${this.#t.checkpoints} ORDER BY id DESC LIMIT 1`,
        )
      ).rows[0];
      const signed = await sign(head);
      // Another writer of this ledger may have just stored a checkpoint of exactly this
      // head: then ours is not stored again. Only a note this key really signed counts
      // (a forged row must not cancel the seal), and the note returned, and anchored by
      // the caller, is always our own.
      const age = typeof latest?.created_at === 'number' ? signed.createdAt - latest.created_at : -1;
      const same = this.#trust?.own.open(latest?.note, 'the newest checkpoint row');
      if (
        same &&
        latest?.size === head.size &&
        same.size === head.size &&
        same.root.equals(head.root) &&
        age >= 0 &&
        age < RESIGN_AFTER_MS &&
        noteBody(String(latest.note)) === noteBody(signed.note)
      ) {
        await s.query('ROLLBACK');
        return { size: head.size, note: signed.note, createdAt: signed.createdAt, fresh: false, head };
      }
      await this.#insertCheckpoint(s, head, signed.note, signed.createdAt);
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
