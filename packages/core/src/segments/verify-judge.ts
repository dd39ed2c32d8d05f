import { splitAnchorNotes } from '../checkpoint/anchor.js';
import { openCheckpoint } from '../checkpoint/signed.js';
import type { VerifierKey } from '../note/keys.js';
import { readSmallFile } from '../small-file.js';
import type { VerifyReport } from '../verify/types.js';
import type { SegmentBinding } from './binding.js';
import type { SegmentSlot } from './layout.js';
import {
  before,
  describeHold,
  holdCovers,
  holdsInForce,
  type JudgedStatements,
  releasesOf,
} from './retention.js';
import type { PrunedSegment } from './statements.js';
import type { SegmentFacts } from './verify-read.js';
import type { PrunedSummary, SegmentFinding, SegmentSummary } from './verify-types.js';

export type { PrunedSummary } from './verify-types.js';

// The judgement of absent segments (retention) and of checkpoints given from
// outside, for verifySegments. A missing segment is excused only by a prune
// statement that a trusted key signed, that a valid checkpoint seals, and that
// names exactly the head the tombstone and the next segment's binding carry.

/** Largest tombstone read: one checkpoint note (a few hundred bytes; witness lines add some). */
export const MAX_TOMBSTONE_BYTES = 64 * 1024;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const days = (ms: number) => `${Number((ms / 86_400_000).toFixed(3))} days`;

interface Read {
  report: VerifyReport;
  facts: SegmentFacts;
  summary: SegmentSummary;
}

export interface MissingContext {
  slots: readonly SegmentSlot[];
  newestFile: number | undefined;
  read: ReadonlyMap<number, Read>;
  bindings: ReadonlyMap<number, SegmentBinding>;
  /** k such that segment k+1's binding carries segment k's final head. */
  bound: ReadonlySet<number>;
  judged: JudgedStatements;
  keys: readonly VerifierKey[];
  origin: string | undefined;
  retention: number | undefined;
  add: (f: SegmentFinding) => void;
}

/** Reads a tombstone: a regular file of at most MAX_TOMBSTONE_BYTES, without following a symlink. Never throws. */
export function readTombstone(path: string): string | undefined {
  return readSmallFile(path, MAX_TOMBSTONE_BYTES);
}

/**
 * Judges every index below the newest segment (and any tombstone) that has no
 * file: expired under retention, or `segment-missing` / `pruned-under-hold`.
 * Runs of absent indexes without tombstones are reported once per run, so a
 * hostile name like seg-999999999999999.tomb costs nothing.
 */
export function judgeMissing(ctx: MissingContext): PrunedSummary[] {
  const { slots, newestFile, add } = ctx;
  const pruned: PrunedSummary[] = [];
  if (newestFile === undefined) {
    add({ kind: 'segment-missing', message: 'no segment file in the directory: every segment is missing' });
  }
  const tombs = slots.filter((s) => s.file === undefined && s.tombstone !== undefined);
  const known = slots.map((s) => s.index);
  // Runs of indexes with neither a file nor a tombstone, from 1 to the last known index.
  let expected = 1;
  for (const index of known) {
    if (index > expected) {
      add({
        kind: 'segment-missing',
        segment: expected,
        message:
          index - 1 === expected
            ? `segment ${expected} is missing (no file, no tombstone)`
            : `segments ${expected} to ${index - 1} are missing (no file, no tombstone)`,
      });
    }
    expected = index + 1;
  }
  for (const t of tombs) {
    const p = authorise(ctx, t.index, t.tombstone!);
    if (p !== undefined) pruned.push(p);
  }
  // Prune never removes the newest segment: a tombstone past the newest file means newer ones were deleted.
  const lastTomb = tombs.at(-1)?.index;
  if (lastTomb !== undefined && (newestFile === undefined || lastTomb > newestFile)) {
    add({
      kind: 'segment-missing',
      segment: lastTomb + 1,
      message: `segment ${lastTomb} was pruned, so a newer segment ${lastTomb + 1} existed; it is missing (the newest segments were deleted)`,
    });
  }
  return pruned;
}

function authorise(ctx: MissingContext, k: number, tombstone: string): PrunedSummary | undefined {
  const { judged, add } = ctx;
  const naming = judged.prunes.filter((p) => p.statement.segments.some((s) => s.index === k));
  const sealed = naming.filter((p) => p.sealed);
  const missing = (why: string) =>
    add({ kind: 'segment-missing', segment: k, message: `segment ${k} is missing and not expired: ${why}` });
  if (sealed.length === 0) {
    missing(
      naming.length > 0
        ? 'the prune statement naming it is not covered by a valid checkpoint'
        : 'no prune statement signed by a trusted key names it (its tombstone alone proves nothing)',
    );
    return undefined;
  }
  let why = '';
  for (const p of sealed) {
    const seg = p.statement.segments.find((s) => s.index === k)!;
    why = problem(ctx, k, seg, tombstone, p.statement.time, p.statement.retention) ?? '';
    if (why !== '') continue;
    const out: PrunedSummary = {
      index: k,
      base: seg.base,
      size: seg.size,
      root: hex(seg.root),
      oldest: seg.oldest,
      newest: seg.newest,
      prunedAt: seg.prunedAt ?? p.statement.time,
      retention: p.statement.retention,
      reason: p.statement.reason,
      statement: p.at,
    };
    // A carried line speaks of an earlier prune: the holds that counted are those in force
    // at its time (placed by then and not released by then), among those recorded before P.
    const when = seg.prunedAt;
    const held = holdsInForce(judged, p.at).filter(
      (h) =>
        holdCovers(h.statement.scope, { index: k, oldest: seg.oldest, newest: seg.newest }) &&
        (when === undefined || h.statement.time <= when),
    );
    if (when !== undefined) {
      const already = new Set(held);
      for (const h of judged.holds) {
        if (already.has(h) || !before(h.at, p.at) || h.statement.time > when) continue;
        if (!holdCovers(h.statement.scope, { index: k, oldest: seg.oldest, newest: seg.newest })) continue;
        // Released only after the earlier prune: it was in force then.
        const releasedBy = releasesOf(judged, h).some((r) => r.statement.time <= when);
        if (!releasedBy) held.push(h);
      }
    }
    if (held.length > 0) {
      out.underHold = held[0]!.statement.id;
      add({
        kind: 'pruned-under-hold',
        segment: k,
        message: `segment ${k} was pruned (statement in segment ${p.at.segment} row ${p.at.seq}) while ${describeHold(held[0]!.statement)} covered it`,
      });
    }
    return out;
  }
  missing(why);
  return undefined;
}

