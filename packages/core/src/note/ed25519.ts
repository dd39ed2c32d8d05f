import { createPublicKey, type KeyObject, verify as opensslVerify } from 'node:crypto';
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
 *
 * Speed (issue 8: a ledger carries a checkpoint every 1000 records): noble
 * takes ~1 ms a signature, node:crypto (OpenSSL) ~80 µs. OpenSSL accepts only
 * when S < L and the canonical encoding of [S]B − [k]A equals R byte for byte:
 * the cofactorless equation, which implies noble's cofactored one, with R
 * canonical; A is canonical and not of small order (checked first, as noble
 * does). So an OpenSSL accept is a noble accept, and only signatures OpenSSL
 * rejects (tampered ones, or a crafted torsion R that the cofactored rule
 * accepts) go on to noble: the result is exactly noble's, at OpenSSL's speed
 * for every honest checkpoint. A test checks both directions on crafted cases.
 * Never throws: wrong lengths and undecodable points are simply invalid.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    const key = opensslKey(publicKey);
    if (key && opensslVerify(null, message, key, signature)) return true;
  } catch {
    // An OpenSSL without Ed25519 (some FIPS builds): noble alone decides.
  }
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410 §4), followed by the 32 key bytes. */
const SPKI_ED25519 = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
/** Keys seen by {@link ed25519Verify}: a verifier checks thousands of notes under a handful of keys. */
const keyCache = new Map<string, KeyObject | null>();
const KEY_CACHE_MAX = 256;

/** The OpenSSL key object for a usable key; null for one noble alone must judge (non-canonical, small order). */
function opensslKey(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey).toString('hex');
  let key = keyCache.get(id);
  if (key === undefined) {
    key = isUsableEd25519PublicKey(publicKey)
      ? createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' })
      : null;
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
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
