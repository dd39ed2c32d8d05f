import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { CompactRange } from '../merkle.js';
import { assertLedger, checkWritableLocation, ioError } from './open.js';
import { createSchema } from './schema.js';
import type { CommitResult, LedgerHead, PendingEntry, Store } from './types.js';

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
}

interface StateRow {
  size: number;
  chain_head: Buffer;
  compact: Buffer;
}

/**
 * The embedded SQLite store. Several processes may append to one file: each
 * batch runs in BEGIN IMMEDIATE (one writer at a time), rereads the shared
 * `ledger_state` row and extends the chain and tree from there, so the
 * sequence stays gap-free and the chain single.
 */
export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  #range: CompactRange;
  #chainHead: Buffer;
  readonly #readState: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #writeState: Database.Statement;
  readonly #insertCheckpoint: Database.Statement;
  readonly #appendTx: Database.Transaction<(batch: readonly PendingEntry[]) => CommitResult>;
  readonly #durability: Durability;

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
      this.#readState = db.prepare('SELECT size, chain_head, compact FROM ledger_state WHERE id = 0');
      this.#insert = db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, ?)');
      this.#writeState = db.prepare(
        'UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0',
      );
      this.#insertCheckpoint = db.prepare(
        'INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)',
      );
      // One read transaction = one snapshot: another process committing between the
      // two reads of the check would otherwise look like a damaged file.
      const state = db.transaction(() => this.#loadState(true))();
      this.#range = state.range;
      this.#chainHead = state.chainHead;
      this.#appendTx = db.transaction((batch: readonly PendingEntry[]) => this.#appendLocked(batch));
    } catch (err) {
      this.#db.close();
      throw err instanceof SealogError ? err : ioError(path, 'open', err);
    }
  }

  /** Reads and checks ledger_state. With `checkRows`, also checks it against the last stored row. */
  #loadState(checkRows: boolean): { range: CompactRange; chainHead: Buffer } {
    const row = this.#readState.get() as StateRow | undefined;
    if (!row || !Number.isSafeInteger(row.size) || row.size < 0 || !Buffer.isBuffer(row.chain_head)) {
      throw this.#stateError('the ledger_state row is missing or malformed');
    }
    if (row.chain_head.length !== HASH_SIZE) throw this.#stateError('the stored chain head is not 32 bytes');
    let range: CompactRange;
    try {
      range = CompactRange.decode(row.size, Buffer.isBuffer(row.compact) ? row.compact : Buffer.alloc(0));
    } catch {
      throw this.#stateError('the stored Merkle state does not match the stored size');
    }
    if (checkRows) {
      const last = this.#db.prepare('SELECT seq, chain FROM records ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; chain: Buffer }
        | undefined;
      const rowsSize = last ? last.seq + 1 : 0;
      const lastChain = last ? last.chain : ZERO_HASH;
      if (rowsSize !== row.size || !Buffer.isBuffer(lastChain) || !lastChain.equals(row.chain_head)) {
        throw this.#stateError(
          `the stored head (size ${row.size}) does not match the last record (size ${rowsSize}); ` +
            'the file was modified outside sealog or is damaged: run `sealog verify` on it',
        );
      }
    }
    return { range, chainHead: row.chain_head };
  }

  #stateError(what: string): SealogError {
    return new SealogError('E_STATE', `ledger ${this.path}: ${what}`);
  }

  #appendLocked(batch: readonly PendingEntry[]): CommitResult {
    // Another process may have appended since our last commit: resume from the shared state.
    const stored = this.#readState.get() as StateRow;
    if (stored.size !== this.#range.size || !stored.chain_head.equals(this.#chainHead)) {
      const s = this.#loadState(false);
      this.#range = s.range;
      this.#chainHead = s.chainHead;
    }
    const range = this.#range.clone();
    let chain = this.#chainHead;
    const firstSeq = range.size;
    for (const { entry, ts } of batch) {
      const leaf = leafHash(entry);
      chain = chainHash(chain, leaf);
      this.#insert.run(range.size, ts, entry, chain);
      range.append(leaf);
    }
    this.#writeState.run(range.size, chain, range.encode());
    // Only adopt the new state once the transaction body succeeded; a throw rolls back both.
    this.#range = range;
    this.#chainHead = chain;
    return { firstSeq, size: range.size, root: range.root(), chainHead: chain };
  }

  append(batch: readonly PendingEntry[]): CommitResult {
    const before = { range: this.#range, chainHead: this.#chainHead };
    try {
      return this.#appendTx.immediate(batch);
    } catch (err) {
      this.#range = before.range;
      this.#chainHead = before.chainHead;
      throw err instanceof SealogError ? err : ioError(this.path, 'append to', err);
    }
  }

  head(): LedgerHead {
    const s = this.#loadState(false);
    return { size: s.range.size, root: s.range.root(), chainHead: s.chainHead };
  }

  addCheckpoint(size: number, note: string, createdAt: number): void {
    // Under 'process' durability commits are not fsynced, yet the sealer copies
    // this note to the anchor file (other storage) as soon as it returns: a
    // power loss could then leave the anchor ahead of the file, an outage that
    // reads as truncation. One synchronous commit here fsyncs the WAL, and with
    // it every commit before it: one fsync per checkpoint, not per batch.
    const sync = this.#durability === 'process';
    try {
      if (sync) this.#db.pragma('synchronous = FULL');
      try {
        this.#insertCheckpoint.run(size, note, createdAt);
      } finally {
        if (sync) this.#db.pragma('synchronous = NORMAL');
      }
    } catch (err) {
      throw ioError(this.path, 'store a checkpoint in', err);
    }
  }

  /** The newest stored checkpoint note, if any. */
  lastCheckpointNote(): string | undefined {
    const row = this.#db.prepare('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
      | { note: unknown }
      | undefined;
    return typeof row?.note === 'string' ? row.note : undefined;
  }

  /** The underlying connection, for modules in core that add tables (budgets, checkpoints). */
  get db(): Database.Database {
    return this.#db;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
