import type Database from 'better-sqlite3';
import { parseCheckpoint } from '../checkpoint/body.js';
import { SealogError } from '../errors.js';
import { HASH_SIZE, leafHash } from '../hash.js';
import { CompactRange, type LeafSource } from '../merkle.js';
import { parseNote } from '../note/note.js';

// The prover's view of a ledger: leaf hashes of the first n records, hashed
// once into one flat buffer (32 bytes a record), and the stored checkpoints
// with their (unverified) bodies. The prover is not a verifier: it refuses to
// prove against a checkpoint whose root its records do not reproduce, and
// leaves signature checks to whoever verifies the proof.

const PAGE = 8192;

/** Leaf hashes of records 0..size-1 and a LeafSource over them. */
export interface Leaves {
  size: number;
  hashes: Buffer;
  leaf: LeafSource;
  root: Buffer;
  /** Entry bytes of one record, read on demand. */
}

/**
 * Reads and hashes records [0, size).
 * @throws SealogError E_TAMPER when a seq is missing or an entry is not a blob (run `sealog verify`).
 */
export function readLeaves(db: Database.Database, size: number): Leaves {
  const range = new CompactRange();
  const hashes = Buffer.alloc(size * HASH_SIZE);
  const stmt = db
    .prepare('SELECT seq, entry FROM records WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?')
    .raw(true);
  let next = 0;
  while (next < size) {
    const rows = stmt.all(next, size, PAGE) as unknown[][];
    if (rows.length === 0) break;
    for (const [seq, entry] of rows) {
      if (seq !== next || !Buffer.isBuffer(entry)) {
        throw new SealogError(
          'E_TAMPER',
          `record ${next} is missing or malformed; run \`sealog verify\` on the ledger`,
        );
      }
      const leaf = leafHash(entry);
      leaf.copy(hashes, next * HASH_SIZE);
      range.append(leaf);
      next++;
    }
  }
  if (next !== size)
    throw new SealogError(
      'E_TAMPER',
      `the ledger holds only ${next} of the ${size} records a checkpoint covers; run \`sealog verify\``,
    );
  return {
    size,
    hashes,
    leaf: (i) => hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE),
    root: range.root(),
  };
}

/** A stored checkpoint whose note parses (signature not checked here). */
export interface StoredNote {
  id: number;
  size: number;
  root: Buffer;
  note: string;
}

/** Stored checkpoints whose notes parse, in id order. Unparseable ones are skipped (verify reports them). */
export function storedNotes(db: Database.Database): StoredNote[] {
  const out: StoredNote[] = [];
  const rows = db.prepare('SELECT id, note FROM checkpoints ORDER BY id').raw(true).iterate() as Iterable<
    unknown[]
  >;
  for (const [id, note] of rows) {
    if (typeof id !== 'number' || typeof note !== 'string') continue;
    try {
      const cp = parseCheckpoint(parseNote(note).text);
      out.push({ id, size: cp.size, root: Buffer.from(cp.root), note });
    } catch {
      // malformed: not usable for a proof
    }
  }
  return out;
}

/**
 * Checks the records reproduce the checkpoint's root.
 * @throws SealogError E_TAMPER if not.
 */
export function assertMatches(leaves: Leaves, cp: StoredNote): void {
  if (leaves.size !== cp.size || !leaves.root.equals(cp.root)) {
    throw new SealogError(
      'E_TAMPER',
      `checkpoint ${cp.id} (size ${cp.size}) does not match the records; run \`sealog verify\``,
    );
  }
}
