import type { ElsewhereErasure } from '../signer/erasure.js';
// The verifier's report: a documented, versioned JSON shape (docs/verify.md).
// `sealog verify --json` prints exactly this object.

/**
 * What a finding is about. Closed set; docs/verify.md says how each is decided.
 * - modified: a row's entry (or its stored chain) is not what was chained.
 * - deleted: rows are missing (a gap in seq), or a checkpoint known from outside is missing.
 * - inserted: a row that the chain does not lead through (or a duplicate seq).
 * - reordered: a row chained at another position than the one it is stored at.
 * - truncated: a checkpoint (stored or trusted) covers more records than the file holds.
 * - unsealed: records after the newest valid checkpoint; a failure when there are
 *   more than `maxUnsealed` of them (0 with `strict`).
 * - no-checkpoint: the ledger has records but no checkpoint signed by a trusted
 *   key covers any of them (with a witness policy: no such checkpoint is also
 *   cosigned by a quorum of the given witnesses), so nothing about them is
 *   proved (always a failure).
 * - no-trusted-key: no verifier key was given, so only the hash chain was
 *   checked, which anyone who can write the file can recompute (a failure
 *   unless `chainOnly`).
 * - bad-signature: a signature by a trusted key does not verify.
 * - bad-cosignature: a line naming a given witness key (name and key ID) does
 *   not verify over the checkpoint: a forged or altered witness cosignature.
 * - unknown-key: a checkpoint carries no signature by any trusted key.
 * - wrong-origin: a checkpoint names another log than this one.
 * - malformed-checkpoint: a checkpoint row or note cannot be parsed.
 * - checkpoint-mismatch: a signed root/size disagrees with the recomputed tree.
 * - state-mismatch: `ledger_state` disagrees with the rows.
 * - malformed-row: a record row has a bad type, length or seq.
 * - index-modified: a row's `ts` (the time index) is not its entry's own time.
 * - bad-timestamp: an RFC 3161 token (ledger row or given) is unreadable, or its
 *   imprint is some note's but it does not verify under the given TSA anchors
 *   (signature, certificate, EKU, chain, policy, future genTime).
 * - orphan-timestamp: tokens whose imprint matches no checkpoint note verify
 *   saw (reported, not a failure: a shared ledger's note may be only in an anchor file).
 * - untimestamped: valid checkpoints with no valid (timely) token (reported,
 *   not a failure; under `tsa: 'required'` they do not seal records).
 * - forged-rotation: a key rotation entry whose statement is malformed, or not
 *   signed by a key that may sign at its size and by the new key it names.
 * - key-fork: a key that handed over once endorses another successor (or a
 *   rotation back to a key already trusted): someone else used the key.
 * - retired-key: a checkpoint signed only by keys that may not sign at its size
 *   (handed over before it, or taking over only after it).
 * - time-mismatch: a valid token's TSA time is more than the tolerance before
 *   (or after) the log's own signed time (reported, not a failure; under
 *   `tsa: 'required'` such a checkpoint does not seal records).
 * - forged-erasure: an erasure statement is malformed, or not signed by a
 *   trusted key that may sign at its size: it authorises nothing.
 * - erased-elsewhere: a closed segment's row erased under a statement in a
 *   later segment, which a file verified alone cannot check (verify the directory).
 * - expired: records [0, n) were pruned under retention, authorised by a
 *   signed, sealed prune statement and kept as a valid tombstone (reported,
 *   not a failure; docs/lifecycle.md "PostgreSQL ledgers").
 * - bad-tombstone: a tombstone of a pruned prefix that does not prove itself
 *   (malformed, unsigned, its compact range not hashing to its checkpoint's
 *   root, or no sealed, due prune statement by a trusted key naming its head).
 */
export type FindingKind =
  | 'modified'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'unsealed'
  | 'no-checkpoint'
  | 'no-trusted-key'
  | 'bad-signature'
  | 'bad-cosignature'
  | 'unknown-key'
  | 'wrong-origin'
  | 'malformed-checkpoint'
  | 'checkpoint-mismatch'
  | 'state-mismatch'
  | 'malformed-row'
  | 'index-modified'
  | 'bad-timestamp'
  | 'orphan-timestamp'
  | 'untimestamped'
  | 'time-mismatch'
  | 'forged-rotation'
  | 'key-fork'
  | 'retired-key'
  | 'forged-erasure'
  | 'erased-elsewhere'
  | 'expired'
  | 'bad-tombstone';

