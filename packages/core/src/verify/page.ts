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
  // Non-integer ts values were turned to NULL above, which group_concat skips:
  // then the list runs out before the rows do, and the page is dirty.
  if (typeof tsList !== 'string') return undefined;
  // The three lists are read in place, one value a row (split() would make
  // 3 × 8192 strings a page); each must end exactly with the last row.
  let seqAt = 0;
  let lenAt = 0;
  let tsAt = 0;
  const leaves = Buffer.allocUnsafe(count * HASH_SIZE);
  let off = 0;
  let prev: Buffer = chains.subarray(0, HASH_SIZE);
  for (let i = 0; i < count; i++) {
    // The rows, in the order concatenated, are exactly seq from, from+1, …: a count alone
    // would pass a duplicated rowid in a hand-edited b-tree, or a seq that is not an integer.
    if (readDecimal(seqList, seqAt) !== from + i) return undefined;
    seqAt = listAt + 1;
    const len = readDecimal(lengths, lenAt);
    lenAt = listAt + 1;
    if (len < 0 || off + len > entries.length) return undefined;
    const entry = entries.subarray(off, off + len);
    const leaf = leafHash(entry);
    off += len;
    // The time index must be the entry's own time (ts-check.ts says why and names the row).
    const next = tsEnd(tsList, tsAt);
    if (next < 0 || !tsIs(tsList, tsAt, next, indexTime(entry))) return undefined;
    tsAt = next + 1;
    leaves.set(leaf, i * HASH_SIZE);
    if (i > 0) {
      const at = i * HASH_SIZE;
      const link = chainHash(prev, leaf);
      // 32 bytes compared here cost less than a call into Buffer#compare.
      for (let k = 0; k < HASH_SIZE; k++) if (link[k] !== chains[at + k]) return undefined;
      prev = link; // equal to the stored chain of row i, so the next link may start from it
    }
  }
  const ends = seqAt === seqList.length + 1 && lenAt === lengths.length + 1 && tsAt === tsList.length + 1;
  return ends && off === entries.length ? { count, leaves, chains } : undefined;
}

/** Index of the comma (or end) that ended the last readDecimal(). */
let listAt = 0;

/**
 * The non-negative integer written at `at` in a comma-separated list, as
 * SQLite writes one (digits, no sign, no leading zero), ending at a comma or
 * the end; -1 for anything else, or past the end. Sets listAt to where it ended.
 */
function readDecimal(list: string, at: number): number {
  const n = list.length;
  let i = at;
  let v = 0;
  for (; i < n; i++) {
    const d = list.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  listAt = i;
  const digits = i - at;
  if (digits === 0 || digits > 15 || (i < n && list.charCodeAt(i) !== 0x2c)) return -1;
  return digits > 1 && list.charCodeAt(at) === 0x30 ? -1 : v;
}

// group_concat(ts) is SQLite's decimal text of each integer, comma-separated.
// Read in place rather than split(): a page is 8192 of them (issue 14).

/** Index of the comma (or end) after the ts value starting at `at`; -1 past the end of the list. */
function tsEnd(list: string, at: number): number {
  if (at > list.length) return -1;
  const comma = list.indexOf(',', at);
  return comma < 0 ? list.length : comma;
}

/** True when list[from, to) is the decimal text of `t` (an integer, as indexTime gives). */
function tsIs(list: string, from: number, to: number, t: number): boolean {
  // Up to 15 digits (every real time): digit by digit, exact below 2^53. Longer: as text.
  const neg = list.charCodeAt(from) === 0x2d;
  const first = neg ? from + 1 : from;
  if (to - first > 15 || to === first) return list.slice(from, to) === String(t);
  let v = 0;
  for (let i = first; i < to; i++) {
    const d = list.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return (neg ? -v : v) === t && !(neg && v === 0) && !(list.charCodeAt(first) === 0x30 && to - first > 1);
}
