import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import type { CheckpointKey } from '../signer/types.js';
import { openReadOnly } from '../store/open.js';
import { tombstoneFileName } from './layout.js';
import { describeHold } from './retention.js';
import { appendSealed, type SealedAppend, signAtHead } from './retention-write.js';
import {
  MAX_PRUNE_SEGMENTS,
  MAX_STATEMENT_NOTE_BYTES,
  type PrunedSegment,
  parseStatement,
  STATEMENT_ROW_FILTER,
  statementNoteOf,
} from './statements.js';
import { readTombstone } from './verify-judge.js';
import type { HoldSummary, SegmentSummary, SegmentsReport } from './verify-types.js';

// `sealog prune`: removes the oldest closed segments whose newest record is
// older than the cutoff, keeping a tombstone (the segment's final checkpoint)
// for each, after a signed prune statement naming them is appended to the
// newest segment and sealed. The order makes every crash point recoverable:
//
//   1. statement appended and sealed (else nothing was removed; a rerun adds another)
//   2. per segment, oldest first: tombstone written (temp file, fsync, rename, dir fsync)
//   3.                             seg-k.db removed, then its -wal/-shm/-journal; dir fsync
//
// A rerun verifies the directory (a segment removed in 3 is excused by the
// statement and the tombstone of 1 and 2), then finishes every segment a sealed
// statement names that still has a file, and removes leftover companions.

export interface PruneItem {
  index: number;
  file: string;
  base: number;
  size: number;
  root: Buffer;
  oldest: number;
  newest: number;
}

export interface PrunePlan {
  /** Segments a sealed statement already names that still have a file (an interrupted prune). */
  resume: PruneItem[];
  /** Segments due now, oldest first: a prefix of the closed ones. */
  due: PruneItem[];
  /**
   * Segments pruned earlier whose prune statement lies in a segment due now: the
   * new statement carries them, or their authorisation would go with that segment.
   */
  carried: PrunedSegment[];
  /** Why the prefix stopped where it did (undefined when every closed segment is due). */
  stop?: { index: number; why: string; hold?: HoldSummary };
}

function item(s: SegmentSummary): PruneItem {
  return {
    index: s.index,
    file: s.file,
    base: s.base ?? 0,
    size: s.size,
    root: Buffer.from(s.root ?? '', 'hex'),
    oldest: s.oldest ?? 0,
    newest: s.newest ?? 0,
  };
}

const holdCoversSummary = (h: HoldSummary, s: SegmentSummary): boolean =>
  'segment' in h.scope
    ? h.scope.segment === s.index
    : s.oldest === undefined ||
      s.newest === undefined ||
      (s.oldest <= h.scope.to && h.scope.from <= s.newest);

/**
 * Chooses what to prune from a passing verify report: the oldest present
 * segments, never the newest, whose newest row is older than `cutoff`,
 * stopping at the first that is not due, is covered by an active hold, or
 * holds an active hold's statement.
 */
