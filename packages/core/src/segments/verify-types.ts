import type { VerifyReport } from '../verify/types.js';
import { type JudgedStatement, type JudgedStatements, releasesOf } from './retention.js';
import type { HoldScope, HoldStatement } from './statements.js';

// The report of `verifySegments` (`sealog verify <dir> --json`), documented in
// docs/verify.md §1.6. Per-segment findings stay in each segment's own report;
// the findings here are about the segments as one history.

/**
 * What a cross-segment finding is about (docs/verify.md §1.6):
 * - segment-missing: a segment is absent and no valid, sealed prune statement
 *   with a matching tombstone says it expired (or it was not due).
 * - segment-misplaced: a file's sealed row 0 names another index than its name.
 * - segment-binding: row 0 is not a binding, or it does not carry the previous
 *   segment's final size, root and base (cut short, extended or replaced).
 * - segment-unsealed: a closed segment no valid checkpoint covers to its end.
 * - segment-unreadable: a segment file that cannot be read as a ledger.
 * - segment-stray: a name like a segment's that is not one (reported, not read; not a failure).
 * - pruned-under-hold: a segment pruned while a legal hold covered it.
 * - bad-statement: a retention statement that is malformed or not signed by a trusted key.
 * - truncated: a checkpoint given from outside matches no segment (the newest were removed or cut).
 * - bad-checkpoint: a checkpoint given from outside that does not verify under the keys.
 * - segment-timestamp: (with TSA anchors) a segment holds the RFC 3161 token of
 *   another segment's checkpoint note: moved or copied there.
 */
export type SegmentFindingKind =
  | 'segment-missing'
  | 'segment-misplaced'
  | 'segment-binding'
  | 'segment-unsealed'
  | 'segment-unreadable'
  | 'segment-stray'
  | 'pruned-under-hold'
  | 'bad-statement'
  | 'truncated'
  | 'bad-checkpoint'
  | 'segment-timestamp';

export interface SegmentFinding {
  kind: SegmentFindingKind;
  /** The segment index concerned. */
  segment?: number;
  /** The row of that segment concerned. */
  seq?: number;
  message: string;
}

export interface SegmentSummary {
  index: number;
  file: string;
  /** The segment passes on its own: its report is OK (a closed segment sealed by the next binding may have an unsealed tail). */
  ok: boolean;
  /** Rows read and their recomputed root (hex). */
  size: number;
  root?: string;
  /** Records before it, from its binding. */
  base?: number;
  /** Oldest and newest row time (the `ts` index, which verify checks against each entry), ms. */
  oldest?: number;
  newest?: number;
  /** What seals its last row: its own checkpoint, the next segment's sealed binding, or nothing. */
  sealedBy: 'checkpoint' | 'next-binding' | 'none';
  /** The segment's own verify report (absent when it could not be read). */
  report?: VerifyReport;
  /** Why it could not be read. */
  error?: string;
}

/** A segment that is absent because a valid prune statement removed it. */
export interface PrunedSummary {
  index: number;
  base: number;
  size: number;
  /** Its final root, hex. */
  root: string;
  /** Its oldest and newest row times, ms. */
  oldest: number;
  newest: number;
  /** The prune statement's time and retention, ms, and its reason. */
  prunedAt: number;
  retention: number;
  reason: string;
  /** Where the statement is stored. */
  statement: { segment: number; seq: number };
  /** Set when a legal hold covered it at the time: then it is also a `pruned-under-hold` finding. */
  underHold?: string;
}

export interface HoldSummary {
  id: string;
  reason: string;
  time: number;
  scope: HoldScope;
  /** Where the hold statement is stored, and whether a valid checkpoint covers it. */
  at: { segment: number; seq: number };
  sealed: boolean;
  /** Base64 SHA-256 of its stored note: the name a release gives the hold it ends. */
  hash: string;
  /** The latest release of it, if released. */
  released?: { time: number; reason: string; at: { segment: number; seq: number } };
  active: boolean;
}

/** A prune statement signed by a trusted key, as stored in a present segment. */
export interface PruneRecord {
  at: { segment: number; seq: number };
  /** Covered by a valid checkpoint: only then does it excuse a missing segment. */
  sealed: boolean;
  time: number;
  retention: number;
  reason: string;
  segments: { index: number; base: number; size: number; root: string; oldest: number; newest: number }[];
}

export interface SegmentsReport {
  version: 1;
  ok: boolean;
  dir: string;
  origin?: string;
  segments: SegmentSummary[];
  findings: SegmentFinding[];
  pruned: PrunedSummary[];
  holds: HoldSummary[];
  /** The prune statements signed by a trusted key, in ledger order. */
  prunes: PruneRecord[];
  strays: string[];
  /** Rows read over all present segments. */
  records: number;
}

/** The hold statements as the report lists them. Linear: `active` goes into a Set, releases are indexed. */
export function holdSummaries(
  judged: Pick<JudgedStatements, 'holds' | 'releases'>,
  active: readonly JudgedStatement<HoldStatement>[],
): HoldSummary[] {
  const inForce = new Set(active);
  return judged.holds.map((h) => {
    const s = h.statement;
    const out: HoldSummary = {
      id: s.id,
      reason: s.reason,
      time: s.time,
      scope: s.scope,
      at: h.at,
      sealed: h.sealed,
      hash: h.hash,
      active: inForce.has(h),
    };
    const r = out.active ? undefined : releasesOf(judged, h).at(-1);
    if (r !== undefined) out.released = { time: r.statement.time, reason: r.statement.reason, at: r.at };
    return out;
  });
}
