import { parseCheckpoint } from '../checkpoint/body.js';
import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { verifyConsistency } from '../merkle.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import { decodeHashList } from './parse.js';
import type { AnchorResult } from './verify.js';

// One anchor-file checkpoint of a bundle (docs/evidence.md, What is checked, 4):
// signed by a trusted key, the bundle's origin, not above the bundle
// checkpoint, and consistent with it. Attacker's options: any JSON value.

/** The verdict on one `anchors[]` item and, when it verified, the note as opened (for witness counting). Never throws. */
export function checkAnchor(
  item: unknown,
  keys: VerifierKey[],
  bundle: OpenedCheckpoint | undefined,
): { result: AnchorResult; signed?: { note: string; opened: OpenedCheckpoint } } {
  const fail = (message: string, size: number | null = null) => ({
    result: { ok: false, size, message } as AnchorResult,
  });
  if (typeof item !== 'object' || item === null) return fail('not an object');
  const { note, proof } = item as Record<string, unknown>;
  if (typeof note !== 'string') return fail('note is not text');
  let size: number | null = null;
  try {
    size = parseCheckpoint(parseNote(note).text).size; // for the message only; opened below
  } catch {}
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(note, keys);
  } catch (err) {
    return fail(`signature: ${errorText(err)}`, size);
  }
  const cp = opened.checkpoint;
  const path = decodeHashList(proof);
  if (!path) return fail('consistency proof is not a list of base64 SHA-256 hashes', cp.size);
  if (!bundle) return fail('not checked: the bundle checkpoint did not verify', cp.size);
  const b = bundle.checkpoint;
  if (cp.origin !== b.origin)
    return fail(`is for origin ${JSON.stringify(cp.origin)}, not ${JSON.stringify(b.origin)}`, cp.size);
  if (cp.size > b.size) return fail(`size ${cp.size} is above the bundle checkpoint's ${b.size}`, cp.size);
  if (!verifyConsistency(cp.size, b.size, cp.root, b.root, path)) {
    return fail(
      `the log at size ${cp.size} is not consistent with the bundle checkpoint (history was rewritten, or the proof was changed)`,
      cp.size,
    );
  }
  const result: AnchorResult = { ok: true, size: cp.size, message: `consistent with the bundle checkpoint` };
  if (opened.time !== undefined) result.time = opened.time;
  return { result, signed: { note, opened } };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
