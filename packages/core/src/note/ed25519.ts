// Signing is reached through the namespace: the browser verifier's node:crypto
// shim (packages/web-verifier) has no createPrivateKey or sign, and a named
// import of them would fail its bundle; there they are undefined and noble signs.
import * as nodeCrypto from 'node:crypto';
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

/**
 * Public key of a 32-byte seed (RFC 8032 §5.1.5). Through OpenSSL when it has
 * Ed25519 (the key object is then cached for {@link ed25519Sign}), else noble;
 * both give the same bytes (ed25519.sign.test.ts). Throws on a wrong-length seed.
 */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const key = opensslPrivateKey(seed);
  if (key) {
    try {
      // The public half exported as a JWK carries no secret, unlike the private key's JWK (d).
      const x = createPublicKey(key).export({ format: 'jwk' }).x;
      if (typeof x === 'string') {
        const pub = Buffer.from(x, 'base64url');
        if (pub.length === ED25519_KEY_SIZE) return new Uint8Array(pub);
      }
    } catch {
      // Fall through to noble.
    }
  }
  return ed.getPublicKey(seed);
}

/**
 * Deterministic RFC 8032 §5.1.6 signature. Ed25519 has no per-signature
 * randomness, so OpenSSL and noble return the same 64 bytes for the same seed
 * and message (ed25519.sign.test.ts checks it over random seeds and messages);
 * OpenSSL takes ~30 µs where noble took ~370 µs, and a checkpoint signs twice
 * (issue 15). noble signs only where OpenSSL has no Ed25519 (some FIPS builds,
 * the browser verifier's crypto shim). Throws on a wrong-length seed.
 */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  const key = opensslPrivateKey(seed);
  if (key) {
    try {
      const sig = nodeCrypto.sign(null, message, key);
      return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
    } catch {
      // Fall through to noble.
    }
  }
  return ed.sign(message, seed);
}

/**
 * PKCS#8 OneAsymmetricKey header of an Ed25519 private key (RFC 8410 §7), followed by
 * the 32-byte seed. Bytes, not Buffer.from(hex): the browser verifier's Buffer has no hex.
 */
const PKCS8_ED25519 = Uint8Array.from('302e020100300506032b657004220420'.match(/../g)!, (h) =>
  Number.parseInt(h, 16),
);
/**
 * Private key objects of recently used seeds. Importing one costs ~400 µs
 * (OpenSSL 3's decoder), more than the signature: a writer signs under two
 * keys (its own and its time cosigner, rebuilt per checkpoint from the same
 * derived seed), so a handful of entries covers it. Keyed by SHA-256 of the
 * seed, not the seed, so no secret bytes sit in a JavaScript string; bounded,
 * and cleared when full, so churning keys cannot grow it.
 */
const privateKeys = new Map<string, KeyObject | null>();
const PRIVATE_KEYS_MAX = 16;

/** OpenSSL's key for `seed`; undefined for a wrong length, null when OpenSSL has no Ed25519. */
function opensslPrivateKey(seed: Uint8Array): KeyObject | null | undefined {
  if (seed.length !== ED25519_KEY_SIZE) return undefined; // noble throws its own error for it
  const id = nodeCrypto.hash('sha256', seed, 'base64');
  let key = privateKeys.get(id);
  if (key === undefined) {
    const der = Buffer.concat([PKCS8_ED25519, seed]);
    try {
      key = nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      key = null;
    } finally {
      der.fill(0);
    }
    if (privateKeys.size >= PRIVATE_KEYS_MAX) privateKeys.clear();
    privateKeys.set(id, key);
  }
  return key;
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