/** One problem, located by record seq and/or checkpoint row id where it has one. */
export interface Finding {
  kind: FindingKind;
  /** First record seq concerned (rows are named by seq, which is the leaf index). */
  seq?: number;
  /** `checkpoints.id` of the checkpoint concerned. */
  checkpointId?: number;
  message: string;
}

/** The outcome for one checkpoint (stored in the ledger, or trusted from outside). */
export interface CheckpointResult {
  /** `checkpoints.id`, absent for trusted checkpoints given from outside. */
  id?: number;
  source: 'ledger' | 'trusted';
  /**
   * True when the signature, origin and root all check out (with a witness
   * policy, also: no line naming a given witness fails).
   */
  valid: boolean;
  origin?: string;
  size?: number;
  /** Signed root, lowercase hex. */
  root?: string;
  /** Signed time (POSIX seconds) from a verified cosignature/v1 line, if a cosigner key was given. */
  time?: number;
  /**
   * With a witness policy only: whether this checkpoint (its origin, size and
   * root) is cosigned by at least `quorum` distinct given witnesses, counting
   * every note with the same body that verify saw (ledger rows and trusted notes).
   */
  witnessed?: boolean;
  /** With a witness policy only: the given witnesses with a valid cosignature on this body, in the order given. */
  witnesses?: CheckpointWitness[];
  /**
   * With TSA anchors only: whether a note with this body carries a valid RFC
   * 3161 token whose time agrees with the log's signed time (docs/verify.md §1.5).
   */
  timestamped?: boolean;
  /** With TSA anchors only: subject of the TSA that signed the (earliest timely) valid token. */
  tsa?: string;
  /** With TSA anchors only: that token's genTime, ms since the epoch (compare `time`, in seconds). */
  tsaTime?: number;
}

/** How many checkpoints verify read and how many are valid, whether listed or not. */
export interface CheckpointTotals {
  /** Ledger rows. */
  stored: number;
  storedValid: number;
  /** Notes given from outside (`trusted`). */
  trusted: number;
  trustedValid: number;
}

/** One given witness's valid cosignature/v1 on a checkpoint body. */
export interface CheckpointWitness {
  /** The witness key name, e.g. `witness.example.com/w1`. */
  name: string;
  /** Latest signed time (POSIX seconds) among its valid lines on notes with this body. */
  time: number;
}

/** What the witness policy found (present only when witnesses were given). */
export interface WitnessSummary {
  /** Distinct witnesses whose cosignatures a checkpoint needs. */
  quorum: number;
  /**
   * The witnesses given (distinct, in the order given): key name, verifier
   * key, and how many of the valid checkpoints it validly cosigned.
   */
  witnesses: { name: string; vkey: string; cosigned: number }[];
  /** Distinct valid checkpoints (bodies that verify and match the records). */
  checkpoints: number;
  /** How many of them are witnessed (cosigned by a quorum). */
  witnessed: number;
  /** Records covered by the newest valid checkpoint signed by a trusted log key, witnessed or not. */
  logSealed: number;
  /** Witnesses that cosigned the newest witnessed checkpoint (the one `sealed` counts), in the order given. */
  sealedBy: string[];
}

/** What the TSA policy found (present only when TSA anchors were given). */
export interface TsaSummary {
  mode: 'best-effort' | 'required';
  /** The TSA policy OID required of every token, when given. */
  policy?: string;
  /** With `tsaSigners`: the subjects of the pinned TSA signing certificates, in the order given. */
  signers?: string[];
  /** Distinct tokens read (ledger rows and given tokens). */
  tokens: number;
  /** How many of them verified over a checkpoint note verify saw. */
  verified: number;
  /** Tokens whose imprint matches no note verify saw. */
  unmatched: number;
  /** Distinct valid checkpoints (bodies). */
  checkpoints: number;
  /** How many of them are timestamped (a valid, timely token). */
  timestamped: number;
  /** Records covered by the newest valid checkpoint before the TSA requirement (witnessed, under a witness policy). */
  logSealed: number;
  /** Records covered by the newest valid timestamped checkpoint (under `required`, what `sealed` counts). */
  stampedSize: number;
  /** Its TSA time, ms since the epoch: every record below `stampedSize` existed by then. */
  stampedAt?: number;
  /** Its TSA's subject. */
  stampedBy?: string;
}

