import { createHash } from 'node:crypto';
import { splitAnchorTimestamps } from '../checkpoint/anchor-timestamps.js';
import { bytesEqual, encodeBase64 } from '../note/encoding.js';
import type { LedgerReader } from '../store/reader.js';
import { parseTimestampToken } from '../timestamp/token.js';
import { type BundleTimestamp, MAX_BUNDLE_TIMESTAMPS, MAX_TIMESTAMPS_PER_NOTE } from './types.js';

// The RFC 3161 tokens an evidence bundle carries (docs/timestamps.md §5): those
// the writer stored for the exact notes the bundle includes (its checkpoint and
// anchor notes), from the ledger's checkpoint_timestamps rows and the anchor's
// token file. Matched by SHA-256 of the note text, which is also the token's
// imprint. Exporting checks only that a token parses and names that imprint
// (so a garbage row is left out); its signature and TSA are for the verifier.

interface Candidate {
  size: number;
  noteSha256: Uint8Array;
  token: Uint8Array;
}

/**
 * Tokens for `notes` (exact text), at most MAX_TIMESTAMPS_PER_NOTE per note
 * and MAX_BUNDLE_TIMESTAMPS in all, each token once. Unusable candidates are
 * counted in one warning. Never throws on hostile rows or files; an unreadable
 * token table is a warning too.
 */
export function bundleTimestamps(
  reader: LedgerReader,
  notes: readonly { size: number; note: string }[],
  anchorTimestampsText: string | undefined,
  warnings: string[],
): BundleTimestamp[] {
  const wanted = new Map<string, { size: number; hash: Uint8Array; count: number }>();
  for (const n of notes) {
    const hash = new Uint8Array(createHash('sha256').update(n.note, 'utf8').digest());
    wanted.set(encodeBase64(hash), { size: n.size, hash, count: 0 });
  }
  const out: BundleTimestamp[] = [];
  const seen = new Set<string>();
  let unusable = 0;
  const take = (c: Candidate) => {
    const key = encodeBase64(c.noteSha256);
    const w = wanted.get(key);
    if (!w || w.count >= MAX_TIMESTAMPS_PER_NOTE || out.length >= MAX_BUNDLE_TIMESTAMPS) return;
    const token = encodeBase64(c.token);
    if (seen.has(token)) return;
    try {
      const info = parseTimestampToken(c.token);
      if (!bytesEqual(info.imprint, w.hash)) throw new Error('imprint is not the note');
    } catch {
      unusable++;
      return;
    }
    seen.add(token);
    w.count++;
    out.push({ size: w.size, noteSha256: key, token });
  };
  try {
    for (const row of reader.timestamps()) {
      if (row.problem !== undefined) unusable++;
      else take(row);
    }
  } catch (err) {
    warnings.push(`the ledger's timestamp tokens could not be read: ${(err as Error).message}`);
  }
  if (anchorTimestampsText !== undefined) {
    const { timestamps, malformed } = splitAnchorTimestamps(anchorTimestampsText);
    unusable += malformed;
    for (const t of timestamps) take(t);
  }
  if (unusable > 0)
    warnings.push(`${unusable} stored timestamp token(s) left out: malformed or for other bytes`);
  return out;
}
