import type Database from 'better-sqlite3';
import { chainHash, HASH_SIZE, leafHash } from '../hash.js';
import { indexTime } from '../time.js';

// The verifier's fast path (issue 8): one query returns a whole page of rows as
// a few values (seqs, entry lengths, all entries concatenated, all chains
// concatenated) instead of 4 JavaScript values per row, which is where
// better-sqlite3 spends its time. The fast path only ever *accepts* a page: it
// proves the page is exactly the rows seq from, from+1, …, to-1 in that order,
// every entry a blob of sane size (and the page within a byte budget), every
// chain a 32-byte blob, every ts the entry's own time (ts-check.ts), and every
// chain link inside the page correct. Anything
// else (a gap, a duplicated rowid, a TEXT entry, a wrong link, a SQLite error
// on a hostile file) makes the page "dirty", and the caller re-reads it row by
// row through the original scanner, which locates and classifies the problem.
// So an attacker can only slow the verifier down to its row-by-row speed,
// never change what it reports. The caller also only uses this on UTF-8 files
// whose seq is a true rowid (scan.ts): group_concat goes through text.

/** Rows per page: large pages amortise better-sqlite3's per-call cost. */
export const PAGE_ROWS = 8192;
/** Larger entries send their page to the row-by-row path. */
export const FAST_ENTRY_BYTES = 64 * 1024;
/**
 * A page whose entries add up to more is read row by row: it bounds what one
 * page's concatenation holds in memory (per thread), whatever the file says.
 */
export const FAST_PAGE_BYTES = 32 * 1024 * 1024;

// Cheap first look: length() of a blob is read from the record header, not the blob.
const SIZE_SQL = 'SELECT count(*), sum(length(entry)) FROM records WHERE seq >= ? AND seq < ?';

const PAGE_SQL = `SELECT count(*),
  sum(typeof(entry) = 'blob'), sum(typeof(chain) = 'blob'), sum(length(entry)), group_concat(seq),
  group_concat(length(entry)), CAST(group_concat(entry, '') AS BLOB), CAST(group_concat(chain, '') AS BLOB),
  group_concat(ts)
  FROM (SELECT seq, iif(typeof(ts) = 'integer', ts, NULL) AS ts,
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
  const size = db.prepare(SIZE_SQL).raw(true);
  const stmt = db.prepare(PAGE_SQL).raw(true);
  return (from, to) => {
    try {
      const [count, bytes] = size.get(from, to) as unknown[];
      if (count !== to - from || typeof bytes !== 'number' || bytes > FAST_PAGE_BYTES) return undefined;
      return readPage(stmt.get(from, to) as unknown[], from, to - from);
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
function readPage(r: unknown[], from: number, expected: number): CleanPage | undefined {
  const [count, blobs, chainBlobs, total, seqList, lengths, entries, chains, tsList] = r;
  if (count !== expected || count === 0) return undefined;
  if (blobs !== count || chainBlobs !== count) return undefined;
  if (typeof seqList !== 'string' || typeof lengths !== 'string') return undefined;
  if (!Buffer.isBuffer(entries) || !Buffer.isBuffer(chains)) return undefined;
  if (entries.length !== total || chains.length !== count * HASH_SIZE) return undefined;
  // The rows, in the order concatenated, are exactly seq from, from+1, …: a count alone
  // would pass a duplicated rowid in a hand-edited b-tree, or a seq that is not an integer.
  const seqs = seqList.split(',');
  if (seqs.length !== count) return undefined;
  for (let i = 0; i < count; i++) if (seqs[i] !== String(from + i)) return undefined;
  const lens = lengths.split(',');
  if (lens.length !== count) return undefined;
  // Non-integer ts values were turned to NULL above, which group_concat skips.
  if (typeof tsList !== 'string') return undefined;
  const tss = tsList.split(',');
  if (tss.length !== count) return undefined;
  const leaves = Buffer.allocUnsafe(count * HASH_SIZE);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const len = Number(lens[i]);
    if (!Number.isSafeInteger(len) || len < 0 || off + len > entries.length) return undefined;
    const entry = entries.subarray(off, off + len);
    const leaf = leafHash(entry);
    off += len;
    // The time index must be the entry's own time (ts-check.ts says why and names the row).
    if (tss[i] !== String(indexTime(entry))) return undefined;
    leaf.copy(leaves, i * HASH_SIZE);
    if (i > 0) {
      const at = i * HASH_SIZE;
      const link = chainHash(chains.subarray(at - HASH_SIZE, at), leaf);
      if (chains.compare(link, 0, HASH_SIZE, at, at + HASH_SIZE) !== 0) return undefined;
    }
  }
  return off === entries.length ? { count, leaves, chains } : undefined;
}
