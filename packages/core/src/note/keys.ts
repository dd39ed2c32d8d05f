import { createHmac } from 'node:crypto';
import { SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import {
  ED25519_KEY_SIZE,
  ed25519PublicKey,
  ed25519Sign,
  isUsableEd25519PublicKey,
  randomSeed,
} from './ed25519.js';
import { decodeBase64, encodeBase64, keyNameProblem, toHex } from './encoding.js';

/** signed-note §"Signature types": 0x01 = Ed25519 over the note text. */
export const SIG_TYPE_ED25519 = 0x01;
/** signed-note §"Signature types" / tlog-cosignature §Format: 0x04 = timestamped Ed25519 cosignature/v1. */
export const SIG_TYPE_COSIGNATURE = 0x04;
/** The supported signature types. Others are rejected (signed-note: support only what the design needs). */
export type SignatureType = typeof SIG_TYPE_ED25519 | typeof SIG_TYPE_COSIGNATURE;

/** Longest key string we parse; real ones are < 200 chars. Bounds work on hostile input. */
const MAX_KEY_STRING = 4096;
const PRIVATE_PREFIX = 'PRIVATE+KEY+';
const HEX_ID_RE = /^[0-9a-f]{8}$/;

/** A public key as a verifier knows it (signed-note §"Verifier keys"). */
export interface VerifierKey {
  readonly name: string;
  /** SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4] — the key ID in signature lines. */
  readonly keyId: Uint8Array;
  readonly type: SignatureType;
  /** 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Uint8Array;
  /** The canonical vkey string `name+hexID+base64(type ‖ publicKey)`. */
  readonly vkey: string;
}

/**
 * Key ID per signed-note §Signatures (RECOMMENDED form, REQUIRED for 0x04 by
 * tlog-cosignature §Format): SHA-256(key name ‖ 0x0A ‖ type ‖ public key)[:4].
 */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  const digest = sha256(Buffer.from(`${name}\n`, 'utf8'), Uint8Array.of(type), publicKey);
  return new Uint8Array(digest.subarray(0, 4));
}

function keyError(what: string): SealogError {
  // Never echo the input: it may be a private key pasted in the wrong place.
  return new SealogError('E_KEY', what);
}

/** Builds the verifier key of (name, type, publicKey). Throws E_KEY for an invalid name. */
export function makeVerifierKey(name: string, type: SignatureType, publicKey: Uint8Array): VerifierKey {
  const problem = keyNameProblem(name);
  if (problem) throw keyError(`key name ${JSON.stringify(name)} ${problem}`);
  const keyId = computeKeyId(name, type, publicKey);
  const material = new Uint8Array(1 + publicKey.length);
  material[0] = type;
  material.set(publicKey, 1);
  const vkey = `${name}+${toHex(keyId)}+${encodeBase64(material)}`;
  return { name, keyId, type, publicKey: Uint8Array.from(publicKey), vkey };
}

/**
 * Splits `name+hexID+base64` at the FIRST two "+": base64 itself uses "+"
 * (the x/mod PeterNeumann key does), and signed-note §Format forbids "+" in
 * key names, so only a left split is unambiguous — the same as x/mod's
 * strings.Cut. A name that contained "+" leaves a non-hex ID and is rejected.
 */
function splitKeyString(s: string): { name: string; hexId: string; b64: string } | undefined {
  const first = s.indexOf('+');
  const second = first < 0 ? -1 : s.indexOf('+', first + 1);
  if (second < 0) return undefined;
  return { name: s.slice(0, first), hexId: s.slice(first + 1, second), b64: s.slice(second + 1) };
}