/** A record whose body was erased under a signed erasure statement (docs/lifecycle.md). */
export interface ErasureResult {
  seq: number;
  /** Seq of the erasure statement's entry (in `segment` when given). */
  statement: number;
  /** For a closed segment's row: the later segment holding the statement. */
  segment?: number;
  /** When the statement was signed, ms since the epoch (the statement's own `time`). */
  time: number;
  reason: string;
  /** False when the statement authorises it but the row still holds its body (an interrupted `sealog erase`). */
  erased: boolean;
}

/** Version of the report shape below; bumped on incompatible change. */
export const REPORT_VERSION = 1;

export interface VerifyReport {
  version: typeof REPORT_VERSION;
  /** True when nothing was found that fails verification (see `strict`). */
  ok: boolean;
  /** Number of record rows read. */
  size: number;
  /** Recomputed Merkle root over all rows read, lowercase hex. */
  root: string;
  /** Origin the checkpoints were checked against, if known. */
  origin?: string;
  /**
   * Key hand-overs followed from the given keys (docs/keys.md "Rotation"):
   * the rotation entry's seq, the size the new key signs from, and both keys
   * as `name+hexID`. Absent when the ledger has none that verified.
   */
  rotations?: { seq: number; size: number; from: string; to: string }[];
  findings: Finding[];
  /** Findings left out after {@link MAX_FINDINGS}; they exist but are not listed. */
  omittedFindings: number;
  /**
   * The checkpoints, in verify's order (ledger rows by id, then the notes
   * given from outside); at most {@link MAX_LISTED_CHECKPOINTS}, the last ones
   * in that order, so a file padded with junk rows cannot make the report huge.
   */
  checkpoints: CheckpointResult[];
  /** Checkpoints read but not listed in `checkpoints` (the first ones in verify's order). */
  omittedCheckpoints: number;
  /** Counts over every checkpoint read, listed or not. */
  checkpointTotals: CheckpointTotals;
  /** Records not covered by any valid checkpoint (with a witness policy: by any witnessed one). */
  unsealed: number;
  /**
   * Records covered by the newest valid checkpoint signed by a trusted key (0
   * if none); with a witness policy, by the newest such checkpoint that is also witnessed.
   */
  sealed: number;
  /** The sealing policy applied: most unsealed records tolerated (0 under `strict`). */
  maxUnsealed: number;
  /**
   * What the verdict rests on: `keys` = checkpoint signatures by the trusted
   * keys given; `chain-only` = no key was given, only the hash chain and
   * ledger_state were checked (proves nothing against someone who can write the file).
   */
  trust: 'keys' | 'chain-only';
  /** Present when witnesses were given (`VerifyOptions.witnesses`). */
  witness?: WitnessSummary;
  /** Present when TSA trust anchors were given (`VerifyOptions.tsaAnchors`). */
  tsa?: TsaSummary;
  /** Rows named by a valid erasure statement, seq ascending; absent when there are none. */
  erasures?: ErasureResult[];
  /** Erasures left out of `erasures` (past MAX_LISTED_ERASURES). */
  omittedErasures?: number;
  /** Present when the ledger's prefix was pruned under retention and its tombstone proved itself. */
  expired?: ExpiredPrefix;
}

/** Records [0, records) removed under retention (a PostgreSQL ledger's pruned prefix). */
export interface ExpiredPrefix {
  records: number;
  /** The prune statement's time, ms since the epoch. */
  prunedAt: number;
  /** The retention period it applied, ms. */
  retention: number;
  reason: string;
  /** Seq of the sealed prune statement that authorised it. */
  statementSeq: number;
  /** Oldest and newest record time of the rows that prune removed, ms. */
  oldest: number;
  newest: number;
}

