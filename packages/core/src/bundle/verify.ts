import type { OpenedCheckpoint } from '../checkpoint/signed.js';
import type { VerifierKey } from '../note/keys.js';
import { checkAnchor } from './check-anchor.js';
import { checkEntry, openBundleCheckpoint, trustedKeys } from './check-items.js';
import { checkManifest } from './check-manifest.js';
import { type BundleShape, parseBundleShape } from './parse.js';
import { checkBundleRotations, followBundleRotations } from './rotations.js';
import {
  type BundleVerifyOptions,
  type BundleWitnessSummary,
  checkBundleWitnesses,
  openCosignedNotes,
} from './witnesses.js';

// verifyBundle is the one judgement both `sealog verify-bundle` and the
// browser page (packages/web-verifier) run, so it imports nothing from Node:
// hashes come from hash.ts (swapped for @noble/hashes in the browser build)
// and everything else from the note/merkle modules the ledger verifier uses.

/** The verdict on one exported record. */
export interface EntryResult {
  /** Seq as the bundle states it (null if missing or not an integer). */
  seq: number | null;
  ok: boolean;
  /** "included in the checkpoint" or what is wrong. */
  message: string;
  /** The entry as text (display only; at most 4096 characters). */
  text: string;
}

/** The verdict on one anchor-file checkpoint carried by the bundle. */
export interface AnchorResult {
  ok: boolean;
  size: number | null;
  /** Its signed time (POSIX seconds), when verified. */
  time?: number;
  message: string;
  /** With witness keys: the given witnesses whose cosignature over this checkpoint verified, and their signed times. */
  witnesses?: { name: string; time: number }[];
}

/** The signed checkpoint every proof leads to, once its signature verified. */
export interface CheckpointInfo {
  origin: string;
  size: number;
  /** Base64 root hash, as in the note. */
  root: string;
  /** Log keys whose signatures verified: name and hex key ID. */
  signers: { name: string; keyId: string }[];
  /** Signed time (POSIX seconds) from a verified cosignature/v1 line. */
  time?: number;
  /** Name and key ID of the cosigner that signed the time. */
  timeSigner?: { name: string; keyId: string };
}

/** What one bundle token showed (`sealog verify-bundle --tsa-anchor`, Node only: bundle/verify-timestamps.ts). */
export interface BundleTimestampResult {
  /** Which note it stamps: the bundle checkpoint, an anchor note, or none the bundle carries. */
  note: 'checkpoint' | 'anchor' | 'none';
  size: number | null;
  /** The token verified and its time agrees with the note's signed time. */
  ok: boolean;
  /** The TSA that signed it, when it verified. */
  tsa?: string;
  /** Its genTime, ms since the epoch, when it verified. */
  tsaTime?: number;
  message: string;
}

/** Everything a recipient is told about a bundle. */
export interface BundleReport {
  /**
   * ok: every check passed under keys the verifier gave; self-consistent:
   * every check passed, but only under the keys the bundle carries, which
   * anyone forging a bundle can make (not a pass: issue 14, finding 6);
   * failed: something did not verify; unreadable: not a v1 bundle.
   */
  status: 'ok' | 'self-consistent' | 'failed' | 'unreadable';
  /** Where the trusted keys came from: given by the verifier, or taken from the bundle (self-consistency only). */
  keySource: 'given' | 'bundle';
  checkpoint?: CheckpointInfo;
  entries: EntryResult[];
  anchors: AnchorResult[];
  /** Seq numbers present (inclusive ranges) and rows withheld between the first and last. */
  seqs: [number, number][];
  withheld: number;
  /** The bundle's own description (origin, ledger, exportedAt, selection...): not signed. */
  manifest?: Record<string, unknown>;
  /** Every reason for `failed` / `unreadable`. Empty when ok. */
  problems: string[];
  /** What the verdict does not cover, and warnings that do not fail it. */
  notes: string[];
  /** Key hand-overs followed from the given keys to the checkpoint's signer (docs/keys.md "Rotation"). */
  rotations?: { seq: number; size: number; from: string; to: string }[];
  /** With witness keys only: which given witnesses cosigned the bundle checkpoint, and whether the quorum is met. */
  witness?: BundleWitnessSummary;
  /**
   * A streamed bundle only (stream-verify.ts): records read and verified. Its
   * `entries` then lists only failed records (at most 1000).
   */
  records?: { total: number; verified: number };
  /** With TSA anchors only (verifyBundlePath): each RFC 3161 token the bundle carries. */
  timestamps?: BundleTimestampResult[];
}