/** Why a prune statement does not excuse segment k, or undefined when it does. */
function problem(
  ctx: MissingContext,
  k: number,
  seg: PrunedSegment,
  tombstone: string,
  time: number,
  retention: number,
): string | undefined {
  const note = readTombstone(tombstone);
  if (note === undefined)
    return `its tombstone ${tombstone} cannot be read (not a regular file, or larger than ${MAX_TOMBSTONE_BYTES} bytes)`;
  try {
    const c = openCheckpoint(
      note,
      ctx.keys,
      ctx.origin !== undefined ? { origin: ctx.origin } : {},
    ).checkpoint;
    if (c.size !== seg.size || hex(c.root) !== hex(seg.root))
      return `its tombstone seals size ${c.size}, not the size ${seg.size} and root the prune statement names`;
  } catch (err) {
    return `its tombstone is not a checkpoint signed by a trusted key (${(err as Error).message})`;
  }
  const next = ctx.read.get(k + 1);
  if (next !== undefined) {
    const b = ctx.bindings.get(k + 1);
    if (
      b?.prev === undefined ||
      b.prev.size !== seg.size ||
      hex(b.prev.root) !== hex(seg.root) ||
      b.base !== seg.base + seg.size
    )
      return `segment ${k + 1}'s binding does not carry the head (size ${seg.size}, base ${seg.base}) the prune statement names`;
  }
  const prev = ctx.read.get(k - 1);
  const pb = ctx.bindings.get(k - 1);
  if (k === 1 && seg.base !== 0) return 'segment 1 starts at base 0';
  if (prev !== undefined && pb !== undefined && seg.base !== pb.base + prev.report.size)
    return `its base ${seg.base} does not follow segment ${k - 1}`;
  const prunedAt = seg.prunedAt ?? time;
  if (prunedAt > time) return 'a carried line says it was pruned after the statement that carries it';
  if (prunedAt < seg.newest + retention)
    return `it was pruned at ${new Date(prunedAt).toISOString()}, before its newest record (${new Date(seg.newest).toISOString()}) plus the retention the statement names`;
  if (ctx.retention !== undefined && retention < ctx.retention)
    return `it was pruned under a retention of ${days(retention)}, shorter than the policy of ${days(ctx.retention)} (--retention)`;
  return undefined;
}

/**
 * Checkpoints given from outside: each must verify and match a head of the
 * directory (a valid stored checkpoint of a present segment, a sealed binding's
 * head, or a pruned segment's). A removed or cut-short newest segment is caught
 * only this way. Earlier notes of a file may belong to pruned segments (their
 * intermediate checkpoints are gone with them); the last note of each file must match.
 */
export function checkTrusted(
  trusted: readonly string[],
  keys: readonly VerifierKey[],
  origin: string | undefined,
  read: ReadonlyMap<number, Read>,
  bindings: ReadonlyMap<number, SegmentBinding>,
  pruned: readonly PrunedSummary[],
  add: (f: SegmentFinding) => void,
): void {
  if (trusted.length === 0) return;
  const heads = new Set<string>();
  for (const [index, r] of read) {
    for (const c of r.report.checkpoints)
      if (c.valid && c.size !== undefined && c.root !== undefined) heads.add(`${c.size}:${c.root}`);
    const b = bindings.get(index);
    if (b?.prev !== undefined && r.report.sealed >= 1) heads.add(`${b.prev.size}:${hex(b.prev.root)}`);
  }
  for (const p of pruned) heads.add(`${p.size}:${p.root}`);
  for (const [f, text] of trusted.entries()) {
    const notes = splitAnchorNotes(text);
    for (const [i, note] of notes.entries()) {
      const where = `given checkpoint ${i + 1} of ${notes.length} (file ${f + 1})`;
      let size: number;
      let root: string;
      try {
        const c = openCheckpoint(note, keys, origin !== undefined ? { origin } : {}).checkpoint;
        size = c.size;
        root = hex(c.root);
      } catch (err) {
        add({ kind: 'bad-checkpoint', message: `${where}: ${(err as Error).message}` });
        continue;
      }
      if (heads.has(`${size}:${root}`)) continue;
      if (i < notes.length - 1 && pruned.length > 0) continue; // an older note, possibly of a pruned segment
      add({
        kind: 'truncated',
        message: `${where} (size ${size}, root ${root.slice(0, 16)}…) matches no segment in the directory: the newest segments were removed, one was cut short, or its checkpoints were deleted`,
      });
    }
  }
}