export interface VerifyOptions {
  /**
   * For a closed segment verified as part of its directory: the erasure
   * statements about it found in later segments and signed by a trusted key
   * (segments/erasures.ts). Not for callers: a file verified alone reports
   * such rows as `erased-elsewhere`.
   */
  erasedElsewhere?: readonly ElsewhereErasure[];
  /**
   * Trusted verifier keys (`name+id+base64`), several for key rotation; 0x04
   * cosigner keys add signed time. Empty only with `chainOnly`, or the report
   * fails with `no-trusted-key`.
   */
  keys: readonly string[];
  /** Signed checkpoint notes or anchor-file contents obtained from outside the ledger. */
  trusted?: readonly string[];
  /** No unsealed record is tolerated: same as `maxUnsealed: 0`. Default false. */
  strict?: boolean;
  /**
   * The verifier's sealing policy: most records after the newest valid
   * checkpoint before the ledger fails. Default {@link DEFAULT_MAX_UNSEALED}.
   * The policy is the verifier's to state, never read from the file.
   */
  maxUnsealed?: number;
  /**
   * Check only the hash chain and ledger_state, with no key (`keys` must be
   * empty). The report says so (`trust: 'chain-only'`); it proves the file is
   * internally consistent, not that anyone signed it.
   */
  chainOnly?: boolean;
  /**
   * Trusted witness verifier keys (`name+id+base64(0x04 ‖ key)`, C2SP
   * tlog-cosignature). When given, a checkpoint seals records only if at
   * least `quorum` distinct witnesses cosigned its body; see docs/verify.md §1.4.
   * Needs `keys`. Default: none (witness lines are ignored, as before).
   */
  witnesses?: readonly string[];
  /** Distinct witnesses a checkpoint needs, 1..witnesses.length. Default: all the witnesses given. */
  quorum?: number;
  /**
   * PEM text of the RFC 3161 TSA root certificate(s) the verifier trusts. When
   * given, every token (the ledger's `checkpoint_timestamps` rows and
   * `trustedTimestamps`) is verified and matched to the checkpoint note with its
   * imprint; see docs/verify.md §1.5. Needs `keys`. Default: none (tokens ignored).
   */
  tsaAnchors?: string | readonly string[];
  /**
   * PEM text of the TSA signing certificate(s) to pin (`--tsa-signer`). When
   * given, a token counts only if the certificate that signed it is
   * byte-equal to one of these; a token from any other TSA, even one under
   * `tsaAnchors`, is `bad-timestamp` ("not pinned", naming it). Each must be a
   * timestamping certificate. Needs `tsaAnchors`. Default: any TSA under the anchors.
   */
  tsaSigners?: string | readonly string[];
  /**
   * `best-effort` (default with anchors): tokens are checked and reported; an
   * untimestamped checkpoint is normal. `required`: only a checkpoint that also
   * carries a valid, timely token seals records. Either without `tsaAnchors` is E_CONFIG.
   */
  tsa?: 'best-effort' | 'required';
  /** TSA policy OID every token must carry (dotted). Needs `tsaAnchors`. */
  tsaPolicy?: string;
  /**
   * Tokens obtained from outside the ledger, e.g. `splitAnchorTimestamps` of
   * `<anchorFile>.timestamps`. Needs `tsaAnchors`.
   */
  trustedTimestamps?: readonly { size: number; noteSha256: Uint8Array; token: Uint8Array }[];
  /** Expected checkpoint origin. Default: the origin of the first checkpoint that verifies. */
  origin?: string;
  /**
   * Worker threads that read and hash pages of a large ledger (≥ 32768 rows)
   * beside the calling thread; 0 does everything on the calling thread.
   * Default: one per core when there are several, at most 4. The report is the
   * same either way.
   */
  threads?: number;
  /**
   * Called after each page of records is hashed (8192 rows), with the rows
   * done and the rows to do (`sealog verify`'s progress line). Default: none.
   */
  onProgress?: (p: { done: number; total: number }) => void;
}

/** Most checkpoints listed in a report; more are counted in `omittedCheckpoints`. */
export const MAX_LISTED_CHECKPOINTS = 10_000;

/** Most findings listed in a report; more are counted in `omittedFindings`. */
export const MAX_FINDINGS = 1000;

/**
 * Most unsealed records tolerated by default: what a writer with the default
 * options (a checkpoint every 1000 records, batches of 1000) can leave
 * unsealed when it crashes (DEFAULT_CHECKPOINT_EVERY_RECORDS + DEFAULT_BATCH_SIZE).
 */
export const DEFAULT_MAX_UNSEALED = 2000;

/** Kinds that fail verification by themselves; `unsealed` fails by count (see maxUnsealed), the TSA notes never. */
export function isFailure(kind: FindingKind): boolean {
  return !INFORMATIONAL.has(kind);
}

/** Kinds that never fail verification by themselves (the policies decide what they cost). */
const INFORMATIONAL: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'unsealed',
  'expired',
  'orphan-timestamp',
  'untimestamped',
  'time-mismatch',
]);
