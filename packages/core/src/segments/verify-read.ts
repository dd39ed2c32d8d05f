import { isSealogError } from '../errors.js';
import { ioError, openReadOnly } from '../store/open.js';
import { MAX_BINDING_BYTES, parseBinding, type SegmentBinding } from './binding.js';
import {
  MAX_STATEMENT_NOTE_BYTES,
  STATEMENT_ROW_FILTER,
  type Statement,
  statementNoteOf,
} from './statements.js';

// What the segment checks read from one segment file besides what verifyLedger
// reports: its row 0, its time span and its retention statements. The file is
// attacker input: every read is bounded and the caller verifies the same file.

/** Most retention statements read from one segment; more is a finding, not a crash. */
export const MAX_STATEMENTS_PER_SEGMENT = 10_000;
/** Most statement bytes kept from one segment (a padded segment must not exhaust memory). */
export const MAX_STATEMENT_BYTES_PER_SEGMENT = 32 * 1024 * 1024;
/** Largest entry looked at for a statement (a note and its JSON wrapping). */
const MAX_STATEMENT_ENTRY_BYTES = MAX_STATEMENT_NOTE_BYTES * 2 + 1024;

export interface StoredStatement {
  seq: number;
  /** The type the entry's key announces. */
  type: Statement['type'];
  note: string;
}

export interface SegmentFacts {
  /** Row 0 as a binding; 'absent' when the file has no row 0. */
  binding: SegmentBinding | 'malformed' | 'absent' | undefined;
  /** Oldest and newest `ts` of its rows (the time index verify checked against each entry's own time). */
  oldest?: number;
  newest?: number;
  statements: StoredStatement[];
  /** True when more than MAX_STATEMENTS_PER_SEGMENT statements (or their byte budget) were found. */
  overflow: boolean;
}

/**
 * Reads a segment's row 0, time span and statement entries (at most
 * `maxStatements`: what is left of the directory's budget) in one read transaction.
 * @throws SealogError E_IO / E_NOT_LEDGER when the file cannot be read as a ledger.
 */
export function readSegmentFacts(path: string, maxStatements = MAX_STATEMENTS_PER_SEGMENT): SegmentFacts {
  const db = openReadOnly(path);
  try {
    db.exec('BEGIN');
    const row0 = db
      .prepare(
        `SELECT iif(length(entry) <= ${MAX_BINDING_BYTES}, entry, NULL) FROM records WHERE seq = 0 LIMIT 1`,
      )
      .raw(true)
      .get() as [unknown] | undefined;
    let binding: SegmentFacts['binding'] = 'absent';
    if (row0 !== undefined) {
      const e = row0[0];
      binding = e instanceof Uint8Array ? parseBinding(e) : 'malformed';
    }
    const span = db
      .prepare("SELECT min(ts), max(ts) FROM records WHERE typeof(ts) = 'integer'")
      .raw(true)
      .get() as [unknown, unknown];
    const facts: SegmentFacts = { binding, statements: [], overflow: false };
    if (typeof span[0] === 'number' && typeof span[1] === 'number') {
      facts.oldest = span[0];
      facts.newest = span[1];
    }
    const rows = db
      .prepare(
        `SELECT seq, CAST(entry AS TEXT) FROM records WHERE length(entry) <= ${MAX_STATEMENT_ENTRY_BYTES} AND (${STATEMENT_ROW_FILTER}) ORDER BY seq`,
      )
      .raw(true)
      .iterate() as Iterable<[unknown, unknown]>;
    let bytes = 0;
    for (const [seq, entry] of rows) {
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof entry !== 'string') continue;
      const found = statementNoteOf(entry);
      if (found === undefined) continue;
      bytes += found.note.length;
      if (
        facts.statements.length >= Math.min(maxStatements, MAX_STATEMENTS_PER_SEGMENT) ||
        bytes > MAX_STATEMENT_BYTES_PER_SEGMENT
      ) {
        facts.overflow = true;
        break;
      }
      facts.statements.push({ seq, ...found });
    }
    return facts;
  } catch (err) {
    if (isSealogError(err)) throw err;
    throw ioError(path, 'read', err);
  } finally {
    db.close();
  }
}