/**
 * Verifies an evidence bundle (docs/evidence.md): the checkpoint note's
 * signature under the trusted keys (or, without keys, the bundle's own keys —
 * which proves only self-consistency, and the report says so), its signed
 * time, every entry's RFC 9162 inclusion proof against the checkpoint root,
 * every anchor checkpoint's signature and consistency proof, and that the
 * manifest agrees with the contents. With `witnesses`, also that `quorum` of
 * them (default: all) cosigned the bundle checkpoint (witnesses.ts). Input is
 * hostile: JSON text, bytes or a parsed value. Never throws: a bad option
 * (a witness key that is not one, a quorum out of range) is a problem.
 */
export function verifyBundle(input: unknown, options: BundleVerifyOptions = {}): BundleReport {
  const parsed = parseBundleShape(input);
  if ('error' in parsed) return unreadableReport(parsed.error, options);
  const check = openBundle(parsed.shape, options);
  for (const item of parsed.shape.entries) checkBundleEntry(check, item);
  return closeBundle(check, parsed.shape.entries.length);
}

/** A report for a bundle that could not be read at all. */
export function unreadableReport(error: string, options: BundleVerifyOptions = {}): BundleReport {
  const report = emptyReport(options);
  report.status = 'unreadable';
  report.problems.push(error);
  return report;
}

function emptyReport(options: BundleVerifyOptions): BundleReport {
  const given = options.keys !== undefined && options.keys.length > 0;
  return {
    status: 'failed',
    keySource: given ? 'given' : 'bundle',
    entries: [],
    anchors: [],
    seqs: [],
    withheld: 0,
    problems: [],
    notes: [],
  };
}

/**
 * A bundle being checked record by record: the JSON bundle checks its array,
 * the JSON Lines stream (stream-verify.ts) one line at a time, by the same code.
 */
export interface BundleCheck {
  report: BundleReport;
  shape: BundleShape;
  options: BundleVerifyOptions;
  given: boolean;
  keys: VerifierKey[];
  opened: OpenedCheckpoint | undefined;
  /** Seq of the last record accepted in order, -1 before the first. */
  last: number;
  /** Records accepted in order (their seqs are in report.seqs). */
  count: number;
  /** Records that failed. */
  failed: number;
  /** Keep only failed entries (and their problems), at most this many: a stream may hold a million records. */
  keepFailedOnly?: number;
}

/** Checks everything but the records: keys, rotations, the checkpoint note. */
export function openBundle(shape: BundleShape, options: BundleVerifyOptions = {}): BundleCheck {
  const given = options.keys !== undefined && options.keys.length > 0;
  const report = emptyReport(options);
  report.manifest = shape.manifest;
  const givenKeys = trustedKeys(given ? options.keys! : shape.keys, report);
  // Rotations lead from the given keys to the one that signed the checkpoint (rotations.ts).
  const rotation = followBundleRotations(shape.rotations, givenKeys, report.problems);
  const keys = rotation.keys;
  if (!given) {
    report.notes.push(
      'The verifier key was taken from the bundle itself: a pass proves only that the bundle is self-consistent, ' +
        "not that the log's owner signed it. Get the log's verifier key from its owner through another channel and verify with it.",
    );
  }
  const opened = openBundleCheckpoint(shape.checkpoint, keys, report);
  if (opened && rotation.chain) {
    const time = checkBundleRotations(
      rotation.chain,
      rotation.items,
      shape.checkpoint,
      opened,
      report.problems,
    );
    report.rotations = rotation.chain.handovers.map(({ seq, size, from, to }) => ({ seq, size, from, to }));
    // The signed time is one an allowed time key made, never one by a key that handed over.
    if (report.checkpoint && report.checkpoint.time !== time) {
      if (time === undefined) {
        delete report.checkpoint.time;
        delete report.checkpoint.timeSigner;
      } else report.checkpoint.time = time;
    }
  }
  return { report, shape, options, given, keys, opened, last: -1, count: 0, failed: 0 };
}

