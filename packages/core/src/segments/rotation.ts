import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SealogError } from '../errors.js';
import type { Durability } from '../store/sqlite.js';
import type { LedgerHead } from '../store/types.js';
import type { SegmentBinding } from './binding.js';
import { segmentFileName } from './layout.js';
import type { Expected } from './reopen.js';
import { closeMarker, rowCount, type Segment, writeBinding } from './segment.js';
import type { NextSegment } from './spare.js';

// The steps of a rotation (docs/lifecycle.md "Rotation, step by step"), run by
// SegmentedStore (store.ts) inside the commit that finds its segment due:
//
//   close k (marker row, BEGIN IMMEDIATE) → derive k's final head → create k+1
//   bound to that head (spare linked, or built whole) → append to k+1 → seal k
//
// Several processes may write one directory: every append checks k's marker
// inside its own transaction, so nothing lands in k after it closed, and
// link() decides which writer's k+1 exists; the others check it binds the head
// they derived themselves. Signing never happens here.

/** `segments` option: rotate when the segment reaches maxBytes, or is maxAgeMs old. */
export interface SegmentsOptions {
  maxBytes?: number;
  maxAgeMs?: number;
}

/** After a close marker could not be written (a busy lock), rotation is retried this much later. */
export const ROTATE_RETRY_MS = 1000;

/** What `isDue` reads of the open segment. */
export interface OpenSegmentSize {
  rows: number;
  bytes: number;
  bornAt: number;
}

/** Whether the open segment is due (by size or age); never while it holds only its binding row. */
export function isDue(
  policy: SegmentsOptions,
  seg: OpenSegmentSize,
  rotateAfter: number,
  clock: () => number,
): boolean {
  const { maxBytes, maxAgeMs } = policy;
  if (seg.rows <= 1) return false; // only the binding row: nothing to rotate away
  const now = clock();
  if (now < rotateAfter) return false;
  if (maxBytes !== undefined && seg.bytes >= maxBytes) return true;
  return maxAgeMs !== undefined && now - seg.bornAt >= maxAgeMs;
}

/** Step 1: commits `seg`'s close marker; false when it cannot be written now (busy), to retry later. */
export function tryClose(seg: Segment, now: number): boolean {
  try {
    closeMarker(seg, now);
    return true;
  } catch {
    return false;
  }
}

/** What the rotation steps need from the writer. */
export interface RotationContext {
  dir: string;
  now(): number;
  durability: Durability | undefined;
  /** The next segment's file, built ahead (spare.ts). */
  next: NextSegment;
  open(index: number): Segment;
  /** Reports a binding that differs from `expected` as a divergence. */
  check(seg: Segment, expected: Expected | undefined): void;
}

/**
 * Steps 2–3 for a closed `cur` (closed by us or another writer): derives its
 * final head, creates the next segment bound to it (or finds another writer's
 * and checks it binds the same head) and opens it. `head` is undefined when
 * `cur`'s records derive none (a divergence, reported already).
 * @throws SealogError E_STATE when no head derives and no next segment exists.
 */
export function successor(
  ctx: RotationContext,
  cur: Segment,
): { next: Segment; head: LedgerHead | undefined } {
  const index = cur.index + 1;
  cur.store.refresh();
  let expected: SegmentBinding | undefined;
  let head: LedgerHead | undefined;
  let named: Promise<void> | undefined;
  if (!cur.store.divergence) {
    head = cur.store.head();
    expected = { index, base: cur.base + head.size, prev: { size: head.size, root: head.root } };
    named = ctx.next.create(expected);
  } else if (!existsSync(join(ctx.dir, segmentFileName(index)))) {
    throw new SealogError(
      'E_STATE',
      `segment ${cur.store.path} was closed but its records do not derive a head to bind the next segment to; run \`sealog verify\` on it`,
    );
  }
  const next = ctx.open(index);
  if (named !== undefined) next.named = named;
  bindSegment(ctx, next, expected);
  return { next, head };
}

/**
 * Writes the binding as row 0 of a segment made from a spare, unless a writer
 * already did (inside BEGIN IMMEDIATE, so exactly one does), then checks it.
 * @throws SealogError E_STATE when the segment is empty and no binding derives.
 */
export function bindSegment(
  ctx: Pick<RotationContext, 'now' | 'durability' | 'check'>,
  seg: Segment,
  expected: SegmentBinding | undefined,
): void {
  if (rowCount(seg) === 0) {
    if (expected === undefined) {
      throw new SealogError(
        'E_STATE',
        `segment ${seg.store.path} has no binding and the segment before it does not derive one; run \`sealog verify\` on the directory`,
      );
    }
    writeBinding(seg, expected, ctx.now(), ctx.durability);
  }
  ctx.check(seg, expected);
}
