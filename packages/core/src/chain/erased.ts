import type Database from 'better-sqlite3';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { verifyNote } from '../note/note.js';
import {
  type ErasureStatement,
  erasureNoteOf,
  FOREIGN_MARKER_PREFIX,
  type ForeignMarker,
  foreignMarkerOf,
  MAX_ERASURE_NOTE_BYTES,
  MAX_FOREIGN_MARKER_BYTES,
  markerOf,
  parseErasure,
} from '../signer/erasure.js';
import type { OwnKey, SignedHead } from './trust.js';

// Which erased rows a reader may take the leaf of from an erasure statement
// instead of hashing the entry (signer/erasure.ts). Every reader of leaves
// (verify, a writer's derivation, proofs, exports, tiles) goes through this:
// a row counts as erased only when its entry is exactly the marker naming a
// statement that a trusted key signed and that names this row. Anything else
// is hashed as stored, so an unauthorised removal breaks the chain as any edit does.

/** Most statements read; past them a reader stops (verify reports it). */
export const MAX_ERASURE_STATEMENTS = 1000;
/** Most authorised rows kept in memory (each ~100 bytes). */
export const MAX_ERASED_TOTAL = 1_000_000;
/** Largest entry looked at for a statement (the note escaped in JSON, plus the record around it). */
const MAX_STATEMENT_ENTRY_BYTES = 2 * MAX_ERASURE_NOTE_BYTES + 4096;

/**
 * `by` of a closed segment's erased row whose statement (in a later segment)
 * this reader was not given: the leaf is the marker's own claim, so the row is
 * hashed on but its erasure is unchecked (verify/erasures.ts reports it).
 */
export const UNCHECKED_ELSEWHERE = -1;

interface Authorisation {
  by: number;
  leaf: Buffer;
  /** For a closed segment's row: the statement the marker must name (segment, seq there). */
  at?: { segment: number; seq: number };
}

/** The leaves erasure statements authorise, by row. */
export class ErasedLeaves {
  readonly #rows = new Map<number, Authorisation[]>();
  #sorted: number[] | undefined;
  count = 0;

  /**
   * Row `seq` may hold the marker of statement `by` (a seq of this file), or,
   * with `at`, the foreign marker naming that statement in a later segment
   * (`by` is then negative: an id, never a seq).
   */
  add(seq: number, by: number, leaf: Buffer, at?: { segment: number; seq: number }): void {
    const a: Authorisation = at ? { by, leaf, at } : { by, leaf };
    const list = this.#rows.get(seq);
    if (list) list.push(a);
    else this.#rows.set(seq, [a]);
    this.#sorted = undefined;
    this.count++;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** The statement's leaf, when `entry` is the marker of a statement that erases row `seq`. */
  leafOf(seq: number, entry: unknown): { by: number; leaf: Buffer } | undefined {
    const list = this.#rows.get(seq);
    if (list === undefined) return undefined;
    const by = markerOf(entry);
    if (by !== undefined) return list.find((a) => a.by === by && a.at === undefined);
    // A closed segment's row: the marker must name the statement, and carry its leaf.
    const f = foreignMarkerOf(entry);
    if (f === undefined) return undefined;
    return list.find((a) => a.at?.segment === f.segment && a.at.seq === f.seq && a.leaf.equals(f.leaf));
  }

  /** True when some row in [from, to) is authorised (such pages are read row by row). */
  anyIn(from: number, to: number): boolean {
    if (this.#rows.size === 0) return false;
    this.#sorted ??= [...this.#rows.keys()].sort((a, b) => a - b);
    const s = this.#sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.length && s[lo]! < to;
  }
}

/** A statement that parsed and was signed by a trusted key. */
export interface AcceptedErasure {
  /** Its seq in this file; for a statement in a later segment, a negative id (`at` says where it is). */
  seq: number;
  statement: ErasureStatement;
  at?: { segment: number; seq: number };
}

export interface Authorised {
  leaves: ErasedLeaves;
  accepted: AcceptedErasure[];
  problems: { seq: number; message: string }[];
  /** Rows holding a closed segment's marker that no given statement authorises, by seq. */
  unchecked?: Map<number, ForeignMarker>;
  /** True when the statements of later segments were looked for (a directory's verifier). */
  inDirectory?: boolean;
}

/** How every statement entry begins: erasureEntry() writes canonical JSON, whose first key is `_sealog`. */
const STATEMENT_PREFIX = '{"_sealog":{"erasure":';

/**
 * Erasure entries at or after `fromSeq`, in seq order (at most MAX_ERASURE_STATEMENTS + 1,
 * so the caller can tell there were more). The prefix test runs in SQLite (a
 * few times cheaper than instr() over every entry): only candidate rows reach JS.
 */
export function readErasureStatements(db: Database.Database, fromSeq = 0): { seq: number; note: string }[] {
  const rows = db
    .prepare(
      `SELECT seq, CAST(entry AS TEXT) FROM records WHERE seq >= ? AND typeof(entry) = 'blob' AND length(entry) <= ${MAX_STATEMENT_ENTRY_BYTES} AND substr(entry, 1, ${STATEMENT_PREFIX.length}) = CAST('${STATEMENT_PREFIX}' AS BLOB) ORDER BY seq`,
    )
    .raw(true)
    .iterate(fromSeq) as Iterable<[unknown, unknown]>;
  const out: { seq: number; note: string }[] = [];
  for (const [seq, entry] of rows) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof entry !== 'string') continue;
    const note = erasureNoteOf(entry);
    if (note === undefined) continue;
    out.push({ seq, note });
    if (out.length > MAX_ERASURE_STATEMENTS) break;
  }
  return out;
}

