import type Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { ioError, openReadOnly } from './open.js';
import { readTimestamps, type StoredTimestamp } from './timestamps.js';

export type { StoredTimestamp };

/** A stored record as readers see it. `entry` is the exact hashed bytes. */
export interface StoredRecord {
  seq: number;
  ts: number;
  entry: Buffer;
  chain: Buffer;
}

/** A stored checkpoint row. */
export interface StoredCheckpoint {
  id: number;
  size: number;
  note: string;
  createdAt: number;
}

const DEFAULT_PAGE = 4096;

/**
 * Read-only access to a ledger file. Uses its own connection in WAL mode, so it
 * never blocks writers and sees a consistent snapshot per statement. Every
 * value it returns came from a file that may have been edited by an attacker:
 * callers that need integrity must verify, not trust.
 */
export class LedgerReader {
  readonly path: string;
  readonly #db: Database.Database;

  constructor(path: string) {
    this.path = path;
    this.#db = openReadOnly(path);
  }

  /** Number of records (max seq + 1, as stored; verify checks it has no gaps). */
  size(): number {
    const row = this.#sql(() => this.#db.prepare('SELECT max(seq) AS m FROM records').get()) as {
      m: unknown;
    };
    return typeof row.m === 'number' ? row.m + 1 : 0;
  }

  /**
   * Runs a query against the (possibly hostile) file: a schema edited so that
   * our SQL no longer prepares, or pages SQLite finds corrupt, become E_IO /
   * E_NOT_LEDGER instead of a raw SqliteError escaping to the caller.
   */
  #sql<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw err instanceof SealogError ? err : ioError(this.path, 'read', err);
    }
  }

  /** Records with seq in [from, to), ascending, read in pages so memory stays flat. */
  *records(from = 0, to = Number.MAX_SAFE_INTEGER, pageSize = DEFAULT_PAGE): Generator<StoredRecord> {
    const stmt = this.#sql(() =>
      this.#db.prepare(
        'SELECT seq, ts, entry, chain FROM records WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?',
      ),
    );
    let next = from;
    for (;;) {
      const rows = this.#sql(() => stmt.all(next, to, pageSize)) as unknown[];
      for (const r of rows) yield toRecord(r);
      if (rows.length < pageSize) return;
      next = (rows[rows.length - 1] as { seq: number }).seq + 1;
    }
  }

  /** The last `n` records, ascending. */
  last(n: number): StoredRecord[] {
    const rows = this.#sql(() =>
      this.#db
        .prepare('SELECT seq, ts, entry, chain FROM records ORDER BY seq DESC LIMIT ?')
        .all(Math.max(0, n)),
    ) as unknown[];
    return rows.map(toRecord).reverse();
  }

  /** Checkpoints in insertion order. */
  checkpoints(): StoredCheckpoint[] {
    const rows = this.#sql(() =>
      this.#db.prepare('SELECT id, size, note, created_at FROM checkpoints ORDER BY id').all(),
    ) as {
      id: number;
      size: unknown;
      note: unknown;
      created_at: unknown;
    }[];
    return rows.map((r) => ({
      id: r.id,
      size: typeof r.size === 'number' ? r.size : -1,
      note: typeof r.note === 'string' ? r.note : Buffer.isBuffer(r.note) ? r.note.toString('utf8') : '',
      createdAt: typeof r.created_at === 'number' ? r.created_at : 0,
    }));
  }

  /**
   * The RFC 3161 token rows (`checkpoint_timestamps`), in rowid order, read a page
   * at a time; none for a ledger made before the table existed. Rows are attacker
   * input: a token over 64 KiB or of the wrong type is reported in `problem`, not
   * loaded, and the tokens returned must still be verified (verifyTimestampToken).
   * @throws SealogError E_IO when the table cannot be read (its columns were changed).
   */
  *timestamps(): Generator<StoredTimestamp> {
    const rows = this.#sql(() => readTimestamps(this.#db));
    for (;;) {
      const next = this.#sql(() => rows.next());
      if (next.done) return;
      yield next.value;
    }
  }

  /** The connection, for readers elsewhere in core (verify, report). */
  get db(): Database.Database {
    return this.#db;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/** Normalises a row read from a possibly hostile store; types are not trusted. @throws E_FORMAT for a non-number seq. */
export function toRecord(r: unknown): StoredRecord {
  const row = r as { seq: unknown; ts: unknown; entry: unknown; chain: unknown };
  if (typeof row.seq !== 'number') throw new SealogError('E_FORMAT', 'a record row has a non-integer seq');
  return {
    seq: row.seq,
    ts: typeof row.ts === 'number' ? row.ts : 0,
    // A TEXT entry (written by hand) is read as its UTF-8 bytes; verify will judge it.
    entry: Buffer.isBuffer(row.entry) ? row.entry : Buffer.from(String(row.entry ?? ''), 'utf8'),
    chain: Buffer.isBuffer(row.chain) ? row.chain : Buffer.alloc(0),
  };
}

/**
 * Parses a stored entry defensively (the file may be hostile): the JSON object,
 * or undefined for invalid UTF-8/JSON or any non-object. Never throws.
 */
export function parseEntry(entry: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(entry.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
