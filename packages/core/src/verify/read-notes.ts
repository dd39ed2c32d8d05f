import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { splitAnchorNotes } from '../checkpoint/anchor.js';
import type { VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { checkNote, type FailedNote } from './checkpoint.js';
import { CheckpointRows, type SeenNote } from './rows.js';
import type { Finding } from './types.js';
import { noteCosignatures, type WitnessPolicy } from './witnessed.js';

// Reads the checkpoint rows of the ledger (streamed, one row at a time) and
// the notes given from outside, and opens each note once: a note repeated in
// many rows (an attacker's padding, or the same note in the ledger and the
// anchor file) is parsed and its signatures checked once, by its SHA-256.

/** Distinct failed notes remembered, so copies of one junk note are not re-checked (bounded). */
const FAILED_NOTES = 4096;

/** What verify read: the rows in order, and the distinct notes that opened. */
export interface ReadCheckpoints {
  rows: CheckpointRows;
  notes: SeenNote[];
}

class NoteReader {
  readonly rows = new CheckpointRows();
  readonly notes: SeenNote[] = [];
  #opened = new Map<string, number>();
  #failed = new Map<string, FailedNote>();

  constructor(
    readonly keys: readonly VerifierKey[],
    readonly policy: WitnessPolicy | undefined,
  ) {}

  /**
   * The index of the note among those that opened, or -1 after reporting why
   * it did not (`fail`). `kind` keeps a TEXT and a BLOB value apart; a
   * TEXT note's bytes are its UTF-8, hashed without a copy (`bytes` undefined).
   */
  open(
    kind: 'b' | 't',
    bytes: Buffer | undefined,
    text: string,
    where: string,
    checkpointId: number | undefined,
    source: 'ledger' | 'trusted',
    fail: (f: FailedNote) => void,
    add: (f: Finding) => void,
  ): number {
    const hash = createHash('sha256');
    const sha256 = (bytes ? hash.update(bytes) : hash.update(text, 'utf8')).digest('hex');
    const key = kind + sha256;
    const known = this.#opened.get(key);
    if (known !== undefined) {
      // A copy: the same findings for its own row, nothing re-checked but its witness lines' report.
      if (this.policy && (this.notes[known]!.cosigs?.invalid.length ?? 0) > 0)
        noteCosignatures(text, this.policy, where, add);
      return known;
    }
    let failed = this.#failed.get(key);
    if (failed === undefined) {
      const opened = checkNote(text, this.keys);
      if (opened.ok) {
        const note: SeenNote = {
          result: { source, valid: false },
          opened,
          sha256,
          where,
          validRows: 0,
          validStored: false,
        };
        if (checkpointId !== undefined) {
          note.checkpointId = checkpointId;
          note.result.id = checkpointId; // until judgeRows names its first valid row
        }
        if (this.policy) note.cosigs = noteCosignatures(text, this.policy, where, add);
        this.#opened.set(key, this.notes.length);
        this.notes.push(note);
        return this.notes.length - 1;
      }
      failed = opened;
      if (this.#failed.size < FAILED_NOTES) this.#failed.set(key, failed);
    }
    fail(failed);
    return -1;
  }
}

const safeInt = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) ? v : Number.NaN);

/**
 * Reads every checkpoint row (by id) and every note of `trusted`, and opens
 * their notes with `keys`. Findings for notes that do not open (malformed,
 * unknown-key, bad-signature) and for forged witness lines are added per row.
 * Memory: 21 bytes a row plus one entry per distinct note that opened.
 * @throws only what better-sqlite3 throws on a damaged file.
 */
export function readCheckpoints(
  db: Database.Database | undefined,
  trusted: readonly string[],
  keys: readonly VerifierKey[],
  policy: WitnessPolicy | undefined,
  add: (f: Finding) => void,
): ReadCheckpoints {
  const r = new NoteReader(keys, policy);
  if (db) {
    // Bounded read: a huge note is not loaded, only measured. id is the rowid
    // unless the table was recreated; anything else is reported, not trusted.
    const rows = db
      .prepare(
        `SELECT id, size, iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints ORDER BY id`,
      )
      .raw(true)
      .iterate() as Iterable<unknown[]>;
    for (const [id, size, note] of rows) {
      const cid = safeInt(id);
      const checkpointId = Number.isNaN(cid) ? undefined : cid;
      const where = `checkpoint ${checkpointId ?? String(id)}`;
      const text =
        typeof note === 'string' ? note : Buffer.isBuffer(note) ? note.toString('utf8') : undefined;
      if (text === undefined) {
        r.rows.push(cid, safeInt(size), -1, false);
        add({
          kind: 'malformed-checkpoint',
          checkpointId,
          message: `${where}: note is missing, not text, or larger than ${MAX_NOTE_BYTES} bytes`,
        });
        continue;
      }
      // A TSA token's imprint is over the note's bytes exactly as stored.
      const bytes = Buffer.isBuffer(note) ? note : undefined;
      const rowAdd = (x: Finding) => add(checkpointId === undefined ? x : { ...x, checkpointId });
      const index = r.open(
        Buffer.isBuffer(note) ? 'b' : 't',
        bytes,
        text,
        where,
        checkpointId,
        'ledger',
        (failed) => add({ kind: failed.kind, checkpointId, message: `${where}: ${failed.message}` }),
        rowAdd,
      );
      r.rows.push(cid, safeInt(size), index, false);
    }
  }
  let n = 0;
  for (const input of trusted) {
    for (const note of splitAnchorNotes(String(input))) {
      n++;
      const where = `trusted checkpoint #${n}`;
      const index = r.open(
        't',
        undefined,
        note,
        where,
        undefined,
        'trusted',
        (failed) => add({ kind: failed.kind, message: `${where}: ${failed.message}` }),
        add,
      );
      r.rows.push(Number.NaN, Number.NaN, index, true);
    }
  }
  return { rows: r.rows, notes: r.notes };
}