/**
 * Parses a verifier key `<name>+<hex key ID>+<base64(type ‖ public key)>`
 * (signed-note §"Verifier keys"; type 0x04 per tlog-cosignature §Format).
 * Hostile input: bounded length, strict base64, the key ID is recomputed and
 * must match, and the point must be a canonical, non-small-order Ed25519 key.
 * @throws SealogError E_KEY saying what is wrong (never echoing key material).
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== 'string' || vkey.length > MAX_KEY_STRING)
    throw keyError('verifier key is not a string of sane length');
  const s = vkey.trim();
  if (s.startsWith(PRIVATE_PREFIX)) {
    throw keyError('this is a PRIVATE key; give the verifier key (name+id+key) printed by `sealog keygen`');
  }
  const parts = splitKeyString(s);
  if (!parts) throw keyError('verifier key must look like <name>+<8 hex digits>+<base64>');
  const problem = keyNameProblem(parts.name);
  if (problem) throw keyError(`verifier key name ${problem}`);
  if (!HEX_ID_RE.test(parts.hexId)) {
    throw keyError(
      'verifier key ID must be 8 lowercase hex digits after the name (key names cannot contain "+")',
    );
  }
  const material = decodeBase64(parts.b64, 1 + ED25519_KEY_SIZE);
  if (!material) throw keyError('verifier key material is not standard base64 of 33 bytes');
  const type = material[0];
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE) {
    throw keyError(
      `unsupported signature type 0x${(type ?? 0).toString(16).padStart(2, '0')} (sealog accepts 0x01 Ed25519 and 0x04 cosignature/v1)`,
    );
  }
  const publicKey = material.subarray(1);
  if (publicKey.length !== ED25519_KEY_SIZE)
    throw keyError('Ed25519 verifier key must hold a 32-byte public key');
  if (!isUsableEd25519PublicKey(publicKey)) throw keyError('verifier key is not a valid Ed25519 public key');
  const key = makeVerifierKey(parts.name, type, publicKey);
  if (toHex(key.keyId) !== parts.hexId)
    throw keyError('verifier key ID does not match its name and public key');
  return key;
}

/** Something that can add one signature line to a note (signed-note §Signatures). */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly type: SignatureType;
  /** The vkey verifiers need to check this signer's lines. */
  readonly verifierKey: string;
  /** The n bytes that follow the key ID in the signature line, for note text `text`. */
  sign(text: Uint8Array): Uint8Array;
}

const COSIGNER_SEED_LABEL = 'sealog/time-cosigner/v1';
/** Suffix of the time cosigner's key name: `<log key name>/time`. */
export const TIME_COSIGNER_SUFFIX = '/time';

/**
 * An Ed25519 note signer (type 0x01) loaded from a private key string. The
 * seed lives in a private field: it is not enumerable, not in JSON, not shown
 * by util.inspect, and no method returns it.
 */
