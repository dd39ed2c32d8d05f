import type Database from 'better-sqlite3';
import { toHex } from '../note/encoding.js';
import { SIG_TYPE_COSIGNATURE, TIME_COSIGNER_SUFFIX, type VerifierKey } from '../note/keys.js';
import {
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
  /** Every key to open notes with: the given ones and the endorsed ones. */
  keys: VerifierKey[];
  /** Undefined when the ledger has no accepted rotation: every given key signs every size. */
  chain?: KeyChain;
}

/**
 * Reads the ledger's rotation entries (sealog's own `_sealog.keyRotation`) and
 * follows them from the given keys. Problems are findings. An endorsed time key
 * is trusted only when a time key of the origin was given (otherwise signed
 * time is not being checked, and adding it would demand it of old checkpoints).
 */
export function readKeyChain(
  db: Database.Database,
  given: readonly VerifierKey[],
  add: (f: Finding) => void,
): TrustedKeys {
  const statements: { seq: number; note: string }[] = [];
  // instr() runs in SQLite over the blobs: only candidate rows reach JS.
  const rows = db
    .prepare(
      `SELECT seq, CAST(entry AS TEXT) FROM records WHERE length(entry) <= ${MAX_ROTATION_ENTRY_BYTES} AND instr(entry, CAST('"keyRotation"' AS BLOB)) > 0 ORDER BY seq`,
    )
    .raw(true)
    .iterate() as Iterable<[unknown, unknown]>;
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
  if (statements.length === 0) return { keys: [...given] };
  const chain = followKeyChain(given, statements);
  for (const p of chain.problems) add({ kind: p.kind, seq: p.seq, message: p.message });
  if (chain.handovers.length === 0) return { keys: [...given] };
  const keys = [...given];
  for (const span of chain.spans) if (span.via !== 'given') keys.push(span.key);
  for (const t of chain.timeKeys) {
    const origin = t.name.slice(0, -TIME_COSIGNER_SUFFIX.length);
    if (given.some((g) => g.type === SIG_TYPE_COSIGNATURE && g.name === `${origin}${TIME_COSIGNER_SUFFIX}`))
      keys.push(t);
  }
  return { keys, chain };
}

/**
 * Whether a checkpoint of `size` that verified under `signerIds` (hex key IDs
 * of its verified log signatures) has a signer allowed at that size. Returns
 * the finding message when it has not: only keys retired before it signed it.
 */
export function retiredOnly(chain: KeyChain, size: number, signerIds: readonly string[]): string | undefined {
  const allowed = chain.spans.filter((sp) => sp.from <= size && (sp.until === undefined || size <= sp.until));
  if (signerIds.some((id) => allowed.some((sp) => toHex(sp.key.keyId) === id))) return undefined;
  const retired = chain.spans.filter((sp) => signerIds.includes(toHex(sp.key.keyId)));
  const how = retired
    .map((sp) =>
      sp.until !== undefined && size > sp.until
        ? `${sp.key.name}+${toHex(sp.key.keyId)} handed over at size ${sp.until}`
        : `${sp.key.name}+${toHex(sp.key.keyId)} takes over only at size ${sp.from}`,
    )
    .join('; ');
  return `signed only by keys not allowed at size ${size} (${how})`;
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
export function handoversFrom(path: string, key: VerifierKey): { size: number; to: string }[] {
  const db = openReadOnly(path);
  try {
    const chain = readKeyChain(db, [key], () => {}).chain;
    const from = `${key.name}+${toHex(key.keyId)}`;
    return (chain?.handovers ?? []).filter((h) => h.from === from).map(({ size, to }) => ({ size, to }));
  } finally {
    db.close();
  }
}
