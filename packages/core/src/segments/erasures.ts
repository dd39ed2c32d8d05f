import type { VerifierKey } from '../note/keys.js';
import { SIG_TYPE_ED25519 } from '../note/keys.js';
import { verifyNote } from '../note/note.js';
import {
  type ElsewhereErasure,
  type ErasureStatement,
  MAX_ERASURE_NOTE_BYTES,
  parseErasure,
  segmentErasureNoteOf,
} from '../signer/erasure.js';
import { openReadOnly } from '../store/open.js';
import type { VerifyReport } from '../verify/types.js';
import type { SegmentFinding } from './verify-types.js';

// Erasure in a closed segment (docs/lifecycle.md "Erasure of a record's
// body"). A closed segment is never written again, so `sealog erase` appends
// the signed statement (`sealog segment-erasure/v1`: the segment's index, its
// sealed head, each erased row's leaf) to the newest segment, and the closed
// segment's rows get markers naming that statement (segment and seq).
//
// The directory's verifier reads those statements first, keeps the ones a
// trusted key signed that name an earlier segment, and hands them to that
// segment's verification (verify/erasures.ts takes the leaves from them and
// checks their root against the segment's records: a statement of another
// ledger or segment names another root). Once every segment is verified, each
// statement a row was erased under must be sealed in the segment holding it.

/** Most segment erasure statements read from one segment (each names up to 10000 rows). */
export const MAX_SEGMENT_ERASURES = 1000;
const PREFIX = '{"_sealog":{"segmentErasure":';
const MAX_ENTRY_BYTES = 2 * MAX_ERASURE_NOTE_BYTES + 4096;

/** Segment erasure statements stored in segment file `file`, by seq (bounded; never throws on content). */
export function readSegmentErasures(file: string): { seq: number; note: string }[] {
  const db = openReadOnly(file);
  try {
    const rows = db
      .prepare(
        `SELECT seq, CAST(entry AS TEXT) FROM records WHERE typeof(entry) = 'blob' AND length(entry) <= ${MAX_ENTRY_BYTES} AND substr(entry, 1, ${PREFIX.length}) = CAST('${PREFIX}' AS BLOB) ORDER BY seq LIMIT ${MAX_SEGMENT_ERASURES + 1}`,
      )
      .raw(true)
      .all() as [unknown, unknown][];
    const out: { seq: number; note: string }[] = [];
    for (const [seq, entry] of rows) {
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof entry !== 'string') continue;
      const note = segmentErasureNoteOf(entry);
      if (note !== undefined) out.push({ seq, note });
    }
    return out;
  } finally {
    db.close();
  }
}

/**
 * The statements of every present segment that a log key trusted in that
 * segment signed (`keysIn(index)`: the keys given, and those carried into it
 * by verified rotations, verify-pass.ts), by the earlier segment they erase in.
 * Malformed, unsigned, copied or misdirected ones are `bad-statement` findings
 * and authorise nothing.
 */
export function collectSegmentErasures(
  files: readonly { index: number; file: string }[],
  keysIn: (index: number) => readonly VerifierKey[],
  add: (f: SegmentFinding) => void,
): Map<number, ElsewhereErasure[]> {
  const out = new Map<number, ElsewhereErasure[]>();
  const seen = new Set<string>();
  for (const { index, file } of files) {
    let found: { seq: number; note: string }[];
    try {
      found = readSegmentErasures(file);
    } catch {
      continue; // an unreadable segment is reported by its own verification
    }
    if (found.length > MAX_SEGMENT_ERASURES) {
      add({
        kind: 'bad-statement',
        segment: index,
        message: `segment ${index} holds more than ${MAX_SEGMENT_ERASURES} segment erasure statements; the rest were not read`,
      });
      found = found.slice(0, MAX_SEGMENT_ERASURES);
    }
    for (const { seq, note } of found) {
      const problem = (why: string) =>
        add({ kind: 'bad-statement', segment: index, seq, message: `segment ${index} row ${seq}: ${why}` });
      // A copy of a statement (planted later, say) authorises nothing more than the first.
      if (seen.has(note)) {
        problem('a copy of an earlier segment erasure statement: it authorises nothing');
        continue;
      }
      let s: ErasureStatement;
      try {
        s = parseErasure(note);
      } catch (err) {
        problem((err as Error).message);
        continue;
      }
      if (s.segment === undefined || s.segment >= index) {
        problem(
          `an erasure statement stored in segment ${index} must name an earlier, closed segment (it names ${s.segment ?? 'none'}): it authorises nothing`,
        );
        continue;
      }
      if (
        !signedBy(
          note,
          s,
          keysIn(index).filter((k) => k.type === SIG_TYPE_ED25519),
        )
      ) {
        problem(
          `the erasure statement for segment ${s.segment} is not signed by a key trusted in segment ${index} (one given, or carried there by a rotation a verified segment sealed): it authorises nothing`,
        );
        continue;
      }
      seen.add(note);
      const list = out.get(s.segment) ?? [];
      list.push({ segment: index, seq, statement: s });
      out.set(s.segment, list);
    }
  }
  return out;
}

function signedBy(note: string, s: ErasureStatement, keys: readonly VerifierKey[]): boolean {
  try {
    return verifyNote(note, keys).verified.some((v) => v.name === s.origin);
  } catch {
    return false;
  }
}

/**
 * After every segment is verified: a closed segment's row erased under a
 * statement of a later segment counts only when that statement is sealed there
 * (`sealedIn(segment)`: the rows a valid checkpoint, or the next binding, covers).
 */
export function judgeSegmentErasures(
  reports: ReadonlyMap<number, VerifyReport>,
  sealedIn: (segment: number) => number | undefined,
  add: (f: SegmentFinding) => void,
): void {
  for (const [index, report] of reports) {
    const unsealed = new Set<string>();
    for (const e of report.erasures ?? []) {
      if (e.segment === undefined || !e.erased) continue;
      const key = `${e.segment}:${e.statement}`;
      const sealed = sealedIn(e.segment);
      if (sealed !== undefined && e.statement < sealed) continue;
      if (unsealed.has(key)) continue;
      unsealed.add(key);
      add({
        kind: 'bad-statement',
        segment: index,
        seq: e.seq,
        message: `segment ${index} row ${e.seq} (and any other row under it): its body was erased under the statement at segment ${e.segment} row ${e.statement}, which no valid checkpoint of segment ${e.segment} seals: the removal is not authorised`,
      });
    }
  }
}