/** Judges one record of the bundle, in order: its proof, and that its seq is above the previous one. */
export function checkBundleEntry(check: BundleCheck, item: unknown): void {
  const { report } = check;
  const result = checkEntry(item, check.opened?.checkpoint.size ?? -1, check.opened?.checkpoint.root);
  if (result.seq !== null) {
    if (check.count > 0 && result.seq <= check.last) {
      result.ok = false;
      result.message = 'seq is not above the previous record (records duplicated or out of order)';
    } else {
      const range = report.seqs[report.seqs.length - 1];
      if (range && result.seq === range[1] + 1) range[1] = result.seq;
      else report.seqs.push([result.seq, result.seq]);
      check.last = result.seq;
      check.count++;
    }
  }
  const keep = check.keepFailedOnly;
  if (keep === undefined) report.entries.push(result);
  else if (!result.ok && check.failed < keep) report.entries.push(result);
  if (result.ok) return;
  if (keep === undefined || check.failed < keep)
    report.problems.push(`record ${result.seq ?? '?'}: ${result.message}`);
  check.failed++;
}

/** Checks what follows the records (anchors, witnesses, the manifest against `entryCount`) and gives the verdict. */
export function closeBundle(check: BundleCheck, entryCount: number): BundleReport {
  const { report, shape, options, keys, opened, given } = check;
  if (entryCount === 0) report.problems.push('the bundle contains no records');
  const kept = check.keepFailedOnly ?? check.failed;
  if (check.failed > kept) report.problems.push(`${check.failed - kept} more record(s) failed (not listed)`);
  const first = report.seqs[0]?.[0];
  report.withheld = first !== undefined ? check.last - first + 1 - check.count : 0;

  const anchors: Parameters<typeof checkBundleWitnesses>[4][number][] = [];
  for (const item of shape.anchors) {
    const { result, signed } = checkAnchor(item, keys, opened);
    report.anchors.push(result);
    if (!result.ok) report.problems.push(`anchor checkpoint: ${result.message}`);
    else if (signed) anchors.push({ ...signed, where: `anchor checkpoint (size ${result.size})`, result });
  }
  const cosigned = openCosignedNotes(shape.cosignedNotes, keys, opened, report);
  if (options.witnesses !== undefined || options.quorum !== undefined) {
    const bundle = opened && { note: shape.checkpoint, opened, where: 'bundle checkpoint' };
    checkBundleWitnesses(options, given ? keys : [], bundle, cosigned, anchors, report);
  }
  checkManifest(shape.manifest, report, entryCount);

  if (report.withheld > 0) {
    report.notes.push(
      `${report.withheld} row(s) between seq ${first} and ${check.last} were withheld by the exporter; ` +
        'the included rows verify on their own, the withheld ones are not shown.',
    );
  }
  if (opened) {
    report.notes.push(
      `Records appended after the checkpoint (seq ≥ ${opened.checkpoint.size}) are not covered, and nothing here shows records ` +
        'outside the exported range.',
    );
  }
  report.status = report.problems.length > 0 ? 'failed' : given ? 'ok' : 'self-consistent';
  return report;
}
