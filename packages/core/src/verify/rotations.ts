import type Database from 'better-sqlite3';
import { openCheckpoint } from '../checkpoint/signed.js';
import { toHex } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { MAX_NOTE_BYTES } from '../note/note.js';
import {
  chainKeys,
  followKeyChain,
  type KeyChain,
  MAX_ROTATION_NOTE_BYTES,
  rotationNoteOf,
} from '../signer/rotation.js';
import { openReadOnly } from '../store/open.js';
import type { ScanResult } from './scan.js';
import type { Finding } from './types.js';

// Key rotation in `sealog verify` (docs/keys.md "Rotation"): the rotation
// entries of the ledger extend the keys the verifier gave, each for the sizes
// its hand-over allows. The entries are hashed data like any record, so an
// edited one is caught by the roots; a planted one must be signed by a trusted
// key to count (signer/rotation.ts).

/** Most rotation statements followed; a ledger with more is reported, not read further. */
export const MAX_ROTATIONS = 1000;
/** Largest entry scanned for a statement (a statement is < 4 KiB; its entry a little more). */
const MAX_ROTATION_ENTRY_BYTES = MAX_ROTATION_NOTE_BYTES * 2 + 1024;

/** The keys a verify run trusts once the rotations are followed. */
export interface TrustedKeys {
  /**
   * The keys to open a note with: the given ones and every key the chain
   * endorsed; {@link retiredOnly} then says which may sign at the note's size.
   */
  keys: readonly VerifierKey[];
  /** Undefined when the ledger has no accepted rotation: every given key signs every size. */
  chain?: KeyChain;
}

/**
 * Reads the ledger's rotation entries (sealog's own `_sealog.keyRotation`) and
 * follows them from the given keys. Problems are findings.
 */
export function readKeyChain(
  db: Database.Database,
  given: readonly VerifierKey[],
  add: (f: Finding) => void,
  fromSeq = 0,
): TrustedKeys {
  const statements: { seq: number; note: string }[] = [];
  // instr() runs in SQLite over the blobs: only candidate rows reach JS.
  const rows = db
    .prepare(
      `SELECT seq, CAST(entry AS TEXT) FROM records WHERE length(entry) <= ${MAX_ROTATION_ENTRY_BYTES} AND instr(entry, CAST('"keyRotation"' AS BLOB)) > 0 AND seq >= ? ORDER BY seq`,
    )
    .raw(true)
    .iterate(fromSeq) as Iterable<[unknown, unknown]>;
  for (const [seq, entry] of rows) {
    if (typeof seq !== 'number' || typeof entry !== 'string') continue;
    const note = rotationNoteOf(entry);
    if (note === undefined) continue;
    if (statements.length === MAX_ROTATIONS) {
      add({
        kind: 'forged-rotation',
        seq,
        message: `more than ${MAX_ROTATIONS} key rotation entries; the rest were not followed`,
      });
      break;
    }
    statements.push({ seq, note });
  }
  if (statements.length === 0) return { keys: given };
  const chain = followKeyChain(given, statements);
  for (const p of chain.problems) add({ kind: p.kind, seq: p.seq, message: p.message });
  if (chain.handovers.length === 0) return { keys: given };
  return { chain, keys: chainKeys(chain) };
}

/** Each accepted hand-over's root must be the records' root at its size. */
export function checkHandovers(chain: KeyChain, scan: ScanResult, add: (f: Finding) => void): void {
  const extent = scan.lastSeq + 1;
  for (const h of chain.handovers) {
    const root = scan.roots.get(h.size);
    if (h.size <= extent && root !== undefined && Buffer.from(h.root).equals(root)) continue;
    add({
      kind: 'checkpoint-mismatch',
      seq: h.seq,
      message: `key rotation at entry ${h.seq} (${h.from} to ${h.to}): its root for size ${h.size} does not match the records`,
    });
  }
}

/**
 * The hand-overs `key` already made in the SQLite ledger at `path`, as
 * verify would accept them: `sealog key rotate` refuses to make a second one
 * (verify would call it a key fork). Reads the ledger once, read-only.
 * @throws SealogError E_IO / E_NOT_LEDGER when the file cannot be read.
 */
export function handoversFrom(
  path: string,
  key: VerifierKey,
  options: { sinceOwnCheckpoint?: boolean } = {},
): { size: number; to: string }[] {
  const db = openReadOnly(path);
  try {
    const from0 = options.sinceOwnCheckpoint === true ? newestSignedSize(db, key) : 0;
    const chain = readKeyChain(db, [key], () => {}, from0).chain;
    const from = `${key.name}+${toHex(key.keyId)}`;
    return (chain?.handovers ?? []).filter((h) => h.from === from).map(({ size, to }) => ({ size, to }));
  } finally {
    db.close();
  }
}

/** Newest checkpoint rows looked at for one signed by the key (a writer's own are the newest). */
const OWN_CHECKPOINT_LOOKBACK = 1000;

/**
 * The size of the newest checkpoint `key` signed among the newest rows, else 0.
 * `sealog key rotate` seals with the outgoing key right before it appends the
 * statement, so a writer's startup check scans only the rows after it.
 */
function newestSignedSize(db: Database.Database, key: VerifierKey): number {
  const rows = db
    .prepare(
      `SELECT iif(length(CAST(note AS BLOB)) <= ${MAX_NOTE_BYTES}, note, NULL) FROM checkpoints ORDER BY id DESC LIMIT ${OWN_CHECKPOINT_LOOKBACK}`,
    )
    .raw(true)
    .iterate() as Iterable<[unknown]>;
  for (const [note] of rows) {
    if (typeof note !== 'string') continue;
    try {
      return openCheckpoint(note, [key], { origin: key.name }).checkpoint.size;
    } catch {
      // not this key's, or damaged: the next row
    }
  }
  return 0;
}

export { judgeAtSize } from '../signer/rotation.js';
