import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { createWriterTrust } from '../checkpoint/config.js';
import { sealHead } from '../checkpoint/seal.js';
import { SealogError } from '../errors.js';
import type { CheckpointKey } from '../signer/types.js';
import { SqliteStore } from '../store/sqlite.js';
import type { PendingEntry } from '../store/types.js';
import { listSegments } from './layout.js';
import { type Statement, signStatement, statementEntry } from './statements.js';

// The two writes retention makes to a segment file, both as `sealog
// checkpoint` does them: the store is opened with the key's own trust root, so
// it derives the head by hashing the rows from this key's newest checkpoint (or
// row 0) and refuses a ledger that was rewritten; only that derived head is signed.

export interface SealedAppend {
  /** seq of the statement entry. */
  seq: number;
  /** The sealing checkpoint's size and note. */
  size: number;
  note: string;
  statement: string;
}

/** Whether `db` carries a `segment_close` marker (segments/create.ts). Never throws on a file without the table. */
function closeMarked(db: Database.Database): boolean {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'segment_close'")
    .get();
  return table !== undefined && db.prepare('SELECT 1 FROM segment_close WHERE id = 0').get() !== undefined;
}

/** When `file` is named like a segment (seg-NNNNNN.db), whether its directory holds a segment file with a higher index. */
export function laterSegmentExists(file: string): boolean {
  const m = /^seg-(\d{6,15})\.db$/.exec(basename(file));
  if (m === null) return false;
  const index = Number(m[1]);
  let slots: ReturnType<typeof listSegments>['slots'];
  try {
    slots = listSegments(dirname(file)).slots;
  } catch {
    return false;
  }
  return slots.some((s) => s.index > index && s.file !== undefined);
}

/**
 * A segment a rotating writer closed (its `segment_close` marker, segments/create.ts)
 * takes no more rows: its final head is already bound into the next segment.
 * Checked inside the append's own transaction, so a writer closing it meanwhile
 * cannot slip between the check and the row.
 */
function refuseClosed(file: string) {
  return (db: Database.Database): void => {
    if (!closeMarked(db)) return;
    if (!laterSegmentExists(file)) {
      // Retrying cannot help: no writer is moving on to a next segment.
      throw new SealogError(
        'E_STATE',
        `${file} carries a segment close marker but no next segment exists: a writer died in the middle of a rotation, or the file was edited (the marker is not signed); nothing was written. Start the ledger's writer on ${dirname(file)}: opening it completes the rotation (it creates the next segment, bound to the head it derives). Then run sealog verify on the directory and this command again`,
      );
    }
    throw new SealogError(
      'E_STATE',
      `${file} was closed by a writer that moved on to the next segment; nothing was written: run the command again`,
    );
  };
}

/**
 * For `sealog erase`: refuses to append to a closed segment, one whose
 * `segment_close` marker is set or whose directory holds a higher-index
 * segment. Its final head (size and root) is bound into the next segment's
 * row 0, so one more row there would break that binding for good. Meant as a
 * SqliteStore `beforeAppend` (inside the append's transaction); also callable
 * with an open handle before any work.
 */
export function refuseClosedSegment(file: string): (db: Database.Database) => void {
  return (db) => {
    if (closeMarked(db) || laterSegmentExists(file)) {
      throw new SealogError(
        'E_CONFIG',
        `${file} is a closed segment (its final size and root are bound into the next segment's first row), so the erasure statement cannot be appended to it; nothing was changed. Run the command again: a closed segment with a next segment is erased through the newest one. If no next segment exists (a writer died mid-rotation, or the unsigned marker was edited), start the ledger's writer on ${dirname(file)} first: opening it completes the rotation (docs/lifecycle.md "Erasure of a record's body")`,
      );
    }
  };
}

async function open(file: string, signer: CheckpointKey) {
  if (!existsSync(file)) throw new SealogError('E_IO', `segment ${file} does not exist`);
  const store = new SqliteStore(file, {
    durability: 'power',
    trust: createWriterTrust({}, signer, () => {}),
    beforeAppend: refuseClosed(file),
  });
  if (store.divergence) {
    await store.close();
    throw store.divergence;
  }
  return store;
}

/**
 * Signs `statement` with the log key, appends it to the segment `file` and
 * seals a checkpoint covering it, signed by the same key.
 * @throws SealogError E_TAMPER (the segment does not re-derive), E_KEY, E_IO.
 */
export async function appendSealed(
  file: string,
  signer: CheckpointKey,
  statement: Statement,
  now: number,
): Promise<SealedAppend> {
  const note = await signStatement(statement, signer.log);
  return appendSealedEntry(file, signer, statementEntry(note, statement, now), note);
}

/**
 * Appends `entry` (a statement already signed: `note`) to the segment `file`
 * and seals a checkpoint covering it, signed by `signer`.
 * @throws SealogError E_TAMPER (the segment does not re-derive), E_STATE (closed), E_IO.
 */
export async function appendSealedEntry(
  file: string,
  signer: CheckpointKey,
  entry: PendingEntry,
  note: string,
): Promise<SealedAppend> {
  const store = await open(file, signer);
  try {
    const c = await store.append([entry]);
    const seal = await sealHead(store, signer);
    if (!seal) throw new SealogError('E_IO', `${file}: another writer held the checkpoint lock`);
    return { seq: c.firstSeq, size: seal.size, note: seal.note, statement: note };
  } finally {
    await store.close();
  }
}

/**
 * A checkpoint of segment `file` at its final head, which must be `expected`
 * (what verify recomputed and the prune statement names): derived, then signed
 * and stored in the segment like any seal.
 * @throws SealogError E_TAMPER when the derived head is not `expected`.
 */
export async function signAtHead(
  file: string,
  signer: CheckpointKey,
  expected: { size: number; root: Uint8Array },
): Promise<string> {
  const store = await open(file, signer);
  try {
    const head = await store.head();
    if (head.size !== expected.size || !Buffer.from(head.root).equals(Buffer.from(expected.root))) {
      throw new SealogError(
        'E_TAMPER',
        `${file}: its head is size ${head.size}, not the size ${expected.size} verified before; run sealog verify on the directory`,
      );
    }
    const seal = await sealHead(store, signer);
    if (!seal || seal.size !== expected.size)
      throw new SealogError('E_IO', `${file}: could not seal it at size ${expected.size}`);
    return seal.note;
  } finally {
    await store.close();
  }
}
