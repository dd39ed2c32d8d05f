import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

// @noble/ed25519 v3 only ships async methods unless a sync SHA-512 is wired
// in; signing happens on the commit path, so we want the sync ones. Setting it
// again elsewhere with the same function is harmless.
ed.hashes.sha512 = sha512;

/** Ed25519 seed (RFC 8032 §5.1.5 private key) and public key length. */
export const ED25519_KEY_SIZE = 32;
/** Ed25519 signature length (RFC 8032 §5.1.6). */
export const ED25519_SIGNATURE_SIZE = 64;

/** Public key of a 32-byte seed (RFC 8032 §5.1.5). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** Deterministic RFC 8032 §5.1.6 signature. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

/**
 * Strict verification: RFC 8032 §5.1.7 / FIPS 186-5 rules as noble applies
 * them with `zip215: false` — canonical encodings of A and R, S < L, small-order
 * public keys rejected, cofactored equation. Honest RFC 8032 signers (ours, Go's
 * crypto/ed25519, OpenSSL) always produce signatures that pass; what strictness
 * rejects is crafted edge cases (non-canonical points, torsion keys) that let a
 * key holder make one signature verify under some implementations and not
 * others. An audit trail wants the latter flagged, not accepted, so we choose
 * strict over ZIP-215 (which exists for consensus agreement, not binding).
 * Never throws: wrong lengths and undecodable points are simply invalid.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * True when `publicKey` decodes canonically to a point that is not of small
 * order — the only keys {@link ed25519Verify} could ever accept a signature for,
 * so a verifier key failing this is rejected when parsed, not at first use.
 */
export function isUsableEd25519PublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== ED25519_KEY_SIZE) return false;
  try {
    return !ed.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** 32 fresh bytes from the platform CSPRNG. */
export function randomSeed(): Uint8Array {
  return ed.etc.randomBytes(ED25519_KEY_SIZE);
}
