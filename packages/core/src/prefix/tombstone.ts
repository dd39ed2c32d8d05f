import { ChainState } from '../chain/state.js';
import { HASH_SIZE } from '../hash.js';
import { CompactRange, type LeafSource } from '../merkle.js';
import { MAX_NOTE_BYTES } from '../note/note.js';

// A tombstone of a pruned prefix (docs/lifecycle.md "PostgreSQL ledgers"): what
// is kept of rows [0, size) once they are deleted. The signed checkpoint at
// `size`, the RFC 6962 compact range of [0, size) (one perfect-subtree hash per
// set bit of size, left to right: the left frontier, enough to extend the tree
// and to recompute every root at or after `size`), the chain value of row
// size-1 (the next row chains on it), and the seq of the sealed prune statement
// that authorised it. Every field is attacker input until the checkpoint's
// signature and the range's root agree: parse bounds it, never trusts it.

/** Table in which tombstones are kept, beside `records`. */
export const TOMBSTONE_TABLE = 'tombstones';
/** Most tombstone rows read: one per prune; more is a padded table. */
export const MAX_TOMBSTONES = 100_000;

export interface Tombstone {
  id: number;
  size: number;
  /** The checkpoint note at `size` (signature not yet checked). */
  note: string;
  chainHead: Buffer;
  range: CompactRange;
  statementSeq: number;
  prunedAt: number;
}

const safeCount = (v: unknown): number | undefined => {
  const n =
    typeof v === 'bigint' ? Number(v) : typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/**
 * A stored tombstone row, or why it is malformed. Bounds: integer fields safe
 * and non-negative, size ≥ 1, the note a string of at most MAX_NOTE_BYTES, the
 * chain value 32 bytes, the compact range exactly popcount(size) × 32 bytes, the
 * statement after the cut. Never throws.
 */
export function parseTombstone(row: Record<string, unknown>): Tombstone | string {
  const id = safeCount(row.id);
  const size = safeCount(row.size);
  const statementSeq = safeCount(row.statement_seq);
  const prunedAt = safeCount(row.pruned_at);
  if (id === undefined) return 'its id is not a whole number';
  if (size === undefined || size < 1) return 'its size is not a whole number ≥ 1';
  if (statementSeq === undefined || statementSeq < size)
    return 'its statement seq is not a whole number at or after its size';
  if (prunedAt === undefined) return 'its pruned time is not a whole number';
  const note = row.note;
  if (typeof note !== 'string' || note.length > MAX_NOTE_BYTES) return 'its checkpoint is not a note';
  const chainHead = row.chain_head;
  if (!Buffer.isBuffer(chainHead) || chainHead.length !== HASH_SIZE) return 'its chain value is not 32 bytes';
  const compact = row.compact;
  if (!Buffer.isBuffer(compact) || compact.length > 64 * HASH_SIZE) return 'its compact range is not bytes';
  let range: CompactRange;
  try {
    range = CompactRange.decode(size, compact);
  } catch {
    return `its compact range is not ${HASH_SIZE} bytes for each set bit of size ${size}`;
  }
  return { id, size, note, chainHead: Buffer.from(chainHead), range, statementSeq, prunedAt };
}

/** The chain and tree state at the cut, to extend with rows size, size+1, … */
export function stateAt(t: Tombstone): ChainState {
  return new ChainState(t.range.clone(), t.chainHead);
}

/**
 * A LeafSource over leaves [size, …) that also answers perfect subtrees of
 * [0, size) from the compact range (merkle.ts subtreeRoot asks `node` first),
 * so inclusion and consistency proofs for trees past the cut need no pruned
 * leaf. Asking for a pruned leaf (a span the range cannot answer) is a RangeError.
 */
export function prunedLeafSource(range: CompactRange, leaf: (i: number) => Uint8Array): LeafSource {
  const nodes = new Map<string, Uint8Array>();
  let start = 0;
  for (const node of range.nodes) {
    let width = 1;
    while (width * 2 <= range.size - start) width *= 2;
    nodes.set(`${start}:${start + width}`, node);
    start += width;
  }
  const source = (i: number): Uint8Array => {
    if (i < range.size) throw new RangeError(`record ${i} was pruned under retention`);
    return leaf(i);
  };
  return Object.assign(source, {
    // Undefined for any other span: subtreeRoot splits it, down to nodes or kept leaves.
    node: (lo: number, hi: number): Uint8Array | undefined => nodes.get(`${lo}:${hi}`),
  });
}
