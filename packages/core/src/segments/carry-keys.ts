import { parseVerifierKey } from '../note/keys.js';
import { openReadOnly } from '../store/open.js';
import { readKeyChain } from '../verify/rotations.js';
import { isFailure, type VerifyReport } from '../verify/types.js';

// Key rotation across segments (docs/lifecycle.md "Verifying a segmented
// ledger"). A rotation entry (`sealog key rotate`) is followed inside its own
// segment like in any ledger; the key it endorsed then signs the next
// segments too. The directory's verifier carries it from segment k to k+1 only
// when segment k verified, the hand-over was accepted there (signed by a key
// trusted in k, its root the records' root at its size) and a valid checkpoint
// of segment k itself covers the rotation entry: the next binding does not
// count, since the next segment's checkpoints are signed by the key in question.

/**
 * The verifier keys (vkey strings) segment `file` endorsed through rotations it
 * verified, still current at its end, beyond `keys` (those it was verified with).
 * Never throws on file content: nothing is carried from what cannot be read.
 */
export function carriedKeys(file: string, keys: readonly string[], report: VerifyReport): string[] {
  if (report.rotations === undefined || report.rotations.length === 0) return [];
  if (report.findings.some((f) => isFailure(f.kind))) return [];
  const accepted = new Set(report.rotations.filter((r) => r.seq < report.sealed).map((r) => r.seq));
  if (accepted.size === 0) return [];
  let chain: ReturnType<typeof readKeyChain>['chain'];
  try {
    const db = openReadOnly(file);
    try {
      chain = readKeyChain(db, keys.map(parseVerifierKey), () => {}).chain;
    } finally {
      db.close();
    }
  } catch {
    return [];
  }
  if (chain === undefined) return [];
  return [...chain.spans, ...chain.timeSpans]
    .filter((sp) => typeof sp.via === 'number' && accepted.has(sp.via) && sp.until === undefined)
    .map((sp) => sp.key.vkey)
    .filter((k) => !keys.includes(k));
}
