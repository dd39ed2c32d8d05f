// `sealog tail [-f] <segment directory>` (issue 18): the newest records across
// segments, then, with -f, following the newest segment and moving on to the
// next one when a rotating writer creates it. Everything read from the
// directory is attacker input: a segment that never becomes readable is
// skipped after a grace period with a notice, never waited on for ever, and
// segments older than the one being followed are never gone back to.

import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  listSegments,
  type NoticeSink,
  type OpenedSegment,
  openSegment,
  queryRecords,
  querySegments,
  type SegmentNotice,
  type SegmentQuery,
  type SegmentRecord,
  segmentFileName,
} from '@sealog/core';
import type { Io } from '../command.js';
import { checkHasSegments, noticePrinter, readSegments } from '../segments.js';

type Print = (r: SegmentRecord) => void;

export interface TailTiming {
  pollMs: number;
  /** How long a new segment file may stay "not a ledger yet" while its writer creates it. */
  graceMs: number;
}

/**
 * Polls between full listings while following. Each poll looks for the next
 * index with one lstat; a listing (an lstat per segment) finds a later one
 * past a gap, so a gap is noticed within this many polls.
 */
const FULL_LIST_EVERY = 25;

/** True when `dir` holds segment `index` as a regular file (as listSegments counts it). */
function hasFile(dir: string, index: number): boolean {
  try {
    return lstatSync(join(dir, segmentFileName(index))).isFile();
  } catch {
    return false;
  }
}

/**
 * The first segment file's index after `after`, or undefined (also when the
 * directory is gone). Without `full`, only `after + 1` is looked for.
 */
function nextIndex(dir: string, after: number, full = true): number | undefined {
  if (hasFile(dir, after + 1)) return after + 1;
  if (!full) return undefined;
  try {
    return listSegments(dir).slots.find((s) => s.file !== undefined && s.index > after)?.index;
  } catch {
    return undefined;
  }
}

/** The newest segment file's index, or undefined. */
function newestPresent(dir: string): number | undefined {
  try {
    return listSegments(dir).slots.findLast((s) => s.file !== undefined)?.index;
  } catch {
    return undefined;
  }
}

/** The segment being followed: opened, or still being created by its writer, or given up on. */
interface Current {
  index: number;
  seg?: OpenedSegment;
  /** When a file that is not yet readable was first seen. */
  since: number;
  dead: boolean;
  next: number;
  version?: unknown;
}

function inRange(q: SegmentQuery, index: number): boolean {
  return index >= (q.segmentFrom ?? 0) && index < (q.segmentTo ?? Number.POSITIVE_INFINITY);
}

/** Prints the records of `cur` from its `next` seq up to its present size. */
function drain(cur: Current, q: SegmentQuery, print: Print): void {
  const seg = cur.seg;
  if (!seg) return;
  const end = seg.reader.size();
  if (end <= cur.next) return;
  if (inRange(q, cur.index)) {
    const from = Math.max(cur.next, q.seqFrom ?? 0);
    const to = Math.min(end, q.seqTo ?? Number.MAX_SAFE_INTEGER);
    for (const r of queryRecords(seg.reader, { ...q, seqFrom: from, seqTo: to }))
      print({ ...r, segment: seg.index, position: seg.binding.base + r.seq });
  }
  cur.next = end;
}

/**
 * Tries to open `cur`'s file; true when it did. A file that is not a ledger
 * yet is retried until `graceMs` has passed since it was first seen; then its
 * notice is printed and the segment is given up on. An empty one (no binding
 * row yet) is waited for while it is the newest.
 */
function tryOpen(dir: string, cur: Current, notice: NoticeSink, graceMs: number): boolean {
  const held: SegmentNotice[] = [];
  const path = hasFile(dir, cur.index) ? join(dir, segmentFileName(cur.index)) : undefined;
  const got = path === undefined ? undefined : openSegment(path, cur.index, (n) => held.push(n));
  if (got !== undefined && got !== 'empty') {
    cur.seg = got;
    cur.version = got.reader.db.pragma('data_version', { simple: true });
    return true;
  }
  if (Date.now() - cur.since <= graceMs) return false;
  if (got === 'empty') {
    if (nextIndex(dir, cur.index) === undefined) return false;
    held.push({
      kind: 'skipped',
      message: `segment ${cur.index} skipped: it stayed empty and a newer one exists`,
    });
  }
  if (path === undefined)
    held.push({ kind: 'skipped', message: `segment ${cur.index} disappeared from ${dir}` });
  for (const n of held) notice(n);
  cur.dead = true;
  return false;
}