export class Ed25519Signer implements NoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly type = SIG_TYPE_ED25519;
  readonly publicKey: Uint8Array;
  readonly verifierKey: string;
  readonly #seed: Uint8Array;

  /** @throws SealogError E_KEY for a bad name or seed length. */
  constructor(name: string, seed: Uint8Array) {
    if (seed.length !== ED25519_KEY_SIZE) throw keyError('Ed25519 private key must be a 32-byte seed');
    this.#seed = Uint8Array.from(seed);
    this.publicKey = ed25519PublicKey(this.#seed);
    const vk = makeVerifierKey(name, SIG_TYPE_ED25519, this.publicKey);
    this.name = name;
    this.keyId = vk.keyId;
    this.verifierKey = vk.vkey;
  }

  /** RFC 8032 Ed25519 signature over the note text (signed-note §"Ed25519 signatures"). */
  sign(text: Uint8Array): Uint8Array {
    return ed25519Sign(this.#seed, text);
  }

  /**
   * The time cosigner belonging to this key: an Ed25519 key of its own, named
   * `<name>/time`, whose seed is HMAC-SHA-256(key = this seed, "sealog/time-cosigner/v1").
   * A separate key because signed-note says one public key SHOULD NOT serve two
   * signature types, and deriving it keeps one secret per key file.
   */
  timeCosigner(): Cosigner {
    const seed = createHmac('sha256', this.#seed).update(COSIGNER_SEED_LABEL).digest();
    return new Cosigner(`${this.name}${TIME_COSIGNER_SUFFIX}`, seed);
  }

  /** The private key string `PRIVATE+KEY+<name>+<hex id>+base64(0x01 ‖ seed)` (x/mod/sumdb/note). */
  privateKeyString(): string {
    const material = new Uint8Array(1 + ED25519_KEY_SIZE);
    material[0] = SIG_TYPE_ED25519;
    material.set(this.#seed, 1);
    return `${PRIVATE_PREFIX}${this.name}+${toHex(this.keyId)}+${encodeBase64(material)}`;
  }

  toJSON(): { name: string; verifierKey: string } {
    return { name: this.name, verifierKey: this.verifierKey };
  }
}

/** A tlog-cosignature/v1 Ed25519 cosigner (type 0x04). Sign with {@link cosignerAt}. */
export class Cosigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly type = SIG_TYPE_COSIGNATURE;
  readonly publicKey: Uint8Array;
  readonly verifierKey: string;
  readonly #seed: Uint8Array;

  constructor(name: string, seed: Uint8Array) {
    if (seed.length !== ED25519_KEY_SIZE) throw keyError('Ed25519 cosigner key must be a 32-byte seed');
    this.#seed = Uint8Array.from(seed);
    this.publicKey = ed25519PublicKey(this.#seed);
    const vk = makeVerifierKey(name, SIG_TYPE_COSIGNATURE, this.publicKey);
    this.name = name;
    this.keyId = vk.keyId;
    this.verifierKey = vk.vkey;
  }

  /** Raw Ed25519 signature over an already-built cosignature/v1 message. */
  signMessage(message: Uint8Array): Uint8Array {
    return ed25519Sign(this.#seed, message);
  }

  toJSON(): { name: string; verifierKey: string } {
    return { name: this.name, verifierKey: this.verifierKey };
  }
}

/**
 * Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ 32-byte seed)>`, the
 * golang.org/x/mod/sumdb/note signer-key form. The key ID is checked against
 * the derived public key so a corrupted or edited file is caught at load.
 * @throws SealogError E_KEY; the message never contains key material.
 */
export function parseSignerKey(privateKey: string): Ed25519Signer {
  if (typeof privateKey !== 'string' || privateKey.length > MAX_KEY_STRING)
    throw keyError('private key is not a string of sane length');
  const s = privateKey.trim();
  if (!s.startsWith(PRIVATE_PREFIX))
    throw keyError('private key must start with "PRIVATE+KEY+" (a file written by `sealog keygen`)');
  const parts = splitKeyString(s.slice(PRIVATE_PREFIX.length));
  if (!parts) throw keyError('private key must look like PRIVATE+KEY+<name>+<8 hex digits>+<base64>');
  const problem = keyNameProblem(parts.name);
  if (problem) throw keyError(`private key name ${problem}`);
  if (!HEX_ID_RE.test(parts.hexId)) throw keyError('private key ID must be 8 lowercase hex digits');
  const material = decodeBase64(parts.b64, 1 + ED25519_KEY_SIZE);
  if (!material || material.length !== 1 + ED25519_KEY_SIZE)
    throw keyError('private key material is not standard base64 of 33 bytes');
  if (material[0] !== SIG_TYPE_ED25519) throw keyError('private key is not an Ed25519 (type 0x01) key');
  // A seed anyone can guess (all zero, one repeated byte, a short pattern) is a public
  // key pair: 32 random bytes have ~30 distinct values, such patterns very few.
  if (new Set(material.subarray(1)).size < MIN_SEED_DISTINCT_BYTES) {
    material.fill(0);
    throw keyError('private key seed is not random; generate a key with `sealog keygen`');
  }
  const signer = new Ed25519Signer(parts.name, material.subarray(1));
  material.fill(0);
  if (toHex(signer.keyId) !== parts.hexId)
    throw keyError('private key ID does not match its name and key (corrupted or edited key file)');
  return signer;
}

/** Fewest distinct byte values a private seed may have (see parseSignerKey). */
const MIN_SEED_DISTINCT_BYTES = 16;

/** A fresh key pair as strings, plus the vkey of its derived time cosigner. */
export interface GeneratedKey {
  /** `PRIVATE+KEY+…` — secret; write it with writeKeyFile. */
  privateKey: string;
  /** `name+hexid+base64(0x01 ‖ pub)` — give this to verifiers. */
  verifierKey: string;
  /** `name/time+hexid+base64(0x04 ‖ pub)` — checks the signed-time line. */
  cosignerVerifierKey: string;
}

/**
 * Generates an Ed25519 key named `name` from the platform CSPRNG.
 * @throws SealogError E_KEY if `name` is not a valid signed-note key name.
 */
export function generateKey(name: string): GeneratedKey {
  const problem = keyNameProblem(name);
  if (problem) throw keyError(`key name ${JSON.stringify(name)} ${problem}`);
  const seed = randomSeed();
  const signer = new Ed25519Signer(name, seed);
  seed.fill(0);
  return {
    privateKey: signer.privateKeyString(),
    verifierKey: signer.verifierKey,
    cosignerVerifierKey: signer.timeCosigner().verifierKey,
  };
}
