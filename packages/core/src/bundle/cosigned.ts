import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { bytesEqual } from '../note/encoding.js';
import { SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { LedgerReader } from '../store/reader.js';
import { MAX_BUNDLE_COSIGNED_NOTES } from './types.js';

// The writer stores a witness's cosignature as one more checkpoint row: the
// note it signed first plus the witness's line (witness/submit.ts), one row per
// witness. The bundle keeps the first note as `checkpoint` (RFC 3161 tokens
// stamp its exact bytes) and carries these rows as `cosignedNotes`, so a
// recipient with witness keys can count a quorum (bundle/witnesses.ts).

/**
 * Stored notes of `bundle`'s body (origin, size, root) signed by the log key
 * named like the origin, that carry a signature line `bundle.note` lacks, in
 * row order, each once; at most MAX_BUNDLE_COSIGNED_NOTES (a warning says how
 * many more were left out). Rows are the file's claims: the recipient checks
 * every line; a row that does not open is skipped.
 */
export function cosignedNotes(
  reader: LedgerReader,
  keys: readonly VerifierKey[],
  bundle: OpenedCheckpoint & { note: string },
  warnings: string[],
): string[] {
  const cp = bundle.checkpoint;
  const have = new Set(signatureLines(bundle.note));
  const out: string[] = [];
  let left = 0;
  for (const row of reader.checkpoints()) {
    if (row.size !== cp.size || row.note === bundle.note || out.includes(row.note)) continue;
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(row.note, keys, { origin: cp.origin });
    } catch {
      continue;
    }
    const byOwner = opened.verified.some((v) => v.type === SIG_TYPE_ED25519 && v.name === cp.origin);
    if (!byOwner || !bytesEqual(opened.checkpoint.root, cp.root)) continue;
    if (signatureLines(row.note).every((l) => have.has(l))) continue;
    if (out.length < MAX_BUNDLE_COSIGNED_NOTES) out.push(row.note);
    else left++;
  }
  if (left > 0)
    warnings.push(
      `${left} more stored note(s) of the checkpoint at size ${cp.size} carry cosignatures; the bundle holds the first ${MAX_BUNDLE_COSIGNED_NOTES}`,
    );
  return out;
}

/** The signature lines of a note that parses (it opened), as text. */
function signatureLines(note: string): string[] {
  return note.slice(parseNote(note).text.length + 1).split('\n');
}
