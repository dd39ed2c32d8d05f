import type Database from 'better-sqlite3';
import type { ErasedLeaves } from '../chain/erased.js';
import { HASH_SIZE } from '../hash.js';
import type { CompactRange } from '../merkle.js';
import { type CleanPage, PAGE_ROWS } from './page.js';
import {
  DEFAULT_THREADS,
  inThreadPages,
  MIN_PARALLEL_ROWS,
  type PageSource,
  workerPages,
} from './page-pool.js';
import { type Break, type Emit, MAX_VERIFY_ENTRY_BYTES, Scanner } from './scanner.js';

// The verifier's single read of the records table: standard ledgers in pages
// of seq ranges (fast path page.ts, on worker threads when the ledger is
// large), anything else row by row through the Scanner.

export interface ScanResult {
  /** Leaves of a pruned prefix the scan started after (0: none). */
  base: number;
  /** Leaves in the tree: the pruned prefix's and the rows taken, in seq order. */
  rows: number;
  lastSeq: number;
  /** Stored chain of the last row (or the recomputed one if it was unusable); zeros when empty. */
  lastChain: Buffer;
  root: Buffer;
  compact: Buffer;
  /** Root after the first n rows, for each requested n ≤ rows. */
  roots: Map<number, Buffer>;
  breaks: Break[];
  /** Seqs of breaks beyond MAX_BREAKS. */
  unclassified: number[];
  /** Missing seq ranges [from, to] (inclusive). */
  gaps: { from: number; to: number }[];
  /** Rows whose leaf was taken from an erasure statement (`by` = its seq). */
  erased: { seq: number; by: number }[];
}

/**
 * True when `records.seq` is the INTEGER PRIMARY KEY as sealog creates it: a
 * rowid alias (unique integers, cheap to page). `INTEGER PRIMARY KEY DESC` and
 * `WITHOUT ROWID` tables report the same column info but keep seq in an index,
 * where any value fits; they are read as a recreated table.
 */
function standardSchema(db: Database.Database): boolean {
  const cols = db.prepare('PRAGMA table_info(records)').all() as {
    name: unknown;
    type: unknown;
    pk: unknown;
  }[];
  const seq = cols.find((c) => c.name === 'seq');
  const pks = cols.filter((c) => typeof c.pk === 'number' && c.pk > 0);
  if (!seq || String(seq.type).toUpperCase() !== 'INTEGER' || seq.pk !== 1 || pks.length !== 1) return false;
  const table = db
    .prepare("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = 'records'")
    .get() as { wr: unknown } | undefined;
  const pkIndex = db.prepare("SELECT 1 FROM pragma_index_list('records') WHERE origin = 'pk'").get();
  return table?.wr === 0 && pkIndex === undefined;
}

const COLUMNS = `seq, iif(length(entry) <= ${MAX_VERIFY_ENTRY_BYTES}, entry, NULL), length(entry),
  iif(length(chain) <= ${2 * HASH_SIZE}, chain, NULL), iif(length(ts) <= 64, ts, NULL)`;

/** Where the rows come from and how many threads hash them. */
export interface ScanSource {
  /** The ledger file, for worker threads' own connections. */
  path: string;
  /** Worker threads; 0 hashes on this thread. Default {@link DEFAULT_THREADS}. */
  threads?: number;
  /** Erased rows whose leaf comes from a signed statement: their pages are read row by row. */
  erased?: ErasedLeaves;
  /** A pruned prefix's tree and chain state (verify/tombstone.ts): rows are read from its size. */
  start?: { range: CompactRange; chainHead: Buffer };
  /** Called after each page with the rows done and to do. */
  onProgress?: (p: { done: number; total: number }) => void;
}

/**
 * Reads every record once, in seq order, in pages, and recomputes leaves,
 * chain and Merkle tree. `wantedSizes` are the tree sizes whose roots the
 * caller needs (checkpoint sizes). Run inside a read transaction so all pages
 * see one snapshot (worker threads read only rows up to its last seq, which an
 * append-only ledger never changes).
 * @throws whatever better-sqlite3 throws on a damaged file (the caller maps it).
 */
