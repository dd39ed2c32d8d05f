import type Database from 'better-sqlite3';
import {
  type AcceptedErasure,
  type Authorised,
  authorise,
  readErasureStatements,
  readForeignMarkers,
  UNCHECKED_ELSEWHERE,
} from '../chain/erased.js';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { verifyNote } from '../note/note.js';
import type { ElsewhereErasure } from '../signer/erasure.js';
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

/**
 * The statements the trusted keys signed (a log key that may sign at the
 * statement's size), and the rows of a closed segment erased under statements
 * in later segments: `elsewhere` are those its directory's verifier found and
 * accepted (undefined when this file is verified alone).
 */
export function readErasures(
  db: Database.Database,
  trusted: TrustedKeys,
  add: (f: Finding) => void,
  elsewhere?: readonly ElsewhereErasure[],
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
  readElsewhere(db, auth, elsewhere);
  return auth;
}

const atKey = (at: { segment: number; seq: number }) => `${at.segment}:${at.seq}`;

/**
 * A closed segment's erased rows: each marker names its statement in a later
 * segment and carries the row's leaf. With the statement given (`elsewhere`),
 * the leaf is the statement's, as for a statement of this file. Without it the
 * marker's own leaf keeps the chain and checkpoints checkable, and the row is
 * reported (judgeErasures): erased, but not proved authorised.
 */
function readElsewhere(
  db: Database.Database,
  auth: Authorised,
  elsewhere: readonly ElsewhereErasure[] | undefined,
): void {
  const markers = readForeignMarkers(db);
  if (markers.length === 0 && (elsewhere ?? []).length === 0) return;
  auth.inDirectory = elsewhere !== undefined;
  auth.unchecked = new Map();
  const given = new Set<string>();
  (elsewhere ?? []).forEach((e, i) => {
    const at = { segment: e.segment, seq: e.seq };
    const id = UNCHECKED_ELSEWHERE - 1 - i;
    given.add(atKey(at));
    for (const r of e.statement.rows) auth.leaves.add(r.seq, id, r.leaf, at);
    auth.accepted.push({ seq: id, statement: e.statement, at });
  });
  for (const { seq, marker } of markers) {
    // A statement that was given but does not name this row with this leaf authorises nothing: hashed as stored.
    if (given.has(atKey(marker))) continue;
    auth.leaves.add(seq, UNCHECKED_ELSEWHERE, marker.leaf, marker);
    auth.unchecked.set(seq, marker);
  }
}

const where = (a: { seq: number; at?: { segment: number; seq: number } }) =>
  a.at
    ? `erasure statement at segment ${a.at.segment} row ${a.at.seq}`
    : `erasure statement at entry ${a.seq}`;

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
  for (const a of auth.accepted) {
    const { seq, statement: s } = a;
    const root = scan.roots.get(s.size);
    if (root === undefined || !root.equals(s.root)) {
      bad.set(seq, `its root for size ${s.size} does not match the records`);
      // A later segment's statement names this segment's sealed head: another root is another ledger's or segment's.
      add({
        kind: a.at ? 'forged-erasure' : 'checkpoint-mismatch',
        ...(a.at ? {} : { seq }),
        message: `${where(a)}: its root for size ${s.size} does not match the records${a.at ? ' of this segment (a statement of another segment or ledger): it authorises nothing' : ''}`,
      });
    } else if (seq >= sealed) {
      bad.set(seq, 'it is not sealed by a valid checkpoint');
    }
  }
  const byId = new Map(auth.accepted.map((a) => [a.seq, a]));
  const list: ErasureResult[] = [];
  let omitted = 0;
  const done = new Set<number>();
  const listed = (seq: number, a: AcceptedErasure, erased: boolean): ErasureResult => ({
    seq,
    statement: a.at ? a.at.seq : a.seq,
    ...(a.at ? { segment: a.at.segment } : {}),
    time: a.statement.time,
    reason: a.statement.reason,
    erased,
  });
  for (const { seq, by } of scan.erased) {
    done.add(seq);
    if (by === UNCHECKED_ELSEWHERE) {
      uncheckedRow(auth, seq, add);
      continue;
    }
    const a = byId.get(by)!;
    const why = bad.get(by);
    if (why !== undefined) {
      add({
        kind: 'modified',
        seq,
        message: `row ${seq}: its body was removed under the ${where(a)}, but ${why}: the removal is not authorised`,
      });
      continue;
    }
    if (list.length < MAX_LISTED_ERASURES) list.push(listed(seq, a, true));
    else omitted++;
  }
  // Authorised but not carried out (a crash between the statement and the rewrite): listed, not a failure.
  for (const a of auth.accepted) {
    if (bad.has(a.seq)) continue;
    for (const r of a.statement.rows) {
      if (done.has(r.seq) || r.seq > scan.lastSeq) continue;
      done.add(r.seq);
      if (list.length < MAX_LISTED_ERASURES) list.push(listed(r.seq, a, false));
      else omitted++;
    }
  }
  list.sort((a, b) => a.seq - b.seq);
  return { list, omitted };
}

/**
 * A closed segment's row erased under a statement in another file that this
 * verification was not given. Verified alone, the file cannot tell an
 * authorised erasure from a removed body: `erased-elsewhere`, a failure that
 * says where to look. Verified as part of its directory, no sealed statement by
 * a trusted key there names it: the removal is not authorised (`modified`).
 */
function uncheckedRow(auth: Authorised, seq: number, add: (f: Finding) => void): void {
  const m = auth.unchecked?.get(seq);
  const at = m ? `segment ${m.segment} row ${m.seq}` : 'another segment';
  add(
    auth.inDirectory
      ? {
          kind: 'modified',
          seq,
          message: `row ${seq}: its body was replaced by a marker naming the erasure statement at ${at}, but no statement there signed by a trusted key names this row with this leaf: the removal is not authorised`,
        }
      : {
          kind: 'erased-elsewhere',
          seq,
          message: `row ${seq}: its body was erased under the statement at ${at}, in another file of the segment directory; this file alone cannot check that the erasure is authorised: verify the directory (sealog verify <dir>)`,
        },
  );
}
