import type Database from 'better-sqlite3';
import { chainHash, HASH_SIZE, leafHash } from '../hash.js';

// The verifier's fast path (issue 8): one query returns a whole page of rows as
// three values (entry lengths, all entries concatenated, all chains
// concatenated) instead of 4 JavaScript values per row, which is where
// better-sqlite3 spends its time. The fast path only ever *accepts* a page: it
// proves the page is exactly the rows seq in [from, to), every entry a blob of
// sane size, every chain a 32-byte blob, and every chain link inside the page
// correct. Anything else (a gap, a TEXT entry, a wrong link, a SQLite error on
// a hostile file, a concatenation out of order) makes the page "dirty", and
// the caller re-reads it row by row through the original scanner, which
// locates and classifies the problem. So an attacker can only slow the
// verifier down to its row-by-row speed, never change what it reports.

/** Rows per page: large pages amortise better-sqlite3's per-call cost. */
export const PAGE_ROWS = 8192;
/**
 * Larger entries send their page to the row-by-row path. It bounds one page's
 * concatenation at PAGE_ROWS × 64 KiB, far below SQLite's 1e9-byte value cap.
 */
export const FAST_ENTRY_BYTES = 64 * 1024;

const PAGE_SQL = `SELECT count(*),
  sum(typeof(entry) = 'blob'), sum(typeof(chain) = 'blob'), sum(length(entry)),
  group_concat(length(entry)), CAST(group_concat(entry, '') AS BLOB), CAST(group_concat(chain, '') AS BLOB)
  FROM (SELECT seq,
    iif(typeof(entry) = 'blob' AND length(entry) <= ${FAST_ENTRY_BYTES}, entry, NULL) AS entry,
    iif(typeof(chain) = 'blob' AND length(chain) = ${HASH_SIZE}, chain, NULL) AS chain
    FROM records WHERE seq >= ? AND seq < ? ORDER BY seq)`;

/** A page every row of which checked out, apart from the link of its first row to the row before. */
export interface CleanPage {
  count: number;
  /** count × 32 bytes: leaf hash of each row. */
  leaves: Buffer;
  /** count × 32 bytes: stored chain of each row. */
  chains: Buffer;
}

/** Prepares the page query on `db` (a ledger with the standard schema). */
export function pageReader(db: Database.Database): (from: number, to: number) => CleanPage | undefined {
  const stmt = db.prepare(PAGE_SQL).raw(true);
  return (from, to) => {
    try {
      return readPage(stmt.get(from, to) as unknown[], to - from);
    } catch {
      // A damaged or hostile page (e.g. values over SQLite's length cap): the
      // row-by-row path re-reads it and reports, or raises, what is wrong.
      return undefined;
    }
  };
}

/**
 * Checks one page's aggregate row. Every value is attacker-controlled: types
 * are checked before use, lengths must add up, and each row's stored chain
 * must equal SHA-256(previous stored chain ‖ leaf).
 */
function readPage(r: unknown[], expected: number): CleanPage | undefined {
  const [count, blobs, chainBlobs, total, lengths, entries, chains] = r;
  // seq is the rowid (an integer, unique): `expected` rows in [from, to) are exactly from..to-1.
  if (count !== expected || count === 0) return undefined;
  if (blobs !== count || chainBlobs !== count) return undefined;
  if (typeof lengths !== 'string' || !Buffer.isBuffer(entries) || !Buffer.isBuffer(chains)) return undefined;
  if (entries.length !== total || chains.length !== count * HASH_SIZE) return undefined;
  const lens = lengths.split(',');
  if (lens.length !== count) return undefined;
  const leaves = Buffer.allocUnsafe(count * HASH_SIZE);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const len = Number(lens[i]);
    if (!Number.isSafeInteger(len) || len < 0 || off + len > entries.length) return undefined;
    const leaf = leafHash(entries.subarray(off, off + len));
    off += len;
    leaf.copy(leaves, i * HASH_SIZE);
    if (i > 0) {
      const at = i * HASH_SIZE;
      const link = chainHash(chains.subarray(at - HASH_SIZE, at), leaf);
      if (chains.compare(link, 0, HASH_SIZE, at, at + HASH_SIZE) !== 0) return undefined;
    }
  }
  return off === entries.length ? { count, leaves, chains } : undefined;
}
