import { SealogError } from '../errors.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import type { VerifyOptions } from '../verify/types.js';
import { isFailure } from '../verify/types.js';
import type { SegmentBinding } from './binding.js';
import { judgeSegmentErasures } from './erasures.js';
import { listSegments } from './layout.js';
import { holdsInForce, judgeStatements, MAX_STATEMENTS_PER_DIRECTORY } from './retention.js';
import { checkTrusted, judgeMissing, type PrunedSummary } from './verify-judge.js';
import { type SegmentFile, verifyEachSegment } from './verify-pass.js';
import { MAX_STATEMENTS_PER_SEGMENT } from './verify-read.js';
import { judgeSegmentTokens } from './verify-timestamps.js';
import { type HoldSummary, holdSummaries, type SegmentFinding, type SegmentsReport } from './verify-types.js';

// `sealog verify <dir>` on a segmented ledger (layout.ts): every segment file
// is verified as a ledger of its own, then the segments are judged as one
// history. Row 0 of each binds it to its place (index) and to the previous
// segment's final tree head, and the next segment's checkpoints seal that
// binding: so a segment that is missing, swapped, renamed, reordered or cut
// short breaks a binding or leaves a gap. A gap is allowed only where a signed,
// sealed prune statement and a tombstone say the segment expired (verify-judge.ts).
// The newest segments can be cut off without a trace inside the directory:
// only a checkpoint kept outside (`trusted`) catches that.

export interface SegmentsVerifyOptions extends VerifyOptions {
  /**
   * The verifier's retention policy, ms: a prune statement that applied a
   * shorter retention does not excuse a missing segment. Default: the
   * statement's own retention is only checked against its segments' times.
   */
  retention?: number;
}

/**
 * Verifies the segmented ledger in directory `dir`.
 * @throws SealogError E_KEY / E_CONFIG for bad keys or options (as verifyLedger);
 *   E_IO when the directory cannot be listed. A segment file that cannot be read
 *   is a finding (`segment-unreadable`), not an exception.
 */
export function verifySegments(dir: string, options: SegmentsVerifyOptions): SegmentsReport {
  return verifySegmentsWithKeys(dir, options).report;
}

/**
 * {@link verifySegments}, and the verifier keys trusted in each segment read
 * (given, and carried by verified rotations): what a statement stored there must be signed by.
 */