/**
 * Moves `cur` on to each newer segment in turn (a writer may have rotated more
 * than once since the last poll): a newer segment means its writer has finished
 * this one, so the rest of this one is printed first. Stops at a segment still
 * being created. Each step goes to a higher index, so it ends.
 */
function advance(
  dir: string,
  cur: Current,
  q: SegmentQuery,
  print: Print,
  notice: NoticeSink,
  graceMs: number,
  full: boolean,
): void {
  for (;;) {
    const later = nextIndex(dir, cur.index, full);
    if (later === undefined || (!cur.seg && !cur.dead)) return;
    if (cur.seg) {
      drain(cur, q, print);
      cur.seg.reader.close();
    }
    if (later > cur.index + 1) {
      const range =
        later - 1 === cur.index + 1
          ? `segment ${cur.index + 1} is`
          : `segments ${cur.index + 1}–${later - 1} are`;
      notice({ kind: 'missing', message: `${range} missing from ${dir}; following segment ${later}` });
    }
    Object.assign(cur, { index: later, seg: undefined, since: Date.now(), dead: false, next: 0 });
    if (tryOpen(dir, cur, notice, graceMs)) drain(cur, q, print);
  }
}

/** Waits for a first segment file in `dir` (which may not exist yet). False when stopped first. */
async function waitForSegment(dir: string, io: Io, pollMs: number, told: boolean): Promise<boolean> {
  while (!io.signal.aborted) {
    if (newestPresent(dir) !== undefined) return true;
    if (!told) io.err(`sealog tail: waiting for a segment in ${dir} to appear (Ctrl-C to stop)\n`);
    told = true;
    await sleep(pollMs, undefined, { signal: io.signal }).catch(() => undefined);
  }
  return false;
}

/**
 * `tail` over segment directory `dir`. `told`: the caller already said on
 * stderr that it is waiting for `dir` to appear.
 */
export async function tailSegments(
  dir: string,
  n: number,
  q: SegmentQuery,
  print: Print,
  io: Io,
  follow: { timing: TailTiming; told: boolean } | undefined,
): Promise<number> {
  if (!follow) {
    return readSegments(dir, io, 'tail', (notice) => {
      for (const r of [...querySegments(dir, q, notice, 'desc', n)].reverse()) print(r);
    });
  }
  const { pollMs, graceMs } = follow.timing;
  if (!(await waitForSegment(dir, io, pollMs, follow.told))) return 0;
  checkHasSegments(dir);
  const notice = noticePrinter(io, 'tail');
  const newest = newestPresent(dir) ?? 0; // 0: gone again since; the next one is followed
  const cur: Current = { index: newest, since: Date.now(), dead: false, next: 0 };
  tryOpen(dir, cur, notice, graceMs);
  // The newest n: those of the followed segment up to its size now, then older segments' newest.
  const end = cur.seg ? cur.seg.reader.size() : 0;
  const mine: SegmentRecord[] = [];
  if (cur.seg && inRange(q, cur.index)) {
    const seg = cur.seg;
    const to = Math.min(end, q.seqTo ?? Number.MAX_SAFE_INTEGER);
    for (const r of queryRecords(seg.reader, { ...q, seqTo: to }, 'desc', n))
      mine.push({ ...r, segment: seg.index, position: seg.binding.base + r.seq });
  }
  const older =
    mine.length < n
      ? [
          ...querySegments(
            dir,
            { ...q, segmentTo: Math.min(newest, q.segmentTo ?? newest) },
            notice,
            'desc',
            n - mine.length,
          ),
        ]
      : [];
  for (const r of [...mine, ...older].reverse()) print(r);
  cur.next = end;
  let polls = 0;
  try {
    while (!io.signal.aborted) {
      await sleep(pollMs, undefined, { signal: io.signal }).catch(() => undefined);
      if (io.signal.aborted) break;
      if (!cur.seg && !cur.dead && tryOpen(dir, cur, notice, graceMs)) drain(cur, q, print);
      else if (cur.seg) {
        // data_version changes only when another connection commits: idle polling costs one PRAGMA.
        const v = cur.seg.reader.db.pragma('data_version', { simple: true });
        if (v !== cur.version) {
          cur.version = v;
          drain(cur, q, print);
        }
      }
      advance(dir, cur, q, print, notice, graceMs, ++polls % FULL_LIST_EVERY === 0);
    }
  } finally {
    cur.seg?.reader.close();
  }
  return 0;
}
