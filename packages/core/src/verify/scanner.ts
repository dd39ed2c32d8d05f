import type { ErasedLeaves } from '../chain/erased.js';
import { chainHash, HASH_SIZE, leafHash, ZERO_HASH } from '../hash.js';
import { CompactRange } from '../merkle.js';
import type { CleanPage } from './page.js';
import { checkTs } from './ts-check.js';
import type { Finding } from './types.js';

// The checks of one streaming pass over `records` in seq order. Every value comes from a
// file an attacker may have written: seq may be negative, fractional, text,
// beyond 2^53 or duplicated (if the table was recreated without its primary
// key), entry and chain may be NULL, TEXT, numbers or huge. Nothing here
// throws on content; SQLite errors (a damaged file) propagate to the caller.

/** Larger entries are not read (the writer caps entries at 1 MiB by default). */
export const MAX_VERIFY_ENTRY_BYTES = 64 * 1024 * 1024;
/** Stored chains remembered before each break, to find where a displaced row belongs. */
export const LINK_WINDOW = 64;
/** Breaks kept for classification; later ones are reported without it. */
export const MAX_BREAKS = 2048;

/** A row whose stored chain is not SHA-256(previous chain ‖ leaf). */
export interface Break {
  seq: number;
  /** Position among the rows read (0-based): the leaf index it occupies, less the pruned prefix. */
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

export type Emit = (f: Finding) => void;

/** Recomputes leaves, chain links and the Merkle tree over rows fed to it in seq order. */
export class Scanner {
  readonly #range: CompactRange;
  /** Leaves before the first row read: a pruned prefix's size (its tombstone's range), else 0. */
  readonly base: number;
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
  /** Rows whose leaf came from an erasure statement (verify/erasures.ts judges them). */
  readonly erased: { seq: number; by: number }[] = [];
  readonly #erasedLeaves: ErasedLeaves | undefined;

  /**
   * @param start a pruned prefix (verify/tombstone.ts): the tree and chain go on from its
   *   compact range and chain value, and rows are expected from seq `start.range.size`.
   */
  constructor(
    wanted: Set<number>,
    emit: Emit,
    erased?: ErasedLeaves,
    start?: { range: CompactRange; chainHead: Buffer },
  ) {
    this.#wanted = wanted;
    this.#emit = emit;
    this.#erasedLeaves = erased;
    this.#range = start ? start.range.clone() : new CompactRange();
    this.base = this.#range.size;
    if (start) {
      this.prev = start.chainHead;
      this.lastSeq = this.base - 1;
    }
    if (wanted.has(this.base)) this.roots.set(this.base, this.#range.root());
    this.#remember(this.lastSeq, this.prev);
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

  /**
   * Checks one row. `size` is length(entry) as SQLite reports it (entry is NULL
   * when too large); `ts` is the row's time index, checked against the entry.
   */
  row(seq: unknown, entry: unknown, size: unknown, chain: unknown, ts: unknown): void {
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
    if (Buffer.isBuffer(entry)) {
      const bad = checkTs(seq, entry, ts);
      if (bad) this.#emit(bad);
    }
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
          index: this.#range.size - this.base,
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

  /**
   * Takes a clean page of rows seq from..from+count-1 (page.ts checked every
   * link inside it) if its first row links to the row before; false, changing
   * nothing, if it does not (the caller then reads the page row by row).
   */
  page(from: number, p: CleanPage): boolean {
    if (this.lastSeq !== from - 1) return false;
    const first = chainHash(this.prev, p.leaves.subarray(0, HASH_SIZE));
    if (p.chains.compare(first, 0, HASH_SIZE, 0, HASH_SIZE) !== 0) return false;
    for (let i = 0; i < p.count; i++) {
      this.#range.append(p.leaves.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      if (this.#wanted.has(this.#range.size)) this.roots.set(this.#range.size, this.#range.root());
    }
    for (let i = Math.max(0, p.count - LINK_WINDOW); i < p.count; i++) {
      this.#remember(from + i, p.chains.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    }
    this.prev = p.chains.subarray((p.count - 1) * HASH_SIZE, p.count * HASH_SIZE);
    this.lastSeq = from + p.count - 1;
    return true;
  }

  #leaf(seq: number, entry: unknown, size: unknown): Buffer {
    // An erased row: the leaf its signed statement names (only for the exact marker).
    const hit = this.#erasedLeaves?.leafOf(seq, entry);
    if (hit) {
      this.erased.push({ seq, by: hit.by });
      return hit.leaf;
    }
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