export function scanRecords(
  db: Database.Database,
  wantedSizes: Set<number>,
  emit: Emit,
  source?: ScanSource,
): ScanResult {
  const s = new Scanner(wantedSizes, emit, source?.erased, source?.start);
  if (!standardSchema(db)) {
    emit({
      kind: 'malformed-row',
      message:
        'the records table does not have the sealog schema (seq INTEGER PRIMARY KEY); it was recreated or edited',
    });
    const all = db.prepare(`SELECT ${COLUMNS} FROM records ORDER BY seq`).raw(true);
    for (const r of all.iterate() as Iterable<unknown[]>) s.row(r[0], r[1], r[2], r[3], r[4]);
    return result(s);
  }
  // Seqs beyond 2^53 come back from better-sqlite3 as lossy numbers and cannot
  // be paged by; they are only counted.
  const max = Number.MAX_SAFE_INTEGER;
  // Negative seqs (a hand edit) come first in seq order; the scanner reports and skips each.
  const negative = db.prepare(`SELECT ${COLUMNS} FROM records WHERE seq < 0 ORDER BY seq`).raw(true);
  for (const r of negative.iterate() as Iterable<unknown[]>) s.row(r[0], r[1], r[2], r[3], r[4]);
  const [lastSeq, count] = db
    .prepare('SELECT max(seq), count(*) FROM records WHERE seq >= 0 AND seq <= ?')
    .raw(true)
    .get(max) as [number | null, number];
  if (s.base > 0) belowPrefix(db, s.base, emit);
  if (lastSeq !== null && s.base === 0 && lastSeq + 1 <= 2 * count + PAGE_ROWS) {
    scanPages(db, s, lastSeq, source);
  } else if (lastSeq !== null) {
    // Sparse seqs (only a hand-made file has them), or rows after a pruned prefix: page by rows.
    const next = db
      .prepare(`SELECT ${COLUMNS} FROM records WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw(true);
    // seq > -1: negatives were read above; after a pruned prefix, from its size on (rows below were counted)
    let rows = next.all(s.base - 1, max, PAGE_ROWS) as unknown[][];
    for (;;) {
      for (const r of rows) s.row(r[0], r[1], r[2], r[3], r[4]);
      if (rows.length < PAGE_ROWS) break;
      rows = next.all(rows[rows.length - 1]![0], max, PAGE_ROWS) as unknown[][];
    }
  }
  const beyond = (db.prepare('SELECT count(*) AS n FROM records WHERE seq > ?').get(max) as { n: number }).n;
  if (beyond > 0) {
    emit({
      kind: 'malformed-row',
      message: `${beyond} row(s) have a seq beyond 2^53-1; they were skipped`,
    });
  }
  return result(s);
}

/**
 * Rows kept below a pruned prefix: the tombstone says [0, base) was removed, so any
 * row there was inserted (or the tombstone lies about the cut). One finding, counted.
 */
function belowPrefix(db: Database.Database, base: number, emit: Emit): void {
  const [n, lo, hi] = db
    .prepare('SELECT count(*), min(seq), max(seq) FROM records WHERE seq >= 0 AND seq < ?')
    .raw(true)
    .get(base) as [number, number | null, number | null];
  if (n === 0) return;
  emit({
    kind: 'inserted',
    seq: lo ?? 0,
    message: `${n} row(s) (seq ${lo}..${hi}) lie inside the prefix [0, ${base}) the tombstone says was pruned: rows were inserted there, or the tombstone names the wrong size`,
  });
}

/** Pages of PAGE_ROWS seqs: taken whole when clean (page.ts), else row by row. */
function scanPages(db: Database.Database, s: Scanner, lastSeq: number, source?: ScanSource): void {
  const rows = db.prepare(`SELECT ${COLUMNS} FROM records WHERE seq >= ? AND seq < ? ORDER BY seq`).raw(true);
  // A worker's page links to this snapshot at both ends: its first row to our last
  // chain (Scanner.page), its last chain to the row in our snapshot, so pages from
  // a file swapped in behind our back cannot be taken.
  const chainAt = db.prepare('SELECT chain FROM records WHERE seq = ?').pluck();
  // group_concat goes through text: in a UTF-16 file that is lossy (surrogates), so
  // only UTF-8 files, as sealog writes them, take the fast path at all.
  const fast = db.pragma('encoding', { simple: true }) === 'UTF-8';
  const threads = source?.threads ?? DEFAULT_THREADS;
  let pages: PageSource | undefined;
  try {
    if (fast && source && threads > 0 && lastSeq + 1 >= MIN_PARALLEL_ROWS) {
      pages = workerPages(source.path, lastSeq, threads);
    }
    if (fast) pages ??= inThreadPages(db, lastSeq);
    for (let k = 0; k * PAGE_ROWS <= lastSeq; k++) {
      const from = k * PAGE_ROWS;
      // Taken from the pool even when unused (pages are handed out once each, in order).
      // A page holding an authorised erased row is hashed row by row, where the
      // statement's leaf is used; the fast path hashes every entry as stored.
      const taken = pages?.page(k);
      const page = source?.erased?.anyIn(from, from + PAGE_ROWS) ? undefined : taken;
      const to = Math.min(from + PAGE_ROWS, lastSeq + 1);
      if (!(page && sameEnd(page, chainAt.get(from + page.count - 1)) && s.page(from, page)))
        for (const r of rows.iterate(from, to) as Iterable<unknown[]>) s.row(r[0], r[1], r[2], r[3], r[4]);
      source?.onProgress?.({ done: to, total: lastSeq + 1 });
    }
  } finally {
    pages?.close();
  }
}

function sameEnd(page: CleanPage, chain: unknown): boolean {
  const at = (page.count - 1) * HASH_SIZE;
  return (
    Buffer.isBuffer(chain) &&
    chain.length === HASH_SIZE &&
    page.chains.compare(chain, 0, HASH_SIZE, at, at + HASH_SIZE) === 0
  );
}

function result(s: Scanner): ScanResult {
  return {
    base: s.base,
    rows: s.range.size,
    lastSeq: s.lastSeq,
    lastChain: s.prev,
    root: s.range.root(),
    compact: s.range.encode(),
    roots: s.roots,
    breaks: s.breaks,
    unclassified: s.unclassified,
    gaps: s.gaps,
    erased: s.erased,
  };
}
