import type Database from 'better-sqlite3';
import type { ErasedLeaves } from '../chain/erased.js';
import { SealogError } from '../errors.js';
import { HASH_SIZE, leafHash } from '../hash.js';
import { CompactRange, type LeafSource } from '../merkle.js';
import type { VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import { parseTombstone, prunedLeafSource, TOMBSTONE_TABLE } from '../prefix/tombstone.js';
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
  // A pruned prefix: leaves from its tombstone's compact range on. Not trusted: the
  // root computed over it must still match the signed checkpoint (assertMatches).
  const pruned = prunedPrefix(db);
  const base = pruned?.size ?? 0;
  if (size < base) throw prunedError(base, `a tree of size ${size}`);
  // Even a validly signed size is only allocated for once the rows are there.
  const count = (db.prepare('SELECT count(*) FROM records').pluck().get() as number) ?? 0;
  if (count < size - base) {
    throw new SealogError(
      'E_TAMPER',
      `the ledger holds only ${count} of the ${size - base} records a signed checkpoint covers; run \`sealog verify\``,
    );
  }
  const range = pruned ? pruned.range.clone() : new CompactRange();
  const hashes = Buffer.alloc((size - base) * HASH_SIZE);
  const stmt = db
    .prepare('SELECT seq, entry FROM records WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?')
    .raw(true);
  let next = base;
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
      leaf.copy(hashes, (next - base) * HASH_SIZE);
      range.append(leaf);
      next++;
    }
  }
  if (next !== size)
    throw new SealogError(
      'E_TAMPER',
      `the ledger holds only ${next} of the ${size} records a checkpoint covers; run \`sealog verify\``,
    );
  const at = (i: number) => hashes.subarray((i - base) * HASH_SIZE, (i - base + 1) * HASH_SIZE);
  return {
    size,
    hashes,
    leaf: pruned ? prunedLeafSource(pruned.range, at) : at,
    root: range.root(),
  };
}

/** The newest tombstone's size and range (unverified), if the ledger's prefix was pruned. */
export function prunedPrefix(db: Database.Database): { size: number; range: CompactRange } | undefined {
  const has = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .get(TOMBSTONE_TABLE);
  if (has === undefined) return undefined;
  const row = db
    .prepare(
      `SELECT id, size, NULL AS note, iif(length(chain_head) <= 32, chain_head, NULL) AS chain_head,
         iif(length(compact) <= 2048, compact, NULL) AS compact, statement_seq, pruned_at
       FROM ${TOMBSTONE_TABLE} ORDER BY id DESC LIMIT 1`,
    )
    .get() as Record<string, unknown> | undefined;
  if (row === undefined) return undefined;
  const t = parseTombstone({ ...row, note: '' });
  if (typeof t === 'string')
    throw new SealogError('E_TAMPER', `the ledger's tombstone is malformed (${t}); run \`sealog verify\``);
  return t;
}

/** Refusal to prove over records pruned under retention. */
export function prunedError(size: number, what: string): SealogError {
  return new SealogError(
    'E_CONFIG',
    `records 0..${size - 1} were pruned under retention (\`sealog verify\` lists the prune), so ${what} cannot be proved from this ledger: prove a later record, or a size of ${size} or more`,
  );
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
