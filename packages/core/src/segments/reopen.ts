import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OwnKey } from '../chain/trust.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { LedgerHead } from '../store/types.js';
import type { SegmentBinding } from './binding.js';
import { type bindingMismatch, sealedAt, tombstoneHead } from './checks.js';
import type { SegmentSlot } from './layout.js';
import { segmentFileName } from './layout.js';
import { closeMarker, isClosed, type Segment } from './segment.js';

// What a writer that opens a segment directory derives before it appends: the
// binding the newest segment must carry (from the segment before it, hashed
// with the writer's own trust, or that segment's tombstone), and the closed
// segments a crash left without their final checkpoint.

/** The binding expected of a segment; `base` is unknown after a pruned segment. */
export type Expected = Parameters<typeof bindingMismatch>[1];

export interface ReopenContext {
  dir: string;
  open(index: number): Segment;
  now(): number;
  diverged(what: string): void;
  retire(store: SqliteStore): void;
}

/** A closed segment's final head, derived here (undefined when its store diverged). Closes it first if it is not. */
export function finalHead(seg: Segment, now: number): LedgerHead | undefined {
  if (!isClosed(seg)) closeMarker(seg, now);
  seg.store.refresh();
  return seg.store.divergence ? undefined : seg.store.head();
}

/**
 * The binding segment `index` must carry, and the closed segments before it
 * (oldest first) whose final head `own` has not sealed, still open for the
 * sealer. `expected` is undefined when it cannot be known (a divergence,
 * already reported through `ctx.diverged`).
 */
export function expectedBinding(
  ctx: ReopenContext,
  own: OwnKey,
  slots: SegmentSlot[],
  index: number,
): { expected: Expected | undefined; finals: { seg: Segment; head: LedgerHead }[] } {
  const finals: { seg: Segment; head: LedgerHead }[] = [];
  if (index === 1) return { expected: { index: 1, base: 0 }, finals };
  const slot = slots.find((s) => s.index === index - 1);
  if (slot?.file !== undefined) {
    const prev = ctx.open(index - 1);
    const head = finalHead(prev, ctx.now());
    if (head === undefined) {
      ctx.retire(prev.store);
      return { expected: undefined, finals }; // diverged: reported, nothing is signed
    }
    if (sealedAt(prev.store, head, own)) ctx.retire(prev.store);
    else finals.push({ seg: prev, head });
    // Older closed segments left unsealed by a crash: back to the first one that is sealed.
    for (let k = index - 2; k >= 1; k--) {
      if (slots.find((s) => s.index === k)?.file === undefined) break;
      const seg = ctx.open(k);
      const h = finalHead(seg, ctx.now());
      if (h === undefined || sealedAt(seg.store, h, own)) {
        ctx.retire(seg.store);
        break;
      }
      finals.unshift({ seg, head: h });
    }
    return {
      expected: { index, base: prev.base + head.size, prev: { size: head.size, root: head.root } },
      finals,
    };
  }
  if (slot?.tombstone !== undefined) {
    const h = tombstoneHead(slot.tombstone, own);
    if (h !== undefined) return { expected: { index, prev: { size: h.size, root: h.root } }, finals };
    ctx.diverged(
      `the tombstone ${slot.tombstone} of segment ${index - 1} holds no checkpoint this key signed`,
    );
    return { expected: undefined, finals };
  }
  ctx.diverged(`segment ${index - 1} is missing (no file and no tombstone)`);
  return { expected: undefined, finals };
}

/**
 * What an empty segment `index` must carry, derived from the one before it with
 * whatever trust the writer has (a keyless writer binding a segment whose
 * creator died before binding it). Undefined when it cannot be derived.
 */
export function bindingAfter(ctx: ReopenContext, index: number): SegmentBinding | undefined {
  if (index === 1) return { index: 1, base: 0 };
  if (!existsSync(join(ctx.dir, segmentFileName(index - 1)))) return undefined;
  const prev = ctx.open(index - 1);
  try {
    const head = finalHead(prev, ctx.now());
    if (head === undefined) return undefined;
    return { index, base: prev.base + head.size, prev: { size: head.size, root: head.root } };
  } catch {
    return undefined;
  } finally {
    ctx.retire(prev.store);
  }
}
