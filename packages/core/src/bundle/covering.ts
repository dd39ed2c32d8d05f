import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint/signed.js';
import { SealogError } from '../errors.js';
import { toHex } from '../note/encoding.js';
import { SIG_TYPE_COSIGNATURE, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { judgeAtSize, type KeyChain } from '../signer/rotation.js';
import type { LedgerReader } from '../store/reader.js';

// Which stored checkpoint an export proves its records against (export.ts).

export type Opened = OpenedCheckpoint & { note: string };

/** The size line of a note that already verified (tlog-checkpoint: the second line). */
export function sizeOf(note: string): number {
  return Number(note.split('\n', 2)[1]);
}

/**
 * Largest stored checkpoint that verifies under `keys` (a log signature by the
 * key named like its origin) and covers seq `lastSeq`. Every row is looked
 * at: row order is the file's claim, and a forged or replayed row must
 * neither be picked nor hide a good one (issue 14, finding 7).
 */
export function newestCovering(
  reader: LedgerReader,
  keys: VerifierKey[],
  lastSeq: number,
  ledgerSize: number,
  chain?: KeyChain,
): Opened {
  let unverified = 0;
  let best: Opened | undefined;
  for (const row of reader.checkpoints()) {
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(row.note, keys);
    } catch {
      unverified++;
      continue;
    }
    const cp = opened.checkpoint;
    const byOwner = opened.verified.some((v) => v.type === SIG_TYPE_ED25519 && v.name === cp.origin);
    if (!byOwner) {
      unverified++;
      continue;
    }
    if (cp.size > ledgerSize) continue; // a checkpoint past the end: verify will report it
    if (chain && judgeAtSize(chain, cp.size, idsOf(opened, false), timesOf(opened)).retired !== undefined) {
      unverified++; // signed by a key that had handed over: verify reports it as retired-key
      continue;
    }
    if (cp.size <= lastSeq) continue;
    if (!best || cp.size > best.checkpoint.size) best = { ...opened, note: row.note };
  }
  if (best) return best;
  const why =
    unverified > 0 ? ` (${unverified} stored checkpoint(s) did not verify with the given keys)` : '';
  throw new SealogError(
    'E_CONFIG',
    `no signed checkpoint covers record ${lastSeq}${why}; run \`sealog checkpoint <ledger> --key <keyfile>\` to seal the ledger, then export again`,
  );
}

function idsOf(opened: OpenedCheckpoint, time: boolean): string[] {
  return opened.verified
    .filter((v) => (time ? v.type === SIG_TYPE_COSIGNATURE : v.type === SIG_TYPE_ED25519))
    .map((v) => toHex(v.keyId));
}

function timesOf(opened: OpenedCheckpoint): { id: string; time: number }[] {
  const name = `${opened.checkpoint.origin}/time`;
  return opened.verified
    .filter((v) => v.type === SIG_TYPE_COSIGNATURE && v.name === name && v.time !== undefined)
    .map((v) => ({ id: toHex(v.keyId), time: v.time! }));
}
