import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseCheckpoint } from '../checkpoint/body.js';
import { SealogError } from '../errors.js';
import { MAX_NOTE_BYTES, parseNote, verifyNote } from '../note/note.js';
import { assertLedger, ioError, openReadOnly } from '../store/open.js';
import { segmentFileName } from './layout.js';

// RFC 3161 tokens of a segmented ledger (docs/timestamps.md §5, docs/lifecycle.md
// "Segments"). Every segment is its own tree, so sizes repeat across segments:
// a token is kept in the segment that stores the note it stamps, under that
// segment's own size, and verify judges each segment's tokens against that
// segment's notes. The sealer hands the requester the note of the segment it
// sealed last; the final checkpoints of the segments closed before it were
// sealed in the same pass but are not handed over, so they are read back here,
// and stamped only when this writer's own key signed them at the segment's end.

/** How many segments back a note or an unstamped final checkpoint is looked for. */
export const SEGMENT_TOKEN_LOOK_BACK = 8;

/** Where one note's token goes: segment `index` (file `path`), at that segment's size `size`. */
export interface SegmentTokenTarget {
  index: number;
  path: string;
  size: number;
}

/** The directory and current segment of a segmented store (segments/store.ts). */
export interface SegmentedStoreView {
  readonly dir: string;
  readonly current: { index: number };
}

export class SegmentTokens {
  readonly #store: SegmentedStoreView;
  readonly #ownKey: string;
  /** Segments up to this one have a final checkpoint that was looked at (stamped, queued, or not ours). */
  #seen = 0;

  /** @param ownKey the writer's log verifier key: only what it signed is stamped. */
  constructor(store: SegmentedStoreView, ownKey: string) {
    this.#store = store;
    this.#ownKey = ownKey;
  }

  /**
   * The segment that stores `note` (these exact bytes), from the current
   * segment back; and the final checkpoints of the segments closed since the
   * last call that this key signed and no token stamps yet, oldest first.
   * @throws SealogError E_IO when no segment holds the note (or a file cannot be read).
   */
  locate(note: Buffer): {
    target: SegmentTokenTarget;
    finals: { target: SegmentTokenTarget; note: string }[];
  } {
    const newest = this.#store.current.index;
    const text = note.toString('utf8');
    // The note is the sealer's own: its size line is the segment's size (the rows' columns are not trusted).
    const size = parseCheckpoint(parseNote(text).text).size;
    for (let index = newest; index >= Math.max(1, newest - SEGMENT_TOKEN_LOOK_BACK); index--) {
      const path = this.#path(index);
      if (!existsSync(path)) break;
      const stored = read(
        path,
        (db) => db.prepare('SELECT 1 FROM checkpoints WHERE note = ? LIMIT 1').get(text) !== undefined,
      );
      if (!stored) continue;
      return { target: { index, path, size }, finals: this.#finals(index) };
    }
    throw new SealogError(
      'E_IO',
      `the checkpoint note was found in none of segments ${Math.max(1, newest - SEGMENT_TOKEN_LOOK_BACK)}–${newest} of ${this.#store.dir}, so its token has nowhere to go`,
    );
  }

  /** Stores a token in its segment, beside that segment's checkpoints. @throws SealogError E_IO. */
  put(target: SegmentTokenTarget, noteSha256: Uint8Array, token: Uint8Array, tsaTimeMs: number): void {
    let db: Database.Database | undefined;
    try {
      db = new Database(target.path, { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      assertLedger(db, target.path);
      db.prepare(
        'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(target.size, Buffer.from(noteSha256), Buffer.from(token), Math.trunc(tsaTimeMs), Date.now());
    } catch (err) {
      throw err instanceof SealogError ? err : ioError(target.path, 'store a timestamp token in', err);
    } finally {
      db?.close();
    }
  }

  /**
   * Closed segments before `index` (newer than the last looked at, and at most
   * SEGMENT_TOKEN_LOOK_BACK back) whose final checkpoint this key signed and
   * no token stamps; the walk stops at a pruned segment or a stamped final.
   */
  #finals(index: number): { target: SegmentTokenTarget; note: string }[] {
    const out: { target: SegmentTokenTarget; note: string }[] = [];
    const from = Math.max(1, this.#seen + 1, index - SEGMENT_TOKEN_LOOK_BACK);
    // A segment whose final checkpoint is not stored yet (another writer seals it) is looked at again next time.
    let unsealed: number | undefined;
    for (let j = index - 1; j >= from; j--) {
      const path = this.#path(j);
      if (!existsSync(path)) break;
      let found: Final | undefined;
      try {
        found = read(path, (db) => this.#final(db));
      } catch {
        continue; // a segment that cannot be read is verify's finding, not the writer's
      }
      if (found === undefined || found.stamped) break;
      if (found.note !== undefined)
        out.unshift({ target: { index: j, path, size: found.size }, note: found.note });
      else if (!found.sealed) unsealed = j;
    }
    this.#seen = Math.max(this.#seen, (unsealed ?? index) - 1);
    return out;
  }

  /** A closed segment's final size, its first note there this key signed, and whether one has a token. */
  #final(db: Database.Database): Final | undefined {
    const size = (db.prepare('SELECT coalesce(max(seq) + 1, 0) FROM records').pluck().get() as number) ?? 0;
    if (!Number.isSafeInteger(size) || size === 0) return undefined;
    // Attacker input: bounded, and only a note this key signed over this size counts.
    const notes = db
      .prepare(
        `SELECT iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints WHERE size = ? ORDER BY id LIMIT 16`,
      )
      .pluck()
      .all(size) as unknown[];
    const mine = notes.filter((n): n is string => typeof n === 'string' && this.#signed(n, size));
    // Another key's final (before a rotation) is not this writer's to stamp, and not waited for.
    if (mine.length === 0) return { size, stamped: false, sealed: notes.length > 0 };
    const has = db.prepare('SELECT 1 FROM checkpoint_timestamps WHERE note_sha256 = ? LIMIT 1');
    const stamped = mine.some((n) => has.get(createHash('sha256').update(n, 'utf8').digest()) !== undefined);
    return { size, note: mine[0]!, stamped, sealed: true };
  }

  #signed(note: string, size: number): boolean {
    try {
      return parseCheckpoint(verifyNote(note, [this.#ownKey]).text).size === size;
    } catch {
      return false;
    }
  }

  #path(index: number): string {
    return join(this.#store.dir, segmentFileName(index));
  }
}

interface Final {
  size: number;
  /** The first note at `size` the writer's key signed (none: not sealed yet, or by another key). */
  note?: string;
  /** A note at `size` the writer's key signed has a token. */
  stamped: boolean;
  /** Some checkpoint is stored at `size`. */
  sealed: boolean;
}

function read<T>(path: string, f: (db: Database.Database) => T): T {
  const db = openReadOnly(path);
  try {
    return f(db);
  } finally {
    db.close();
  }
}
