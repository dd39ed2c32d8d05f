import type { VerifierKey } from '../note/keys.js';
import { checkNote } from '../verify/checkpoint.js';

/** Why a proof did not verify. `malformed` = the bundle could not be parsed. */
export type ProofProblem =
  | 'malformed'
  | 'malformed-checkpoint'
  | 'bad-signature'
  | 'unknown-key'
  | 'wrong-origin'
  | 'mismatch';

/** A proof that failed, and why. */
export interface ProofFailure {
  ok: false;
  problem: ProofProblem;
  message: string;
}

/** What a verified checkpoint in a proof says. */
export interface ProvenCheckpoint {
  origin: string;
  size: number;
  /** Signed root, lowercase hex. */
  root: string;
  rootBytes: Buffer;
  /** Signed time (POSIX seconds) when a cosigner key was given. */
  time?: number;
}

/**
 * Verifies one checkpoint note of a proof: a trusted log signature, and an
 * origin equal to the signing key's name (and to `origin` when given).
 * Never throws.
 */
export function checkProofNote(
  note: string,
  keys: readonly VerifierKey[],
  origin: string | undefined,
  what: string,
): ProvenCheckpoint | ProofFailure {
  const r = checkNote(note, keys);
  if (!r.ok) return { ok: false, problem: r.kind, message: `${what}: ${r.message}` };
  if (!r.signers.includes(r.origin) || (origin !== undefined && r.origin !== origin)) {
    return {
      ok: false,
      problem: 'wrong-origin',
      message: `${what}: origin ${JSON.stringify(r.origin)} is not ${JSON.stringify(origin ?? r.signers[0])}`,
    };
  }
  const out: ProvenCheckpoint = {
    origin: r.origin,
    size: r.size,
    root: r.root.toString('hex'),
    rootBytes: r.root,
  };
  if (r.time !== undefined) out.time = r.time;
  return out;
}
