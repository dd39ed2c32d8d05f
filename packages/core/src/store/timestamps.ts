import type Database from 'better-sqlite3';
import { HASH_SIZE } from '../hash.js';
import { MAX_TIMESTAMP_TOKEN_BYTES } from '../timestamp/der.js';

// Reading `checkpoint_timestamps` (docs/timestamps.md §5) from a file anyone may
// have edited. Attacker's options: any row values (text where a blob belongs,
// a 1 GiB token, a 3-byte hash, a negative size, NULLs, a table recreated with
// other types), any number of rows. So: a token larger than
// MAX_TIMESTAMP_TOKEN_BYTES or not a BLOB is never loaded (SQLite reads a
// BLOB's length from its header), rows are read in pages by rowid, and each
// unusable row comes back with a `problem` instead of throwing. Token bytes
// returned are still attacker input: verifyTimestampToken judges them.

/** One stored token row, as a reader sees it. Nothing here is trusted. */
export interface StoredTimestamp {
  /** The row's rowid. */
  id: number;
  /** The checkpoint size the writer stamped (-1 when not an integer). */
  size: number;
  /** SHA-256 of the stamped note as stored (32 bytes; empty when the row's value is not). */
  noteSha256: Buffer;
  /** The DER TimeStampToken (empty when `problem` is set). */
  token: Buffer;
  /** The token's genTime in ms as the writer copied it (an unverified index; 0 when not a number). */
  tsaTime: number;
  createdAt: number;
  /** Why the row cannot be used: its token is oversized or not a BLOB, or its hash is not 32 bytes. */
  problem?: string;
}

const PAGE_ROWS = 256;

/** True when the file has the table (a ledger made before it existed has not; readers never add it). */
export function hasTimestampTable(db: Database.Database): boolean {
  return (
    db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint_timestamps'")
      .get() !== undefined
  );
}

interface RawRow {
  rid: unknown;
  size: unknown;
  hash: unknown;
  token: unknown;
  token_type: unknown;
  token_len: unknown;
  tsa_time: unknown;
  created_at: unknown;
}

/**
 * Every token row in rowid order, a page at a time (memory stays at one page of
 * ≤ 64 KiB tokens). Yields nothing for a ledger without the table.
 * @throws whatever better-sqlite3 throws for a table whose columns were changed
 *   (the caller turns it into E_IO, as for any other unreadable table).
 */
export function* readTimestamps(db: Database.Database): Generator<StoredTimestamp> {
  if (!hasTimestampTable(db)) return;
  // length() of a BLOB comes from the record header; the CASE keeps an oversized
  // token (or hash) out of memory altogether.
  const stmt = db.prepare(
    `SELECT rowid AS rid, size,
       CASE WHEN typeof(note_sha256) = 'blob' AND length(note_sha256) = ${HASH_SIZE} THEN note_sha256 END AS hash,
       CASE WHEN typeof(token) = 'blob' AND length(token) <= ${MAX_TIMESTAMP_TOKEN_BYTES} THEN token END AS token,
       typeof(token) AS token_type,
       CASE WHEN typeof(token) = 'blob' THEN length(token) END AS token_len,
       tsa_time, created_at
     FROM checkpoint_timestamps WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = stmt.all(after, PAGE_ROWS) as RawRow[];
    for (const r of rows) yield toTimestamp(r);
    if (rows.length < PAGE_ROWS) return;
    after = Number(rows[rows.length - 1]!.rid);
  }
}

function toTimestamp(r: RawRow): StoredTimestamp {
  const row: StoredTimestamp = {
    id: Number(r.rid),
    size: typeof r.size === 'number' && Number.isSafeInteger(r.size) && r.size >= 0 ? r.size : -1,
    noteSha256: Buffer.isBuffer(r.hash) ? r.hash : Buffer.alloc(0),
    token: Buffer.isBuffer(r.token) ? r.token : Buffer.alloc(0),
    tsaTime: typeof r.tsa_time === 'number' && Number.isFinite(r.tsa_time) ? r.tsa_time : 0,
    createdAt: typeof r.created_at === 'number' && Number.isFinite(r.created_at) ? r.created_at : 0,
  };
  if (r.token_type !== 'blob') row.problem = `its token is ${String(r.token_type)}, not a BLOB`;
  else if (!Buffer.isBuffer(r.token))
    row.problem = `its token is ${String(r.token_len)} bytes, over ${MAX_TIMESTAMP_TOKEN_BYTES}: not read`;
  else if (row.noteSha256.length !== HASH_SIZE) row.problem = 'its note hash is not 32 bytes';
  if (row.problem !== undefined) row.token = Buffer.alloc(0);
  return row;
}
