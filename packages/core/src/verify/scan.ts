import type Database from 'better-sqlite3';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { CompactRange } from '../merkle.js';
import type { Finding } from './types.js';

// One streaming pass over `records` in seq order. Every value comes from a
// file an attacker may have written: seq may be negative, fractional, text,
// beyond 2^53 or duplicated (if the table was recreated without its primary
// key), entry and chain may be NULL, TEXT, numbers or huge. Nothing here
// throws on content; SQLite errors (a damaged file) propagate to the caller.

/** Rows fetched per query; large pages amortise better-sqlite3's per-call cost. */
const PAGE_ROWS = 8192;
/** Larger entries are not read (the writer caps entries at 1 MiB by default). */
export const MAX_VERIFY_ENTRY_BYTES = 64 * 1024 * 1024;
/** Stored chains remembered before each break, to find where a displaced row belongs. */
export const LINK_WINDOW = 64;
/** Breaks kept for classification; later ones are reported without it. */
export const MAX_BREAKS = 2048;

/** A row whose stored chain is not SHA-256(previous chain ‖ leaf). */
export interface Break {
  seq: number;
  /** Position among the rows read (0-based), i.e. the leaf index it occupies in the tree. */
  index: number;
  leaf: Buffer;
  /** The stored chain, or undefined when it is not a 32-byte blob. */
  stored: Buffer | undefined;
  /** SHA-256(previous row's stored chain ‖ leaf): what the chain would be had nothing changed. */
  recomputed: Buffer;
  /** seq of the previous row read, or -1 for the first row. */
  prevSeq: number;
  /** Up to LINK_WINDOW (seq, stored chain) pairs of the rows just before, oldest first; seq -1 = chain[-1]. */
  window: { seq: number; chain: Buffer }[];
}

export interface ScanResult {
  /** Rows taken into the chain and tree, in seq order. */
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
}

type Emit = (f: Finding) => void;

class Scanner {
  readonly #range = new CompactRange();
  readonly #wanted: Set<number>;
  readonly #emit: Emit;
  readonly roots = new Map<number, Buffer>();
  readonly breaks: Break[] = [];
  readonly unclassified: number[] = [];
  readonly gaps: { from: number; to: number }[] = [];
  // Ring of the last LINK_WINDOW (seq, chain) pairs; filled only cheaply per row.
  readonly #ringSeq = new Float64Array(LINK_WINDOW);
  readonly #ringChain: Buffer[] = new Array(LINK_WINDOW);
  #ringLen = 0;
  #ringPos = 0;
  prev: Buffer = ZERO_HASH;
  lastSeq = -1;

  constructor(wanted: Set<number>, emit: Emit) {
    this.#wanted = wanted;
    this.#emit = emit;
    if (wanted.has(0)) this.roots.set(0, this.#range.root());
    this.#remember(-1, ZERO_HASH);
  }

  get range(): CompactRange {
    return this.#range;
  }

  #remember(seq: number, chain: Buffer): void {
    this.#ringSeq[this.#ringPos] = seq;
    this.#ringChain[this.#ringPos] = chain;
    this.#ringPos = (this.#ringPos + 1) % LINK_WINDOW;
    if (this.#ringLen < LINK_WINDOW) this.#ringLen++;
  }

  #window(): { seq: number; chain: Buffer }[] {
    const out: { seq: number; chain: Buffer }[] = [];
    for (let i = this.#ringLen; i > 0; i--) {
      const at = (this.#ringPos - i + LINK_WINDOW) % LINK_WINDOW;
      out.push({ seq: this.#ringSeq[at]!, chain: this.#ringChain[at]! });
    }
    return out;
  }

  /** Checks one row. `size` is length(entry) as SQLite reports it (entry is NULL when too large). */
  row(seq: unknown, entry: unknown, size: unknown, chain: unknown): void {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      const shown = typeof seq === 'string' ? JSON.stringify(seq.slice(0, 40)) : String(seq);
      this.#emit({
        kind: 'malformed-row',
        message: `a row has seq ${shown}, not an integer in 0..2^53-1; it was skipped`,
      });
      return;
    }
    if (seq <= this.lastSeq) {
      this.#emit({
        kind: 'inserted',
        seq,
        message: `row ${seq}: a second row with the same seq (inserted); it was skipped`,
      });
      return;
    }
    if (seq > this.lastSeq + 1) {
      this.gaps.push({ from: this.lastSeq + 1, to: seq - 1 });
    }
    const leaf = this.#leaf(seq, entry, size);
    let stored: Buffer | undefined;
    if (Buffer.isBuffer(chain) && chain.length === HASH_SIZE) stored = chain;
    else
      this.#emit({
        kind: 'malformed-row',
        seq,
        message: `row ${seq}: stored chain is ${describe(chain)}, not a 32-byte blob`,
      });
    const recomputed = chainHash(this.prev, leaf);
    if (stored === undefined || !stored.equals(recomputed)) {
      if (this.breaks.length < MAX_BREAKS) {
        this.breaks.push({
          seq,
          index: this.#range.size,
          leaf,
          stored,
          recomputed,
          prevSeq: this.lastSeq,
          window: this.#window(),
        });
      } else this.unclassified.push(seq);
    }
    // Resynchronise on the stored chain: if only this row's entry changed, the
    // next row still links to it, so one edit yields one finding, not a cascade.
    this.prev = stored ?? recomputed;
    this.lastSeq = seq;
    this.#remember(seq, this.prev);
    this.#range.append(leaf);
    if (this.#wanted.has(this.#range.size)) this.roots.set(this.#range.size, this.#range.root());
  }

  #leaf(seq: number, entry: unknown, size: unknown): Buffer {
    if (Buffer.isBuffer(entry)) return leafHash(entry);
    if (typeof entry === 'string') {
      // Same bytes would hash the same, but the format says BLOB: an edit by hand.
      this.#emit({ kind: 'malformed-row', seq, message: `row ${seq}: entry is TEXT, not a BLOB` });
      return leafHash(Buffer.from(entry, 'utf8'));
    }
    if (entry === null && typeof size === 'number' && size > MAX_VERIFY_ENTRY_BYTES) {
      this.#emit({
        kind: 'malformed-row',
        seq,
        message: `row ${seq}: entry is ${size} bytes, more than the ${MAX_VERIFY_ENTRY_BYTES} the verifier reads; it cannot be checked`,
      });
      return Buffer.alloc(HASH_SIZE);
    }
    this.#emit({
      kind: 'malformed-row',
      seq,
      message: `row ${seq}: entry is ${describe(entry)}, not a BLOB`,
    });
    return leafHash(entry === null ? Buffer.alloc(0) : Buffer.from(String(entry), 'utf8'));
  }
}

