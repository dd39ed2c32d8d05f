import { isSealogError } from '../errors.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import type { ElsewhereErasure } from '../signer/erasure.js';
import type { VerifyOptions, VerifyReport } from '../verify/types.js';
import { verifyLedger } from '../verify/verify.js';
import { carriedKeys } from './carry-keys.js';
import { collectSegmentErasures } from './erasures.js';
import type { SegmentSlot } from './layout.js';
import { MAX_STATEMENTS_PER_DIRECTORY } from './retention.js';
import { readSegmentFacts, type SegmentFacts } from './verify-read.js';
import type { SegmentFinding, SegmentSummary } from './verify-types.js';

// The per-segment half of `sealog verify <dir>` (verify.ts): every segment file
// verified as a ledger of its own, with the keys trusted in it — the ones given
// and those carried from earlier segments by verified rotations (carry-keys.ts).
//
// Segment erasure statements (erasures.ts) live in a later segment than the rows
// they erase, and are trusted when the key that signed them is trusted in the
// segment holding them: after a rotation that is a carried key. Which keys are
// carried depends on segments verifying, and a segment with erased rows verifies
// only under its statements; so when a pass carried keys that accept other
// statements than the pass was run with, it is run again under them. Trust only
// grows from pass to pass (more statements accepted, more segments verified,
// more rotations carried), so this ends; without a carried key it is one pass.

export type SegmentFile = SegmentSlot & { file: string };

export interface SegmentRead {
  report: VerifyReport;
  facts: SegmentFacts;
  summary: SegmentSummary;
}

export interface SegmentPass {
  read: Map<number, SegmentRead>;
  summaries: SegmentSummary[];
  /** Findings of the segment erasure statements read, then unreadable segments (last pass only). */
  findings: SegmentFinding[];
  /** The verifier keys (vkey strings) trusted in each segment read: given and carried. */
  keysAt: Map<number, string[]>;
}

/**
 * Verifies each of `files` on its own, repeating as above until the keys the
 * statements were judged with are the keys the segments carried.
 * @throws SealogError E_KEY / E_CONFIG from verifyLedger (bad keys or options).
 */
export function verifyEachSegment(
  files: readonly SegmentFile[],
  perSegment: VerifyOptions,
  given: readonly string[],
): SegmentPass {
  let trust = new Map<number, string[]>(files.map((f) => [f.index, [...given]]));
  let statements = collect(files, given, trust);
  let pass = onePass(files, perSegment, given, statements.elsewhere);
  // Each repeat needs one more key carried than the last: at most one per segment.
  for (let i = 0; i < files.length && !sameKeys(pass.keysAt, trust); i++) {
    trust = pass.keysAt;
    const again = collect(files, given, trust);
    const changed = accepted(again.elsewhere) !== accepted(statements.elsewhere);
    statements = again;
    if (!changed) break; // the segments were verified under the statements these keys accept
    pass = onePass(files, perSegment, given, statements.elsewhere);
  }
  return { ...pass, findings: [...statements.findings, ...pass.findings] };
}

/** The segment erasure statements each segment's trusted keys signed, by the segment they erase in. */
function collect(
  files: readonly SegmentFile[],
  given: readonly string[],
  trust: ReadonlyMap<number, string[]>,
): { elsewhere: Map<number, ElsewhereErasure[]>; findings: SegmentFinding[] } {
  const findings: SegmentFinding[] = [];
  const parsed = new Map<string, VerifierKey>();
  const keysIn = (index: number) =>
    (trust.get(index) ?? given).map((k) => {
      if (!parsed.has(k)) parsed.set(k, parseVerifierKey(k));
      return parsed.get(k)!;
    });
  return { elsewhere: collectSegmentErasures(files, keysIn, (f) => findings.push(f)), findings };
}

function accepted(elsewhere: ReadonlyMap<number, ElsewhereErasure[]>): string {
  return [...elsewhere.values()]
    .flat()
    .map((e) => `${e.segment}:${e.seq}`)
    .sort()
    .join(',');
}

function onePass(
  files: readonly SegmentFile[],
  perSegment: VerifyOptions,
  given: readonly string[],
  elsewhere: ReadonlyMap<number, ElsewhereErasure[]>,
): SegmentPass {
  const findings: SegmentFinding[] = [];
  const read = new Map<number, SegmentRead>();
  const summaries: SegmentSummary[] = [];
  const keysAt = new Map<number, string[]>();
  // Statements read over the whole directory are bounded too, not only per segment.
  let statementBudget = MAX_STATEMENTS_PER_DIRECTORY;
  let segmentKeys: string[] = [...given];
  for (const slot of files) {
    const summary: SegmentSummary = {
      index: slot.index,
      file: slot.file,
      ok: false,
      size: 0,
      sealedBy: 'none',
    };
    summaries.push(summary);
    keysAt.set(slot.index, segmentKeys);
    try {
      const report = verifyLedger(slot.file, {
        ...perSegment,
        keys: segmentKeys,
        erasedElsewhere: elsewhere.get(slot.index) ?? [],
      });
      segmentKeys = [...segmentKeys, ...carriedKeys(slot.file, segmentKeys, report)];
      const facts = readSegmentFacts(slot.file, statementBudget);
      statementBudget = Math.max(0, statementBudget - facts.statements.length);
      summary.size = report.size;
      summary.root = report.root;
      summary.report = report;
      if (facts.oldest !== undefined) summary.oldest = facts.oldest;
      if (facts.newest !== undefined) summary.newest = facts.newest;
      read.set(slot.index, { report, facts, summary });
    } catch (err) {
      if (!isSealogError(err) || (err.code !== 'E_IO' && err.code !== 'E_NOT_LEDGER')) throw err;
      summary.error = err.message;
      findings.push({
        kind: 'segment-unreadable',
        segment: slot.index,
        message: `${slot.file}: ${err.message}`,
      });
    }
  }
  return { read, summaries, findings, keysAt };
}

function sameKeys(a: ReadonlyMap<number, string[]>, b: ReadonlyMap<number, string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [i, keys] of a) {
    const other = b.get(i);
    if (other === undefined || other.length !== keys.length || keys.some((k) => !other.includes(k)))
      return false;
  }
  return true;
}