export function planPrune(report: SegmentsReport, cutoff: number): PrunePlan {
  const present = report.segments;
  const newest = present.at(-1)?.index;
  const named = new Set<number>();
  const heads = new Map<number, string>();
  for (const p of report.prunes) {
    if (!p.sealed) continue;
    for (const g of p.segments) {
      named.add(g.index);
      heads.set(g.index, `${g.size}:${g.root}`);
    }
  }
  const plan: PrunePlan = { resume: [], due: [], carried: [] };
  const active = report.holds.filter((h) => h.active);
  for (const s of present) {
    if (named.has(s.index) && s.index !== newest) {
      // Finishing an interrupted prune removes only what its statement named, byte for byte.
      if (heads.get(s.index) !== `${s.size}:${s.root}`) {
        throw new SealogError(
          'E_TAMPER',
          `segment ${s.index} is named by a prune statement with another head than its file holds; nothing was removed: run sealog verify`,
        );
      }
      // A hold placed after the statement (hold add refuses this; an older
      // sealog did not) stops the rerun: a held segment is never removed silently.
      const held = active.find((h) => holdCoversSummary(h, s) || h.at.segment === s.index);
      if (held !== undefined) {
        throw new SealogError(
          'E_CONFIG',
          `segment ${s.index} is named by an interrupted prune (its statement is sealed), but legal hold ${held.id} (reason: ${JSON.stringify(held.reason)}) placed at segment ${held.at.segment} row ${held.at.seq} ${holdCoversSummary(held, s) ? 'covers it' : 'is recorded in it'}; nothing was removed: the prune cannot finish while the hold is active (sealog hold release when it no longer applies; a copy of the segment kept elsewhere is not affected)`,
        );
      }
      plan.resume.push(item(s));
      continue;
    }
    if (s.index === newest) {
      plan.stop = { index: s.index, why: 'the newest segment is never pruned' };
      break;
    }
    if (s.newest === undefined || s.newest >= cutoff) {
      plan.stop = {
        index: s.index,
        why: `not due: its newest record is from ${s.newest === undefined ? 'an unknown time' : new Date(s.newest).toISOString()}`,
      };
      break;
    }
    const hold = active.find((h) => holdCoversSummary(h, s) || h.at.segment === s.index);
    if (hold !== undefined) {
      const what = holdCoversSummary(hold, s) ? 'under' : 'holds the statement of';
      plan.stop = {
        index: s.index,
        why: `${what} legal hold ${hold.id} (reason: ${JSON.stringify(hold.reason)})`,
        hold,
      };
      break;
    }
    plan.due.push(item(s));
  }
  const due = new Set(plan.due.map((d) => d.index));
  for (const p of report.pruned) {
    if (!due.has(p.statement.segment)) continue;
    const { index, base, size, oldest, newest, prunedAt } = p;
    plan.carried.push({ index, base, size, root: Buffer.from(p.root, 'hex'), oldest, newest, prunedAt });
  }
  if (plan.carried.length + plan.due.length > MAX_PRUNE_SEGMENTS) {
    throw new SealogError(
      'E_CONFIG',
      `this prune would name ${plan.carried.length + plan.due.length} segments (${plan.carried.length} pruned earlier, carried), more than ${MAX_PRUNE_SEGMENTS} in one statement`,
    );
  }
  return plan;
}

/**
 * Refuses to plan while the newest segment holds an unsealed sealog statement
 * (`_sealog` prune, hold, release or erasure) after its last valid checkpoint.
 * Such a row proves nothing yet: anyone who can write the file can plant one
 * there (a copy of a release, say), and prune's own statement and seal would
 * then cover it. Seal it first (`sealog checkpoint`), so that verify judges it.
 * One exception: the statement of an interrupted prune of this directory (a
 * prune statement whose every removed segment is present with exactly the head
 * it names): the rerun seals it with its own, as the crash-safety order expects.
 * @throws SealogError E_CONFIG naming the row.
 */
export function refuseUnsealedStatements(report: SegmentsReport): void {
  const newest = report.segments.at(-1);
  if (newest?.report === undefined) return;
  const from = newest.report.sealed;
  const heads = new Map(report.segments.map((s) => [s.index, `${s.size}:${s.root}`]));
  const db = openReadOnly(newest.file);
  let rows: [unknown, unknown][];
  try {
    rows = db
      .prepare(
        `SELECT seq, iif(length(entry) <= ${2 * MAX_STATEMENT_NOTE_BYTES}, CAST(entry AS TEXT), NULL) FROM records WHERE seq >= ? AND substr(entry, 1, 12) = CAST('{"_sealog":{' AS BLOB) AND (${STATEMENT_ROW_FILTER} OR instr(entry, CAST('"erasure"' AS BLOB)) > 0 OR instr(entry, CAST('"segmentErasure"' AS BLOB)) > 0) ORDER BY seq LIMIT 16`,
      )
      .raw(true)
      .all(from) as [unknown, unknown][];
  } finally {
    db.close();
  }
  const interruptedPrune = (entry: unknown): boolean => {
    if (typeof entry !== 'string') return false;
    const found = statementNoteOf(entry);
    if (found?.type !== 'prune') return false;
    try {
      const s = parseStatement(found.note);
      return (
        s.type === 'prune' &&
        s.segments.every(
          (g) =>
            g.prunedAt !== undefined ||
            heads.get(g.index) === `${g.size}:${Buffer.from(g.root).toString('hex')}`,
        )
      );
    } catch {
      return false;
    }
  };
  const row = rows.find(([, entry]) => !interruptedPrune(entry));
  if (row !== undefined) {
    throw new SealogError(
      'E_CONFIG',
      `the newest segment ${newest.file} holds a sealog statement at row ${String(row[0])} that no checkpoint covers yet (its last valid checkpoint covers ${from} rows); nothing was pruned: seal it first with \`sealog checkpoint ${newest.file} --key <keyfile>\`, check \`sealog hold list\`, then run prune again`,
    );
  }
}

