import { open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import {
  type CheckpointRow,
  Derivation,
  MAX_RESUME_CANDIDATES,
  pickStart,
  type ResumeRow,
} from '../chain/derive.js';
import { ownErasures } from '../chain/erased.js';
import { ChainState } from '../chain/state.js';
import { SealogError } from '../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { maxOf } from '../numbers.js';
import { leavesOf } from './leaves.js';
import { assertLedger, checkWritableLocation, ioError } from './open.js';
import { createSchema, upgradeSchema } from './schema.js';
import { MAX_TAIL_SEQ, tailStarts } from './tail.js';
import type { CommitResult, LedgerHead, PendingEntry, Store, WriterTrust } from './types.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/** `process`: survives a crash of this process (WAL, synchronous=NORMAL). `power`: survives power loss (synchronous=FULL). */
export type Durability = 'process' | 'power';

export const DEFAULT_DURABILITY: Durability = 'process';
/** How long a writer waits for another process's transaction before failing a commit. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** The WAL is truncated back to this size once a checkpoint has reset it. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface SqliteStoreOptions {
  durability?: Durability;
  busyTimeoutMs?: number;
  /**
   * The signing writer's trust root. With it the store derives its state from
   * the newest checkpoint this key signed (else row 0), hashing every row after
   * it, and refuses to report a signable head for anything it could not derive.
   */
  trust?: WriterTrust;
  /**
   * Also checkpoint the WAL from a thread of its own (store/wal-checkpointer.ts),
   * so the commit that crosses SQLite's threshold finds little left to copy.
   * For long-running writers (the transports); default false.
   */
  backgroundCheckpoint?: boolean;
  /**
   * Runs first inside every append transaction (BEGIN IMMEDIATE held): a throw
   * aborts the append with nothing written. A segmented ledger checks its close
   * marker here, so no row lands in a segment after it was closed.
   */
  beforeAppend?: (db: Database.Database) => void;
}

interface Row {
  seq: unknown;
  entry: unknown;
  chain: unknown;
}

/**
 * The embedded SQLite store. Several processes may append to one file: each
 * batch runs in BEGIN IMMEDIATE (one writer at a time), hashes the rows other
 * processes appended since this one's last commit, and extends its own chain
 * state over them, so the sequence stays gap-free and the chain single. The
 * `ledger_state` row is written for readers, never read back as truth.
 */
