import { canonicalJson } from '../encode.js';
import { HASH_SIZE } from '../hash.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import type { PendingEntry } from '../store/types.js';
import { MAX_SEGMENT_INDEX } from './layout.js';

// Row 0 of every segment (layout.ts) is sealog's own entry
//
//   {"_sealog":{"segment":{"base":B,"index":K,"prev":{"root":"<base64>","size":N}}},
//    "level":30,"levelLabel":"info","msg":"…","time":T}
//
// - index: the segment's place in the history, from 1. Swapping or renaming
//   files cannot move a segment: the index is hashed and sealed with it.
// - base: how many records all earlier segments held (0 for segment 1), so a
//   record has one global position, base + seq, even after earlier segments
//   are pruned.
// - prev (absent exactly for index 1): the previous segment's final tree head,
//   its size and RFC 6962 root. Segment K's checkpoints seal this entry, and
//   with it every record of segment K-1: the segments form one history, and a
//   segment that is missing, swapped, reordered or cut short breaks a binding.
//
// The entry is canonical JSON like every record (encode.ts), so the bytes are
// exactly what canonicalJson gives for the parsed value: anything else (extra
// keys, other spellings) is not a binding.

/** Largest entry we parse as a binding (a real one is under 300 bytes). */
export const MAX_BINDING_BYTES = 1024;

export interface SegmentBinding {
  index: number;
  base: number;
  prev?: { size: number; root: Uint8Array };
}

function message(b: SegmentBinding): string {
  return b.prev === undefined
    ? `sealog: segment ${b.index} begins`
    : `sealog: segment ${b.index} begins; segment ${b.index - 1} ended at size ${b.prev.size}`;
}

function record(b: SegmentBinding, time: number): unknown {
  const segment: Record<string, unknown> = { base: b.base, index: b.index };
  if (b.prev !== undefined) segment.prev = { root: encodeBase64(b.prev.root), size: b.prev.size };
  return { _sealog: { segment }, level: 30, levelLabel: 'info', msg: message(b), time };
}

/** The row-0 entry of a segment. @throws RangeError for a binding that breaks the rules above (a bug). */
export function bindingEntry(b: SegmentBinding, now: number): PendingEntry {
  const problem = bindingProblem(b);
  if (problem) throw new RangeError(`bad segment binding: ${problem}`);
  return { entry: Buffer.from(canonicalJson(record(b, now)), 'utf8'), ts: now };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function bindingProblem(b: SegmentBinding): string | undefined {
  if (!Number.isSafeInteger(b.index) || b.index < 1 || b.index > MAX_SEGMENT_INDEX) return 'index';
  if (!isCount(b.base)) return 'base';
  if ((b.index === 1) !== (b.prev === undefined)) return 'prev is required exactly after segment 1';
  if (b.index === 1 && b.base !== 0) return 'segment 1 starts at base 0';
  if (b.prev !== undefined) {
    // A segment holds at least its own binding row.
    if (!isCount(b.prev.size) || b.prev.size < 1) return 'prev.size';
    if (b.prev.root.length !== HASH_SIZE) return 'prev.root';
    if (b.base < b.prev.size) return 'base is below prev.size';
  }
  return undefined;
}

/**
 * The binding a stored row-0 entry carries: `undefined` when the entry is not a
 * segment binding at all (a plain ledger's first record), `'malformed'` when it
 * claims to be one (`"segment"` under `_sealog`) but is not exactly one. The
 * entry comes from a file an attacker may have written: bounded, never throws.
 */
export function parseBinding(entry: Uint8Array | string): SegmentBinding | 'malformed' | undefined {
  const text = typeof entry === 'string' ? entry : Buffer.from(entry).toString('utf8');
  if (!text.startsWith('{"_sealog":{"segment":')) return undefined;
  if (text.length > MAX_BINDING_BYTES) return 'malformed';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'malformed';
  }
  const seg = (value as { _sealog?: { segment?: unknown } })?._sealog?.segment;
  if (typeof seg !== 'object' || seg === null) return 'malformed';
  const { index, base, prev } = seg as Record<string, unknown>;
  if (!isCount(index) || !isCount(base)) return 'malformed';
  const b: SegmentBinding = { index, base };
  if (prev !== undefined) {
    if (typeof prev !== 'object' || prev === null) return 'malformed';
    const { size, root } = prev as Record<string, unknown>;
    if (!isCount(size) || typeof root !== 'string') return 'malformed';
    const bytes = decodeBase64(root, HASH_SIZE);
    if (bytes === undefined || bytes.length !== HASH_SIZE) return 'malformed';
    b.prev = { size, root: bytes };
  }
  if (bindingProblem(b)) return 'malformed';
  // Exactly the canonical bytes of the record we would write for this binding.
  const time = (value as { time?: unknown }).time;
  if (!isCount(time) || canonicalJson(record(b, time)) !== text) return 'malformed';
  return b;
}
