import { bodyKey } from './checkpoint.js';
import { type NoteStamp, TSA_LATE_TOLERANCE_MS, type TsaPolicy, timeAgreement } from './timestamped.js';
import type { Finding, TsaSummary } from './types.js';
import type { SeenCheckpoint } from './witnessed.js';

// Which checkpoints are timestamped, and what the newest one seals. The unit is
// the checkpoint body (origin, size, root), as for witnesses: the writer stamps
// the note it signed, and a witness's merged note with the same body is another
// row; the token proves the body existed by its TSA time either way.

/** A checkpoint note as verify saw it (one per distinct note, rows.ts), with its stamps. */
export interface StampedCheckpoint extends SeenCheckpoint {
  stamps?: NoteStamp[];
}

/**
 * Marks every opened checkpoint `timestamped` (some note with its body carries
 * a valid token whose time agrees with that note's signed time) with `tsa` and
 * `tsaTime`, reports disagreeing times (`time-mismatch`) and the valid
 * checkpoints without a timely token (`untimestamped`), and returns what the
 * newest valid checkpoint that is timestamped — and witnessed, under a witness
 * policy — covers. `logSealed` is what the other policies seal.
 */
export function judgeTimestamps(
  all: readonly StampedCheckpoint[],
  policy: TsaPolicy,
  counts: Pick<TsaSummary, 'tokens' | 'verified' | 'unmatched'>,
  logSealed: number,
  witnessPolicy: boolean,
  add: (f: Finding) => void,
): { sealed: number; summary: TsaSummary } {
  // Per body: the earliest timely stamp, else the earliest stamp at all.
  const bodies = new Map<string, { timely?: NoteStamp; any?: NoteStamp }>();
  const reported = new Set<StampedCheckpoint>(); // notes with a time-mismatch of their own
  const earliest = (a: NoteStamp | undefined, b: NoteStamp) => (!a || b.genTimeMs < a.genTimeMs ? b : a);
  for (const s of all) {
    if (!s.opened) continue;
    const key = bodyKey(s.opened);
    const got = bodies.get(key) ?? {};
    bodies.set(key, got);
    for (const stamp of s.stamps ?? []) {
      got.any = earliest(got.any, stamp);
      // A stamp whose time disagrees with its note vouches for nothing, valid note or not;
      // only a valid note's disagreement is reported.
      const why = timeAgreement(stamp, s.opened.time);
      if (why === undefined) got.timely = earliest(got.timely, stamp);
      else if (s.result.valid) {
        const where =
          s.result.id !== undefined
            ? `checkpoint ${s.result.id}`
            : `trusted checkpoint (size ${s.opened.size})`;
        const f: Finding = { kind: 'time-mismatch', message: `${where}: ${why}` };
        if (s.result.id !== undefined) f.checkpointId = s.result.id;
        add(f);
        reported.add(s);
      }
    }
  }
  let sealed = 0;
  let sealedStamp: NoteStamp | undefined;
  const valid = new Map<string, boolean>();
  for (const s of all) {
    if (!s.opened) continue;
    const got = bodies.get(bodyKey(s.opened))!;
    const shown = got.timely ?? got.any;
    s.result.timestamped = got.timely !== undefined;
    // A note of a stamped body that claims a time long before any token proves
    // (a thief's backdated re-sign beside a freshly stamped copy) is not vouched for:
    // the body existed by the TSA's time, not by the time this note claims
    // (red-team review, session 6). A later claim (a heartbeat) is consistent.
    if (got.timely !== undefined && s.opened.time !== undefined) {
      const claimed = s.opened.time * 1000;
      if (got.timely.genTimeMs - got.timely.accuracyMs > claimed + TSA_LATE_TOLERANCE_MS) {
        s.result.timestamped = false;
        if (!reported.has(s)) {
          const where =
            s.result.id !== undefined
              ? `checkpoint ${s.result.id}`
              : `trusted checkpoint (size ${s.opened.size})`;
          const f: Finding = {
            kind: 'time-mismatch',
            message: `${where}: it claims ${new Date(claimed).toISOString()}, but the earliest token for its checkpoint is from ${new Date(got.timely.genTimeMs).toISOString()}; no token vouches for the earlier time (a backdated note beside a stamped copy)`,
          };
          if (s.result.id !== undefined) f.checkpointId = s.result.id;
          add(f);
        }
      }
    }
    if (shown) Object.assign(s.result, { tsa: shown.tsa, tsaTime: shown.genTimeMs });
    if (!s.result.valid) continue;
    valid.set(bodyKey(s.opened), (valid.get(bodyKey(s.opened)) ?? false) || s.result.timestamped);
    const seals = s.result.timestamped && (!witnessPolicy || s.result.witnessed === true);
    if (seals && s.opened.size >= sealed) {
      sealed = s.opened.size;
      sealedStamp = got.timely;
    }
  }
  const stamped = [...valid.values()].filter(Boolean).length;
  const missing = valid.size - stamped;
  if (missing > 0) {
    const what =
      policy.mode === 'required'
        ? 'they do not seal records (--tsa required)'
        : 'reported, not a failure (best-effort)';
    add({
      kind: 'untimestamped',
      message: `${missing} of ${valid.size} valid checkpoint(s) carry no valid RFC 3161 timestamp token whose time agrees with the log's: ${what}`,
    });
  }
  const summary: TsaSummary = {
    mode: policy.mode,
    ...counts,
    checkpoints: valid.size,
    timestamped: stamped,
    logSealed,
    stampedSize: sealed,
  };
  if (policy.policy !== undefined) summary.policy = policy.policy;
  if (policy.signers !== undefined) summary.signers = policy.signers.subjects;
  if (sealedStamp) {
    summary.stampedAt = sealedStamp.genTimeMs;
    summary.stampedBy = sealedStamp.tsa;
  }
  return { sealed: policy.mode === 'required' ? sealed : logSealed, summary };
}
