import type Database from 'better-sqlite3';
import { type Authorised, authorise, readErasureStatements } from '../chain/erased.js';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { verifyNote } from '../note/note.js';
import { spanAllows } from '../signer/rotation.js';
import type { TrustedKeys } from './rotations.js';
import type { ScanResult } from './scan.js';
import type { ErasureResult, Finding } from './types.js';

// Erasure in `sealog verify` (docs/lifecycle.md "Erasure of a record's body"):
// a pre-pass reads the erasure statements and keeps those a trusted key signed;
// the scan then takes an erased row's leaf from its statement (scanner.ts).
// After the scan each statement's root must be the records' root at its size,
// and a statement that erased a row must itself be sealed.

/** Most erasures listed in a report; more are counted in `omittedErasures`. */
export const MAX_LISTED_ERASURES = 10_000;

/** The statements the trusted keys signed (a log key that may sign at the statement's size). */
export function readErasures(
  db: Database.Database,
  trusted: TrustedKeys,
  add: (f: Finding) => void,
): Authorised {
  const logKeys = trusted.keys.filter((k) => k.type === SIG_TYPE_ED25519);
  const allowed = (size: number): VerifierKey[] =>
    trusted.chain ? trusted.chain.spans.filter((sp) => spanAllows(sp, size)).map((sp) => sp.key) : logKeys;
  const auth = authorise(readErasureStatements(db), (note, s) => {
    try {
      return verifyNote(note, allowed(s.size)).verified.some((v) => v.name === s.origin);
    } catch {
      return false;
    }
  });
  for (const p of auth.problems) add({ kind: 'forged-erasure', seq: p.seq, message: p.message });
  return auth;
}

/**
 * After the scan: every accepted statement's root must be the recomputed one,
 * and every statement an erased row relies on must be sealed (below `sealed`).
 * A row erased under a statement that fails either is reported `modified`.
 */
export function judgeErasures(
  auth: Authorised,
  scan: ScanResult,
  sealed: number,
  add: (f: Finding) => void,
): { list: ErasureResult[]; omitted: number } {
  const bad = new Map<number, string>();
  for (const { seq, statement: s } of auth.accepted) {
    const root = scan.roots.get(s.size);
    if (root === undefined || !root.equals(s.root)) {
      bad.set(seq, `its root for size ${s.size} does not match the records`);
      add({
        kind: 'checkpoint-mismatch',
        seq,
        message: `erasure statement at entry ${seq}: its root for size ${s.size} does not match the records`,
      });
    } else if (seq >= sealed) {
      bad.set(seq, 'it is not sealed by a valid checkpoint');
    }
  }
  const bySeq = new Map(auth.accepted.map((a) => [a.seq, a.statement]));
  const list: ErasureResult[] = [];
  let omitted = 0;
  const done = new Set<number>();
  for (const { seq, by } of scan.erased) {
    done.add(seq);
    const why = bad.get(by);
    if (why !== undefined) {
      add({
        kind: 'modified',
        seq,
        message: `row ${seq}: its body was removed under the erasure statement at entry ${by}, but ${why}: the removal is not authorised`,
      });
      continue;
    }
    const s = bySeq.get(by)!;
    if (list.length < MAX_LISTED_ERASURES)
      list.push({ seq, statement: by, time: s.time, reason: s.reason, erased: true });
    else omitted++;
  }
  // Authorised but not carried out (a crash between the statement and the rewrite): listed, not a failure.
  for (const { seq: by, statement: s } of auth.accepted) {
    if (bad.has(by)) continue;
    for (const r of s.rows) {
      if (done.has(r.seq) || r.seq > scan.lastSeq) continue;
      done.add(r.seq);
      if (list.length < MAX_LISTED_ERASURES)
        list.push({ seq: r.seq, statement: by, time: s.time, reason: s.reason, erased: false });
      else omitted++;
    }
  }
  list.sort((a, b) => a.seq - b.seq);
  return { list, omitted };
}
