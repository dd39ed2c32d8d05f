import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { HASH_SIZE } from '../hash.js';

/** The witness's record of one log: the latest checkpoint it cosigned. */
export interface WitnessHead {
  origin: string;
  size: number;
  /** RFC 6962 root hash at `size`, 32 bytes. */
  root: Uint8Array;
  /** When this head was cosigned (ms since the epoch). */
  updatedMs: number;
  /** The cosigned checkpoint: the log's signature lines plus ours (tlog-witness §"Monitor Retrieval"). */
  note: string;
}

const FORMAT = 'sealog-witness-state/v1';
// One row per origin (tlog-witness §Introduction: the witness "is only required
// to keep track of the latest checkpoint it observed and verified").
const SCHEMA = `
CREATE TABLE witness_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
CREATE TABLE witness_log (
  origin TEXT PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  root BLOB NOT NULL CHECK (length(root) = ${HASH_SIZE}),
  updated_ms INTEGER NOT NULL,
  note TEXT NOT NULL
) STRICT;
`;
/** How long a write waits for another process holding the file (ms). */
export const DEFAULT_WITNESS_BUSY_TIMEOUT_MS = 5000;

function ioError(path: string, what: string, err: unknown): SealogError {
  return new SealogError('E_IO', `witness state ${path}: cannot ${what}`, { cause: err });
}

interface Row {
  origin: string;
  size: number;
  root: Buffer;
  updated_ms: number;
  note: string;
}

/**
 * The witness's own SQLite file (WAL): the latest cosigned head per log
 * origin. Several processes may share one file; {@link WitnessState.advance}
 * is a compare-and-set inside a `BEGIN IMMEDIATE` transaction, so two requests
 * can never both advance from the same old size (tlog-witness §add-checkpoint,
 * the rollback race).
 */
export class WitnessState {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #get: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #update: Database.Statement;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    this.#get = db.prepare('SELECT origin, size, root, updated_ms, note FROM witness_log WHERE origin = ?');
    this.#insert = db.prepare(
      'INSERT INTO witness_log (origin, size, root, updated_ms, note) VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO NOTHING',
    );
    // The compare-and-set: the row changes only if it still holds what the caller checked.
    this.#update = db.prepare(
      'UPDATE witness_log SET size = ?, root = ?, updated_ms = ?, note = ? WHERE origin = ? AND size = ? AND root = ?',
    );
  }

  /**
   * Opens (creating if absent) a witness state file. A file that has tables
   * but is not a witness state (a ledger, say) is refused.
   * @param options.busyTimeoutMs how long to wait for another process's write (default 5000).
   * @throws SealogError E_CONFIG (not a witness state file), E_IO.
   */
  static open(path: string, options: { busyTimeoutMs?: number } = {}): WitnessState {
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs ?? DEFAULT_WITNESS_BUSY_TIMEOUT_MS });
    } catch (err) {
      throw ioError(path, 'open', err);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // a cosignature is out once we answer: the head must be durable first
      db.transaction(() => {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[];
        if (tables.length === 0) {
          db.exec(SCHEMA);
          db.prepare('INSERT INTO witness_meta (key, value) VALUES (?, ?)').run('format', FORMAT);
          return;
        }
        const format = tables.some((t) => t.name === 'witness_meta')
          ? (db.prepare("SELECT value FROM witness_meta WHERE key = 'format'").get() as { value: string })
          : undefined;
        if (format?.value !== FORMAT) {
          throw new SealogError(
            'E_CONFIG',
            `${path} is not a sealog witness state file (${format ? `format ${JSON.stringify(format.value)}` : 'other tables'}); give the witness a file of its own`,
          );
        }
      }).immediate();
    } catch (err) {
      db.close();
      throw err instanceof SealogError ? err : ioError(path, 'initialise', err);
    }
    return new WitnessState(path, db);
  }

  /** The latest head cosigned for `origin`, or undefined if none. @throws SealogError E_IO. */
  get(origin: string): WitnessHead | undefined {
    let row: Row | undefined;
    try {
      row = this.#get.get(origin) as Row | undefined;
    } catch (err) {
      throw ioError(this.path, 'read', err);
    }
    if (!row) return undefined;
    return {
      origin: row.origin,
      size: row.size,
      root: new Uint8Array(row.root),
      updatedMs: row.updated_ms,
      note: row.note,
    };
  }

  /**
   * Atomically: reads the head of `origin`, calls `decide(current)`, and if it
   * returns a new head, stores it — all in one `BEGIN IMMEDIATE` transaction,
   * so no other connection or process can change the row in between. The
   * write is a compare-and-set on (size, root) as read; if it changes nothing
   * the transaction fails (it cannot, under the lock, but the check is what
   * the protocol's safety rests on, so it is made anyway).
   * `decide` must be synchronous; whatever it returns besides a head is passed through.
   * @throws SealogError E_IO (database failure, lost compare-and-set); anything `decide` throws.
   */
  advance<T>(
    origin: string,
    decide: (current: WitnessHead | undefined) => { head: WitnessHead; result: T } | { result: T },
  ): T {
    const run = this.#db.transaction(() => {
      const current = this.get(origin);
      const outcome = decide(current);
      if (!('head' in outcome)) return outcome.result;
      const h = outcome.head;
      if (h.origin !== origin || !Number.isSafeInteger(h.size) || h.size < 0 || h.root.length !== HASH_SIZE)
        throw new SealogError('E_IO', 'witness state: refusing to store an invalid head');
      const info = current
        ? this.#update.run(
            h.size,
            Buffer.from(h.root),
            h.updatedMs,
            h.note,
            origin,
            current.size,
            Buffer.from(current.root),
          )
        : this.#insert.run(origin, h.size, Buffer.from(h.root), h.updatedMs, h.note);
      if (info.changes !== 1)
        throw new SealogError(
          'E_IO',
          `witness state: the head of ${JSON.stringify(origin)} changed underneath`,
        );
      return outcome.result;
    });
    try {
      return run.immediate();
    } catch (err) {
      if (err instanceof SealogError) throw err;
      throw ioError(this.path, 'update', err);
    }
  }

  /** Every stored head, origin order. @throws SealogError E_IO. */
  heads(): WitnessHead[] {
    try {
      const rows = this.#db.prepare('SELECT origin FROM witness_log ORDER BY origin').all() as {
        origin: string;
      }[];
      return rows.map((r) => this.get(r.origin)).filter((h): h is WitnessHead => h !== undefined);
    } catch (err) {
      if (err instanceof SealogError) throw err;
      throw ioError(this.path, 'read', err);
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