function describe(v: unknown): string {
  if (v === null) return 'NULL';
  if (Buffer.isBuffer(v)) return `a ${v.length}-byte blob`;
  if (typeof v === 'string') return 'TEXT';
  return typeof v === 'number' ? 'a number' : typeof v;
}

/** True when `records.seq` is the INTEGER PRIMARY KEY (a rowid alias): unique integers, cheap to page. */
function standardSchema(db: Database.Database): boolean {
  const cols = db.prepare('PRAGMA table_info(records)').all() as {
    name: unknown;
    type: unknown;
    pk: unknown;
  }[];
  const seq = cols.find((c) => c.name === 'seq');
  const pks = cols.filter((c) => typeof c.pk === 'number' && c.pk > 0);
  return !!seq && String(seq.type).toUpperCase() === 'INTEGER' && seq.pk === 1 && pks.length === 1;
}

const COLUMNS = `seq, iif(length(entry) <= ${MAX_VERIFY_ENTRY_BYTES}, entry, NULL), length(entry),
  iif(length(chain) <= ${2 * HASH_SIZE}, chain, NULL)`;

/**
 * Reads every record once, in seq order, in pages, and recomputes leaves,
 * chain and Merkle tree. `wantedSizes` are the tree sizes whose roots the
 * caller needs (checkpoint sizes). Run inside a read transaction so all pages
 * see one snapshot.
 * @throws whatever better-sqlite3 throws on a damaged file (the caller maps it).
 */
export function scanRecords(db: Database.Database, wantedSizes: Set<number>, emit: Emit): ScanResult {
  const s = new Scanner(wantedSizes, emit);
  if (standardSchema(db)) {
    // Seqs beyond 2^53 come back from better-sqlite3 as lossy numbers and cannot
    // be paged by; they are only counted.
    const max = Number.MAX_SAFE_INTEGER;
    const first = db.prepare(`SELECT ${COLUMNS} FROM records WHERE seq <= ? ORDER BY seq LIMIT ?`).raw(true);
    const next = db
      .prepare(`SELECT ${COLUMNS} FROM records WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw(true);
    let rows = first.all(max, PAGE_ROWS) as unknown[][];
    for (;;) {
      for (const r of rows) s.row(r[0], r[1], r[2], r[3]);
      if (rows.length < PAGE_ROWS) break;
      rows = next.all(rows[rows.length - 1]![0], max, PAGE_ROWS) as unknown[][];
    }
    const beyond = (db.prepare('SELECT count(*) AS n FROM records WHERE seq > ?').get(max) as { n: number })
      .n;
    if (beyond > 0) {
      emit({
        kind: 'malformed-row',
        message: `${beyond} row(s) have a seq beyond 2^53-1; they were skipped`,
      });
    }
  } else {
    emit({
      kind: 'malformed-row',
      message:
        'the records table does not have the sealog schema (seq INTEGER PRIMARY KEY); it was recreated or edited',
    });
    const all = db.prepare(`SELECT ${COLUMNS} FROM records ORDER BY seq`).raw(true);
    for (const r of all.iterate() as Iterable<unknown[]>) s.row(r[0], r[1], r[2], r[3]);
  }
  return {
    rows: s.range.size,
    lastSeq: s.lastSeq,
    lastChain: s.prev,
    root: s.range.root(),
    compact: s.range.encode(),
    roots: s.roots,
    breaks: s.breaks,
    unclassified: s.unclassified,
    gaps: s.gaps,
  };
}