export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  #state: ChainState;
  /** Set once the file stopped extending what this store derived: nothing is signable after. */
  #divergence: SealogError | undefined;
  readonly #trusted: boolean;
  readonly #trust: WriterTrust | undefined;
  /** The file could not be derived: records go after its highest seq (see #appendTail). */
  #tail = false;
  readonly #onDiverge: ((err: SealogError) => void) | undefined;
  readonly #rowsFrom: Database.Statement;
  readonly #claimsFrom: Database.Statement;
  readonly #readState: Database.Statement;
  readonly #lastRow: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #writeState: Database.Statement;
  readonly #insertCheckpoint: Database.Statement;
  #insertTimestamp: Database.Statement | undefined;
  readonly #appendTx: Database.Transaction<(batch: readonly PendingEntry[]) => CommitResult>;
  readonly #durability: Durability;
  readonly #beforeAppend: ((db: Database.Database) => void) | undefined;
  #walCheckpointer: WalCheckpointer | undefined;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    checkWritableLocation(path);
    const durability = options.durability ?? DEFAULT_DURABILITY;
    if (durability !== 'process' && durability !== 'power') {
      throw new SealogError(
        'E_CONFIG',
        `durability must be "process" or "power", got ${JSON.stringify(durability)}`,
      );
    }
    this.#durability = durability;
    this.#beforeAppend = options.beforeAppend;
    this.#trusted = options.trust !== undefined;
    this.#trust = options.trust;
    this.#onDiverge = options.trust?.onDiverge;
    try {
      this.#db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    } catch (err) {
      throw ioError(path, 'open', err);
    }
    try {
      const db = this.#db;
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${durability === 'power' ? 'FULL' : 'NORMAL'}`);
      // A long reader (verify holds one snapshot) pins the WAL, which then grows with the
      // write rate; without a limit the file keeps that high-water size forever (soak run).
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      const hasTables = (
        db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as {
          n: number;
        }
      ).n;
      if (hasTables === 0) createSchema(db, Date.now());
      assertLedger(db, path);
      upgradeSchema(db);
      this.#rowsFrom = db.prepare('SELECT seq, entry, chain FROM records WHERE seq >= ? ORDER BY seq');
      this.#claimsFrom = db.prepare('SELECT id, note FROM checkpoints WHERE size >= ?');
      this.#readState = db.prepare('SELECT size, chain_head, compact FROM ledger_state WHERE id = 0');
      this.#lastRow = db.prepare('SELECT seq, chain FROM records ORDER BY seq DESC LIMIT 1');
      this.#insert = db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, ?)');
      this.#writeState = db.prepare(
        'UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0',
      );
      this.#insertCheckpoint = db.prepare(
        'INSERT INTO checkpoints (size, note, created_at, chain_head, compact) VALUES (?, ?, ?, ?, ?)',
      );
      // One read transaction = one snapshot, so other writers' commits cannot interleave.
      this.#state = db.transaction(() => (options.trust ? this.#derive(options.trust) : this.#adopt(true)))();
      this.#appendTx = db.transaction((batch: readonly PendingEntry[]) => this.#appendLocked(batch));
      if (options.backgroundCheckpoint === true) this.#walCheckpointer = new WalCheckpointer(path);
    } catch (err) {
      this.#db.close();
      throw err instanceof SealogError ? err : ioError(path, 'open', err);
    }
  }

  /**
   * A signing writer's start: the newest checkpoint its own key signed whose
   * stored compact range has the signed root (else row 0), then every row after
   * it hashed here, with every other head the key signed (checkpoint rows, the
   * anchor file) required to come out again. On a disagreement the store still
   * opens (records must not be lost) but will sign nothing.
   */
  #derive(trust: WriterTrust): ChainState {
    const db = this.#db;
    const rowCount = this.#rowCount();
    // Start no later than the newest anchored head, so the anchor is checked against re-hashed rows.
    const anchored = trust.heads.length > 0 ? maxOf(trust.heads.map((h) => h.size)) : undefined;
    const start = pickStart(
      db
        .prepare(
          'SELECT id, size, note, chain_head, compact FROM checkpoints WHERE compact IS NOT NULL AND size <= ? ORDER BY size DESC, id DESC LIMIT ?',
        )
        .all(rowCount, MAX_RESUME_CANDIDATES) as ResumeRow[],
      trust.own,
      anchored !== undefined ? { rowCount, atMost: anchored } : { rowCount },
    );
    const from = start?.state ?? new ChainState();
    const erasures = ownErasures(db, Math.max(from.size - 1, 0), trust.own);
    const d = new Derivation(from, this.path, {
      own: trust.own,
      heads: erasures ? [...trust.heads, ...erasures.heads] : trust.heads,
      ...(erasures ? { erased: erasures.erased } : {}),
      rows: db
        .prepare('SELECT id, note FROM checkpoints WHERE size >= ?')
        .iterate(from.size) as Iterable<CheckpointRow>,
    });
    for (const row of this.#rowsFrom.iterate(Math.max(from.size - 1, 0)) as Iterable<Row>) {
      if (!d.row(row.seq, row.entry, row.chain)) break;
    }
    const finding = d.end();
    if (finding) {
      this.#diverged(finding);
      return this.#adopt();
    }
    return d.state;
  }

  /** Number of rows (max seq + 1). Rows themselves say nothing trusted. */
  #rowCount(): number {
    const r = this.#db.prepare('SELECT max(seq) AS m FROM records').get() as { m: unknown };
    return typeof r.m === 'number' ? r.m + 1 : 0;
  }

  /**
   * A state to keep chaining on when nothing is to be signed (no key, or after a
   * divergence): the stored ledger_state if it agrees with the last row. When it
   * does not, a writer without a key refuses to open (`strict`, E_STATE); after a
   * divergence the store switches to appending at the file's tail as it is
   * ({@link #appendTail}), so no record is lost. Never signed.
   */
  #adopt(strict = false): ChainState {
    const s = this.#readState.get() as { size: unknown; chain_head: unknown; compact: unknown } | undefined;
    const last = this.#lastRow.get() as { seq: number; chain: unknown } | undefined;
    try {
      const state = ChainState.decode(s?.size, s?.chain_head, s?.compact);
      const rows = last ? last.seq + 1 : 0;
      if (
        state.size === rows &&
        (rows === 0 || (Buffer.isBuffer(last?.chain) && last.chain.equals(state.chainHead)))
      ) {
        return state;
      }
    } catch {
      // fall through
    }
    if (strict) {
      throw new SealogError(
        'E_STATE',
        `ledger ${this.path}: the stored head does not match the last record; ` +
          'the file was modified outside sealog or is damaged: run `sealog verify` on it',
      );
    }
    // Rows missing, renumbered or unchained: no state derives from them. Counting leaves
    // would reuse a seq after a gap, so records go after the highest stored seq instead.
    this.#tail = true;
    return new ChainState();
  }

  /**
   * Appends after the highest stored seq, chained onto that row's stored chain value:
   * the file stays one chain as it now is, and verify locates the edit exactly.
   * Only reached once the file could not be derived; nothing appended so is signed.
   */
  #appendTail(batch: readonly PendingEntry[]): CommitResult {
    const last = this.#db
      .prepare(
        "SELECT seq, chain FROM records WHERE typeof(seq) = 'integer' AND seq >= 0 AND seq < ? ORDER BY seq DESC LIMIT 1",
      )
      .get(MAX_TAIL_SEQ) as { seq: number; chain: unknown } | undefined;
    const taken = this.#db.prepare('SELECT 1 FROM records WHERE seq >= ? AND seq < ? LIMIT 1');
    const start = tailStarts(last?.seq, batch.length).find(
      (s) => taken.get(s, s + batch.length) === undefined,
    );
    if (start === undefined) {
      throw new SealogError(
        'E_STATE',
        `ledger ${this.path}: no free range of seqs to append to; run \`sealog verify\` on it`,
      );
    }
    let seq = start;
    let chain =
      last && Buffer.isBuffer(last.chain) && last.chain.length === HASH_SIZE ? last.chain : ZERO_HASH;
    for (const { entry, ts } of batch) {
      chain = chainHash(chain, leafHash(entry));
      this.#insert.run(seq++, ts, entry, chain);
    }
    // No Merkle state derives from such a file: ledger_state says so with an empty range,
    // which any later writer refuses (E_STATE) or re-derives, never adopts.
    this.#writeState.run(seq, chain, Buffer.alloc(0));
    return { firstSeq: start, size: seq, root: ZERO_HASH, chainHead: chain };
  }

  #diverged(finding: SealogError): void {
    if (!this.#trusted || this.#divergence) return;
    this.#divergence = finding;
    this.#onDiverge?.(finding);
  }

  /**
   * Hashes rows other processes appended since our last commit and checks they
   * extend our state. For a signing store they must also reproduce every head
   * its key signed over them (another writer's checkpoint rows, and the anchor
   * file re-read now): rows sealed elsewhere and then rewritten are refused.
   */
  #catchUp(): void {
    if (this.#tail) return;
    // A writer without a key never signs: it follows the stored head (checked against the
    // last row, two point reads) instead of paying to hash every other writer's rows.
    if (!this.#trust) {
      this.#state = this.#adopt();
      return;
    }
    const size = this.#state.size;
    // Every head this key signed at or above our size is checked, even when no row was
    // appended: another writer's sealed rows may have been rewritten, or cut off.
    const d = new Derivation(this.#state, this.path, this.#signedAbove(size));
    for (const row of this.#rowsFrom.iterate(Math.max(size - 1, 0)) as Iterable<Row>) {
      if (!d.row(row.seq, row.entry, row.chain)) break;
    }
    const finding = d.end();
    if (!finding) {
      this.#state = d.state;
      return;
    }
    // The file no longer extends what we derived. Keep every record (chained on the
    // file as it is), but a signing writer signs nothing from now on.
    this.#diverged(finding);
    this.#state = this.#adopt();
  }

  /** What the key signed at or above `size`: checkpoint rows (checked lazily) and anchor heads. */
  #signedAbove(size: number): ConstructorParameters<typeof Derivation>[2] {
    const trust = this.#trust!;
    const heads = trust.anchor ? trust.anchor.readOrKnown() : trust.heads;
    // Rows erased since (sealog erase in another process) take their leaf from the statement.
    const erasures = ownErasures(this.#db, Math.max(size - 1, 0), trust.own);
    return {
      own: trust.own,
      heads: erasures ? [...heads, ...erasures.heads] : heads,
      rows: this.#claimsFrom.all(size) as CheckpointRow[],
      ...(erasures ? { erased: erasures.erased } : {}),
    };
  }

  #appendLocked(batch: readonly PendingEntry[]): CommitResult {
    this.#beforeAppend?.(this.#db);
    this.#catchUp();
    if (this.#tail) return this.#appendTail(batch);
    // #catchUp left a state object of its own (the derivation's clone, or one just
    // decoded): extend it in place; append() restores the one from before on a throw.
    const state = this.#state;
    const firstSeq = state.size;
    for (const { entry, ts } of batch) {
      const seq = state.size;
      this.#insert.run(seq, ts, entry, state.append(entry));
    }
    this.#writeState.run(state.size, state.chainHead, state.encodeCompact());
    // Only adopt the new state once the transaction body succeeded; a throw rolls back both.
    this.#state = state;
    return { firstSeq, ...state.head() };
  }

  append(batch: readonly PendingEntry[]): CommitResult {
    const before = this.#state;
    try {
      return this.#appendTx.immediate(batch);
    } catch (err) {
      this.#state = before;
      throw err instanceof SealogError ? err : ioError(this.path, 'append to', err);
    }
  }

  /** Why this store will not sign, if it will not. */
  get divergence(): SealogError | undefined {
    return this.#divergence;
  }

  /**
   * The head this store derived (through its last commit or catch-up). A signing
   * store that diverged refuses. @throws SealogError E_TAMPER.
   */
  head(): LedgerHead {
    if (this.#divergence) throw this.#divergence;
    if (this.#tail) {
      throw new SealogError(
        'E_STATE',
        `ledger ${this.path}: its rows do not derive a head; run \`sealog verify\` on it`,
      );
    }
    return this.#state.head();
  }

  /**
   * Hashes rows other writers committed since this store last looked, so a
   * checkpoint can cover them. A read transaction: a consistent snapshot.
   */
  refresh(): void {
    this.#db.transaction(() => this.#catchUp())();
  }

  leafHashes(from: number, to: number): Buffer[] {
    return leavesOf(
      this.#db
        .prepare('SELECT seq, entry FROM records WHERE seq >= ? AND seq < ? ORDER BY seq')
        .all(from, to) as {
        seq: unknown;
        entry: unknown;
      }[],
      from,
      to,
      this.path,
      // Erased rows count only under statements this store's own key signed.
      this.#trust ? ownErasures(this.#db, from, this.#trust.own)?.erased : undefined,
    );
  }

  addCheckpoint(head: LedgerHead, note: string, createdAt: number): void | Promise<void> {
    try {
      this.#insertCheckpoint.run(head.size, note, createdAt, head.chainHead, head.compact ?? null);
    } catch (err) {
      throw ioError(this.path, 'store a checkpoint in', err);
    }
    // Under 'process' durability commits are not fsynced, yet the sealer copies
    // this note to the anchor file (other storage) as soon as this resolves: a
    // power loss could then leave the anchor ahead of the file, an outage that
    // reads as truncation. So the WAL is fsynced first — on libuv's thread pool,
    // not this thread, which goes on taking records meanwhile.
    if (this.#durability === 'process') return this.#syncWal();
  }

  /**
   * Stores a timestamp token beside the checkpoints. Not fsynced on its own: the
   * token is evidence about a note already stored and anchored, and it also goes
   * to the anchor's token file; the next commit's sync carries it.
   * @throws SealogError E_IO.
   */
  addTimestamp(size: number, noteSha256: Uint8Array, token: Uint8Array, tsaTimeMs: number): void {
    try {
      // Prepared on first use, not at open: a token table someone recreated with other
      // columns must cost the tokens (reported), never the writer's start and its records.
      this.#insertTimestamp ??= this.#db.prepare(
        'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (?, ?, ?, ?, ?)',
      );
      this.#insertTimestamp.run(
        size,
        Buffer.from(noteSha256),
        Buffer.from(token),
        Math.trunc(tsaTimeMs),
        Date.now(),
      );
    } catch (err) {
      throw ioError(this.path, 'store a timestamp token in', err);
    }
  }

  /**
   * fdatasync of the WAL file through a descriptor of our own. Durability is per
   * file, not per descriptor, so every frame written before the call is on disk
   * when it resolves: this checkpoint's commit and every commit before it. If the
   * WAL was checkpointed and restarted meanwhile, those frames are already in the
   * database file, which SQLite syncs after each checkpoint (synchronous=NORMAL).
   */
  async #syncWal(): Promise<void> {
    try {
      const fh = await open(`${this.path}-wal`, 'r');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      // No WAL file: the last connection closed, and SQLite checkpointed the WAL into the
      // database file and synced it before removing it, so the commit is on disk already.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw ioError(this.path, 'sync a checkpoint to disk in', err);
    }
  }

  /** The newest stored checkpoint note, if any. */
  lastCheckpointNote(): string | undefined {
    const row = this.#db.prepare('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
      | { note: unknown }
      | undefined;
    return typeof row?.note === 'string' ? row.note : undefined;
  }

  /** True when a checkpoint row with exactly this note text is stored (anchor cross-check). */
  hasCheckpointNote(size: number, note: string): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM checkpoints WHERE size = ? AND note = ? LIMIT 1').get(size, note) !==
      undefined
    );
  }

  /** The underlying connection, for modules in core that add tables (budgets, checkpoints). */
  get db(): Database.Database {
    return this.#db;
  }

  /**
   * Sets SQLite's wal_autocheckpoint (pages). 0 turns automatic checkpoints off,
   * the background thread's included, so every commit stays in the WAL (the
   * fault tests cut it to model a power loss). Resolves once the thread stopped.
   */
  async setWalAutocheckpoint(pages: number): Promise<void> {
    this.#db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.trunc(pages))}`);
    if (pages > 0) return;
    const thread = this.#walCheckpointer;
    this.#walCheckpointer = undefined;
    await thread?.close();
  }

  /**
   * Closes the connection (after the background checkpoint thread's, when there
   * is one: the last connection to close checkpoints the WAL into the file and
   * removes it, so ours must be last or a copy of the closed `.db` alone misses
   * the WAL's records — found by a red-team review).
   */
  close(): void | Promise<void> {
    const thread = this.#walCheckpointer;
    this.#walCheckpointer = undefined;
    if (thread === undefined) {
      if (this.#db.open) this.#db.close();
      return;
    }
    return thread.close().then(() => {
      if (this.#db.open) this.#db.close();
    });
  }
}