export interface PruneOptions {
  signer: CheckpointKey;
  /** Newest segment file, where the statement is appended. */
  newestFile: string;
  origin: string;
  now: number;
  retention: number;
  reason: string;
}

/** Carries out a plan (see the order above). Returns what was removed. @throws SealogError E_TAMPER / E_IO. */
export async function applyPrune(dir: string, plan: PrunePlan, o: PruneOptions): Promise<PruneItem[]> {
  removeTempFiles(dir);
  if (plan.due.length > 0) {
    const segments: PrunedSegment[] = [
      ...plan.carried,
      ...plan.due.map(({ index, base, size, root, oldest, newest }) => ({
        index,
        base,
        size,
        root,
        oldest,
        newest,
      })),
    ];
    const statement = {
      type: 'prune' as const,
      origin: o.origin,
      time: o.now,
      retention: o.retention,
      reason: o.reason,
      segments,
    };
    await appendSealed(o.newestFile, o.signer, statement, o.now);
  }
  const done: PruneItem[] = [];
  for (const it of [...plan.resume, ...plan.due].sort((a, b) => a.index - b.index)) {
    await writeTombstone(dir, it, o.signer, o.origin);
    removeSegmentFiles(it.file);
    fsyncDir(dir);
    done.push(it);
  }
  return done;
}

/** Removes the -wal/-shm/-journal files left beside pruned segments by an interrupted prune. */
export function removeCompanions(dir: string, indexes: readonly number[]): void {
  for (const k of indexes) removeSegmentFiles(join(dir, tombstoneFileName(k).replace(/\.tomb$/, '.db')));
  if (indexes.length > 0) fsyncDir(dir);
}

function removeSegmentFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      unlinkSync(f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new SealogError('E_IO', `cannot remove ${f}: ${(err as Error).message}`, { cause: err });
    }
  }
}

const TEMP = /^\.seg-\d{6,15}\.tomb\.tmp-\d+$/;

function removeTempFiles(dir: string): void {
  for (const n of readdirSync(dir)) if (TEMP.test(n)) rmSync(join(dir, n), { force: true });
}

/** The tombstone: the segment's final checkpoint, kept if already there and valid, else found or signed. */
async function writeTombstone(
  dir: string,
  it: PruneItem,
  signer: CheckpointKey,
  origin: string,
): Promise<void> {
  const path = join(dir, tombstoneFileName(it.index));
  const keys = [signer.log.verifierKey];
  const matches = (note: string | undefined): boolean => {
    if (note === undefined) return false;
    try {
      const c = openCheckpoint(note, keys, { origin }).checkpoint;
      return c.size === it.size && Buffer.from(c.root).equals(it.root);
    } catch {
      return false;
    }
  };
  if (matches(readTombstone(path))) return;
  let note = storedFinalNote(it.file, it.size).find(matches);
  if (note === undefined) note = await signAtHead(it.file, signer, { size: it.size, root: it.root });
  const tmp = join(dir, `.${tombstoneFileName(it.index)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, note);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}

/** Checkpoint notes stored in the segment at exactly `size`, newest first (at most 16 looked at). */
function storedFinalNote(file: string, size: number): string[] {
  const db = openReadOnly(file);
  try {
    const rows = db
      .prepare(
        `SELECT iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints WHERE size = ? ORDER BY id DESC LIMIT 16`,
      )
      .raw(true)
      .all(size) as [unknown][];
    return rows.map((r) => r[0]).filter((n): n is string => typeof n === 'string');
  } finally {
    db.close();
  }
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the files themselves are synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export type { SealedAppend };
export { describeHold };