export function verifySegmentsWithKeys(
  dir: string,
  options: SegmentsVerifyOptions,
): { report: SegmentsReport; keysAt: ReadonlyMap<number, readonly string[]> } {
  const keys: VerifierKey[] = (options.keys ?? []).map((k) => parseVerifierKey(k));
  if (
    options.retention !== undefined &&
    (!Number.isSafeInteger(options.retention) || options.retention < 0)
  ) {
    throw new SealogError('E_CONFIG', 'retention must be a whole number of ms ≥ 0');
  }
  const listing = listSegments(dir);
  // listSegments leaves out SQLite's own files beside a segment (or left by an interrupted prune).
  const strays = listing.strays;
  const findings: SegmentFinding[] = [];
  const add = (f: SegmentFinding) => findings.push(f);
  for (const s of strays)
    add({ kind: 'segment-stray', message: `${s}: named like a segment but not one (not read)` });

  const files = listing.slots.filter((s): s is SegmentFile => s.file !== undefined);
  const perSegment = { ...options };
  delete perSegment.trusted;
  delete (perSegment as SegmentsVerifyOptions).retention;
  const each = verifyEachSegment(files, perSegment, options.keys ?? []);
  const { read, summaries } = each;
  for (const f of each.findings) add(f);
  const origin = options.origin ?? [...read.values()].find((r) => r.report.origin)?.report.origin;

  // Row 0: the binding names the segment's place; a file in another's slot is misplaced.
  const bindings = new Map<number, SegmentBinding>();
  for (const [index, { facts, summary }] of read) {
    const b = facts.binding;
    if (b === undefined || b === 'malformed' || b === 'absent') {
      const what =
        b === 'absent'
          ? 'has no row 0'
          : b === 'malformed'
            ? 'has a malformed binding at row 0'
            : 'does not start with a segment binding';
      add({
        kind: 'segment-binding',
        segment: index,
        seq: 0,
        message: `${summary.file} ${what}: not a segment of this ledger`,
      });
    } else if (b.index !== index) {
      add({
        kind: 'segment-misplaced',
        segment: index,
        seq: 0,
        message: `${summary.file} holds segment ${b.index} (its sealed row 0 says so), not segment ${index}: swapped, renamed or copied`,
      });
    } else {
      bindings.set(index, b);
      summary.base = b.base;
    }
  }
  // Consecutive present segments: the binding must carry the previous one's final head.
  const bound = new Set<number>(); // k: segment k's final head is what k+1's binding carries
  for (const [index, b] of bindings) {
    const prev = read.get(index - 1);
    if (b.prev === undefined || prev === undefined || !bindings.has(index - 1)) continue;
    const pb = bindings.get(index - 1)!;
    const problems: string[] = [];
    if (b.prev.size !== prev.report.size || Buffer.from(b.prev.root).toString('hex') !== prev.report.root)
      problems.push(
        `segment ${index - 1} ended at size ${b.prev.size} with root ${Buffer.from(b.prev.root).toString('hex').slice(0, 16)}…, but its file holds ${prev.report.size} rows with root ${prev.report.root.slice(0, 16)}… (cut short, extended or replaced)`,
      );
    if (b.base !== pb.base + prev.report.size)
      problems.push(
        `its base ${b.base} is not segment ${index - 1}'s base ${pb.base} + its ${prev.report.size} rows`,
      );
    if (problems.length === 0) bound.add(index - 1);
    else
      add({
        kind: 'segment-binding',
        segment: index,
        seq: 0,
        message: `segment ${index}'s binding: ${problems.join('; ')}`,
      });
  }
  // Sealing: a closed segment is sealed at its final size, by its own checkpoint or by the next one's sealed binding.
  const newestFile = files.at(-1)?.index;
  for (const [index, r] of read) {
    const own = r.report.size > 0 && r.report.sealed === r.report.size;
    const next = read.get(index + 1);
    const byNext = bound.has(index) && next !== undefined && next.report.sealed >= 1;
    const closed = index !== newestFile;
    r.summary.sealedBy = own ? 'checkpoint' : closed && byNext ? 'next-binding' : 'none';
    const excused = (kind: string) => closed && byNext && (kind === 'unsealed' || kind === 'no-checkpoint');
    // Only a closed segment the next binding seals may pass with its own report failing: the
    // newest keeps its verdict, so --strict / --max-unsealed hold for its unsealed tail.
    r.summary.ok =
      r.report.ok ||
      (closed &&
        byNext &&
        r.report.omittedFindings === 0 &&
        r.report.findings.every((f) => !isFailure(f.kind) || excused(f.kind)));
    if (closed && !own && !byNext) {
      add({
        kind: 'segment-unsealed',
        segment: index,
        message: `segment ${index} is closed but no valid checkpoint covers its ${r.report.size} rows (its own sealed ${r.report.sealed}; the next segment's binding does not seal it)`,
      });
    }
  }
  for (const s of summaries) if (!read.has(s.index)) s.ok = false;
  const sealedRows = (segment: number): number | undefined => {
    const r = read.get(segment);
    if (r === undefined) return undefined;
    return r.summary.sealedBy === 'next-binding' ? r.report.size : r.report.sealed;
  };
  judgeSegmentErasures(new Map([...read].map(([i, r]) => [i, r.report])), sealedRows, add);
  if (options.tsaAnchors !== undefined) judgeSegmentTokens(files, add);

  // Retention statements, judged once; then every missing segment.
  const judged = judgeStatements(
    [...read].map(([segment, r]) => ({ segment, statements: r.facts.statements })),
    origin,
    keys,
    (segment) => sealedRows(segment)!,
  );
  for (const p of judged.problems)
    add({
      kind: 'bad-statement',
      segment: p.at.segment,
      seq: p.at.seq,
      message: `segment ${p.at.segment} row ${p.at.seq}: ${p.message}`,
    });
  for (const [index, r] of read)
    if (r.facts.overflow)
      add({
        kind: 'bad-statement',
        segment: index,
        message: `segment ${index} holds too many retention statements (at most ${MAX_STATEMENTS_PER_SEGMENT} per segment and ${MAX_STATEMENTS_PER_DIRECTORY} per directory are read); the rest were not read`,
      });
  const pruned: PrunedSummary[] = judgeMissing({
    slots: listing.slots,
    newestFile,
    read,
    bindings,
    bound,
    judged,
    keys,
    origin,
    retention: options.retention,
    add,
  });
  checkTrusted(options.trusted ?? [], keys, origin, read, bindings, pruned, add);

  const holds: HoldSummary[] = holdSummaries(judged, holdsInForce(judged));
  const failed = findings.some((f) => f.kind !== 'segment-stray') || summaries.some((s) => !s.ok);
  const report: SegmentsReport = {
    version: 1,
    ok: !failed && files.length > 0,
    dir,
    ...(origin !== undefined ? { origin } : {}),
    segments: summaries,
    findings,
    pruned,
    holds,
    prunes: judged.prunes.map((p) => ({
      at: p.at,
      sealed: p.sealed,
      time: p.statement.time,
      retention: p.statement.retention,
      reason: p.statement.reason,
      segments: p.statement.segments.map((g) => ({ ...g, root: Buffer.from(g.root).toString('hex') })),
    })),
    strays,
    records: summaries.reduce((n, s) => n + s.size, 0),
  };
  return { report, keysAt: each.keysAt };
}
