import type Database from 'better-sqlite3';
import type { ErasedLeaves } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { HASH_SIZE, leafHash } from '../hash.js';
import { CompactRange, type LeafSource } from '../merkle.js';
import type { VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { checkNote } from '../verify/checkpoint.js';

// The prover's view of a ledger: leaf hashes of the first n records, hashed
// once into one flat buffer (32 bytes a record), and the stored checkpoints
// whose signatures verify under the trusted keys. Issue 14, finding 7: a
// checkpoint row is a claim anyone who can write the file can make, so an
// unverified row (say one forged with size 2^53-1) must neither be picked
// nor size an allocation. The prover also refuses to prove against a
// checkpoint whose root its records do not reproduce.

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
 * Reads and hashes records [0, size); an erased row's leaf comes from `erased`.
 * @throws SealogError E_TAMPER when a seq is missing or an entry is not a blob (run `sealog verify`).
 */
export function readLeaves(db: Database.Database, size: number, erased?: ErasedLeaves): Leaves {
  // Even a validly signed size is only allocated for once the rows are there.
  const count = (db.prepare('SELECT count(*) FROM records').pluck().get() as number) ?? 0;
  if (count < size) {
    throw new SealogError(
      'E_TAMPER',
      `the ledger holds only ${count} of the ${size} records a signed checkpoint covers; run \`sealog verify\``,
    );
  }
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
      // An erased row: the leaf its signed erasure statement names (chain/erased.ts).
      const leaf = erased?.leafOf(next, entry)?.leaf ?? leafHash(entry);
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

/** A stored checkpoint signed by a trusted log key whose name is its origin. */
export interface StoredNote {
  id: number;
  size: number;
  root: Buffer;
  note: string;
}

/**
 * Stored checkpoints that verify under `keys` (a log signature by a key
 * named like the origin, and the origin `origin` when given), in id order.
 * Anything else is skipped and counted: `sealog verify` reports it.
 */
export function storedNotes(
  db: Database.Database,
  keys: readonly VerifierKey[],
  origin?: string,
): { notes: StoredNote[]; skipped: number } {
  const notes: StoredNote[] = [];
  let skipped = 0;
  // A huge note is measured, never loaded.
  const rows = db
    .prepare(
      `SELECT id, iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints ORDER BY id`,
    )
    .raw(true)
    .iterate() as Iterable<unknown[]>;
  for (const [id, note] of rows) {
    if (typeof id !== 'number' || typeof note !== 'string') {
      skipped++;
      continue;
    }
    const r = checkNote(note, keys);
    if (!r.ok || !r.signers.includes(r.origin) || (origin !== undefined && r.origin !== origin)) {
      skipped++;
      continue;
    }
    notes.push({ id, size: r.size, root: r.root, note });
  }
  return { notes, skipped };
}

/** Why no usable checkpoint was found, for error messages. */
export function skippedText(skipped: number): string {
  return skipped > 0
    ? ` (${skipped} stored checkpoint(s) are not signed by the given keys and were ignored)`
    : '';
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