/**
 * Accepts the statements `signed` vouches for (a trusted key that may sign at
 * the statement's size signed it, for its origin). A statement must sit after
 * the checkpoint it names (its own seq ≥ its size: it was written once that
 * root was sealed). Never throws: statements are attacker input.
 */
export function authorise(
  statements: readonly { seq: number; note: string }[],
  signed: (note: string, s: ErasureStatement) => boolean,
): Authorised {
  const out: Authorised = { leaves: new ErasedLeaves(), accepted: [], problems: [] };
  // A copy of an accepted statement (planted at the unsealed tail, say) authorises nothing more:
  // `sealog erase` signs a new time into every statement, so its own never repeat.
  const seen = new Set<string>();
  for (const { seq, note } of statements) {
    if (seen.has(note)) {
      out.problems.push({
        seq,
        message: `erasure statement at entry ${seq} is a copy of an earlier one: it authorises nothing`,
      });
      continue;
    }
    if (out.accepted.length >= MAX_ERASURE_STATEMENTS) {
      out.problems.push({
        seq,
        message: `more than ${MAX_ERASURE_STATEMENTS} erasure statements; the rest were not read`,
      });
      break;
    }
    let s: ErasureStatement;
    try {
      s = parseErasure(note);
    } catch (err) {
      out.problems.push({ seq, message: `entry ${seq}: ${(err as Error).message}` });
      continue;
    }
    if (s.segment !== undefined) {
      out.problems.push({
        seq,
        message: `erasure statement at entry ${seq} is about segment ${s.segment} of a directory, stored as this file's own: it authorises nothing here`,
      });
      continue;
    }
    if (s.size > seq) {
      out.problems.push({
        seq,
        message: `erasure statement at entry ${seq} names size ${s.size}, beyond its own place`,
      });
      continue;
    }
    if (!signed(note, s)) {
      out.problems.push({
        seq,
        message: `erasure statement at entry ${seq} is not signed by a trusted key that may sign at size ${s.size}: it authorises nothing`,
      });
      continue;
    }
    if (out.leaves.count + s.rows.length > MAX_ERASED_TOTAL) {
      out.problems.push({
        seq,
        message: `more than ${MAX_ERASED_TOTAL} erased rows; the rest were not read`,
      });
      break;
    }
    for (const r of s.rows) out.leaves.add(r.seq, seq, r.leaf);
    out.accepted.push({ seq, statement: s });
    seen.add(note);
  }
  return out;
}

/**
 * For a writer's derivation (chain/derive.ts): the erased rows at or after
 * `fromSeq` that statements its own key signed authorise, and those
 * statements' heads, which the rehashed rows must reproduce like any head the key signed.
 */
export function ownErasures(
  db: Database.Database,
  fromSeq: number,
  own: OwnKey,
): { erased: ErasedLeaves; heads: SignedHead[] } | undefined {
  const statements = readErasureStatements(db, fromSeq);
  if (statements.length === 0) return undefined;
  const auth = authorise(statements, (note) => own.signs(note));
  const heads = auth.accepted.map(({ seq, statement: s }) => ({
    size: s.size,
    root: Buffer.from(s.root),
    where: `erasure statement at entry ${seq}`,
  }));
  return { erased: auth.leaves, heads };
}

/**
 * For proofs and exports: the erased rows that statements signed by one of
 * `keys` (a log key named like the statement's origin) authorise; undefined
 * when the ledger has no erasure statement.
 */
export function erasuresSignedBy(
  db: Database.Database,
  keys: readonly VerifierKey[],
): ErasedLeaves | undefined {
  const statements = readErasureStatements(db);
  if (statements.length === 0) return undefined;
  const logKeys = keys.filter((k) => k.type === SIG_TYPE_ED25519);
  return authorise(statements, (note, s) => {
    try {
      return verifyNote(note, logKeys).verified.some((v) => v.name === s.origin);
    } catch {
      return false;
    }
  }).leaves;
}

/**
 * Rows of this file holding a closed segment's erasure marker (the statement
 * is in a later segment), at most `limit`. Only short entries with the
 * marker's prefix are looked at, in SQLite.
 */
export function readForeignMarkers(
  db: Database.Database,
  limit = MAX_ERASED_TOTAL,
): { seq: number; marker: ForeignMarker }[] {
  const rows = db
    .prepare(
      `SELECT seq, entry FROM records WHERE typeof(entry) = 'blob' AND length(entry) <= ${MAX_FOREIGN_MARKER_BYTES} AND substr(entry, 1, ${FOREIGN_MARKER_PREFIX.length}) = CAST('${FOREIGN_MARKER_PREFIX}' AS BLOB) ORDER BY seq LIMIT ?`,
    )
    .raw(true)
    .iterate(limit) as Iterable<[unknown, unknown]>;
  const out: { seq: number; marker: ForeignMarker }[] = [];
  for (const [seq, entry] of rows) {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) continue;
    const marker = foreignMarkerOf(entry);
    if (marker !== undefined) out.push({ seq, marker });
  }
  return out;
}
