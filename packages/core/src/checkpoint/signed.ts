import { SealogError } from '../errors.js';
import { asyncCosignerAt, cosignerAt } from '../note/cosignature.js';
import type { Ed25519Signer, VerifierKey } from '../note/keys.js';
import { SIG_TYPE_COSIGNATURE } from '../note/keys.js';
import { signNote, signNoteAsync, type VerifiedNote, verifyNote } from '../note/note.js';
import type { CheckpointKey } from '../signer/types.js';
import { type Checkpoint, formatCheckpoint, parseCheckpoint } from './body.js';

/**
 * Signs a checkpoint the way the sealog writer does: the log's Ed25519 (0x01)
 * signature, then a cosignature/v1 (0x04) line from the key's derived time
 * cosigner stamped `timeSeconds` — the signed time (see docs/checkpoints.md).
 * The origin must equal the key name (tlog-checkpoint §Signatures: SHOULD match;
 * sealog makes it a rule so a checkpoint cannot be passed off as another log's).
 * @throws SealogError E_KEY (origin ≠ key name), E_FORMAT (invalid body), E_CONFIG (bad time).
 */
export function signCheckpoint(
  checkpoint: { origin: string; size: number; root: Uint8Array; extensions?: readonly string[] },
  signer: Ed25519Signer,
  timeSeconds: number,
): string {
  if (checkpoint.origin !== signer.name) {
    throw new SealogError(
      'E_KEY',
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} differs from the key name ${JSON.stringify(signer.name)}; generate the key with --name set to the origin`,
    );
  }
  const body = formatCheckpoint(checkpoint);
  return signNote(body, [signer, cosignerAt(signer.timeCosigner(), timeSeconds)]);
}

/**
 * {@link signCheckpoint} through a {@link CheckpointKey} (a file key or a
 * PKCS#11 token): the log key's 0x01 line, then the time key's cosignature/v1
 * line stamped `timeSeconds`. Same bytes as signCheckpoint for a file key.
 * @throws SealogError E_KEY (origin ≠ key name, or the backend failed), E_FORMAT, E_CONFIG.
 */
export async function signCheckpointWith(
  checkpoint: { origin: string; size: number; root: Uint8Array; extensions?: readonly string[] },
  key: CheckpointKey,
  timeSeconds: number,
): Promise<string> {
  if (checkpoint.origin !== key.name) {
    throw new SealogError(
      'E_KEY',
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} differs from the key name ${JSON.stringify(key.name)}; generate the key with --name set to the origin`,
    );
  }
  const body = formatCheckpoint(checkpoint);
  return signNoteAsync(body, [key.log, asyncCosignerAt(key.time, timeSeconds)]);
}

/** A verified checkpoint note. */
export interface OpenedCheckpoint extends VerifiedNote {
  checkpoint: Checkpoint;
  /** Latest signed time from a trusted cosignature/v1 line, if one was verified. */
  time?: number;
}

/**
 * Verifies a checkpoint note with trusted keys (signed-note rules, see
 * {@link verifyNote}) and parses its body. At least one trusted 0x01 signature
 * must verify — a cosignature alone only vouches for time. When `origin` is given
 * the origin line must equal it.
 * @throws SealogError E_FORMAT, E_KEY, E_TAMPER (bad/missing trusted signature or wrong origin).
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly (VerifierKey | string)[],
  options: { origin?: string } = {},
): OpenedCheckpoint {
  const result = verifyNote(note, verifiers);
  const checkpoint = parseCheckpoint(result.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new SealogError(
      'E_TAMPER',
      `checkpoint is for origin ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(options.origin)}`,
    );
  }
  if (!result.verified.some((v) => v.type !== SIG_TYPE_COSIGNATURE)) {
    throw new SealogError('E_TAMPER', 'checkpoint has no verified log signature (only cosignatures)');
  }
  const opened: OpenedCheckpoint = { ...result, checkpoint };
  for (const v of result.verified) {
    if (v.time !== undefined && (opened.time === undefined || v.time > opened.time)) opened.time = v.time;
  }
  return opened;
}
