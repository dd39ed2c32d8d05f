import * as asn1js from 'asn1js';
import type { Certificate } from 'pkijs';
import { decodeDer, sameBytes } from './der.js';

// Signature verification with WebCrypto (crypto.subtle), for the RFC 3161
// checks the browser verifier runs (verify-web.ts). Node's path uses
// node:crypto/OpenSSL (cms.ts, chain.ts); this one accepts the same
// algorithms where WebCrypto has them: RSA PKCS#1 v1.5, ECDSA on P-256/384/521,
// Ed25519. Anything else is "unsupported", never "bad signature".

/** Node's name for a key's type (KeyObject.asymmetricKeyType), from the SubjectPublicKeyInfo algorithm OID. */
const KEY_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.2.840.10045.2.1': 'ec',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '1.2.840.10040.4.1': 'dsa',
};

/** The curves WebCrypto has, by OID, and their field size in bytes (for ECDSA r ‖ s). */
const CURVES: Readonly<Record<string, { name: string; size: number }>> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', size: 32 },
  '1.3.132.0.34': { name: 'P-384', size: 48 },
  '1.3.132.0.35': { name: 'P-521', size: 66 },
};

const HASH_NAMES = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;
export type WebHash = keyof typeof HASH_NAMES;

/** The key type of a certificate's public key, as node:crypto names it ('rsa', 'ec', 'ed25519', ...), or its OID. */
export function keyType(cert: Certificate): string {
  const oid = cert.subjectPublicKeyInfo.algorithm.algorithmId;
  return KEY_TYPES[oid] ?? oid;
}

/** The curve of an EC key WebCrypto can verify with, if it is one. */
function curveOf(cert: Certificate): { name: string; size: number } | undefined {
  const params = cert.subjectPublicKeyInfo.algorithm.algorithmParams;
  return params instanceof asn1js.ObjectIdentifier ? CURVES[params.valueBlock.toString()] : undefined;
}

/** True when WebCrypto can check a signature by this key (else the caller says "unsupported"). */
export function webCanVerify(cert: Certificate): boolean {
  const t = keyType(cert);
  return t === 'rsa' || t === 'ed25519' || (t === 'ec' && curveOf(cert) !== undefined);
}

/**
 * An ECDSA-Sig-Value (RFC 3279 §2.2.3) in DER as WebCrypto's r ‖ s, or
 * undefined unless it is canonical DER (minimal, positive INTEGERs, no
 * trailing bytes): OpenSSL, which the Node path uses, refuses any other
 * encoding, so this must too. Attacker's options: any bytes.
 */
export function ecdsaRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  let seq: asn1js.AsnType;
  try {
    seq = decodeDer(der, 'ECDSA signature');
  } catch {
    return undefined;
  }
  if (!(seq instanceof asn1js.Sequence) || seq.valueBlock.value.length !== 2) return undefined;
  const ints: Uint8Array[] = [];
  for (const v of seq.valueBlock.value) {
    if (!(v instanceof asn1js.Integer)) return undefined;
    const b = new Uint8Array(v.valueBlock.valueHexView);
    if (b.length === 0 || (b[0]! & 0x80) !== 0) return undefined; // empty or negative
    if (b[0] === 0 && (b.length === 1 || (b[1]! & 0x80) === 0)) return undefined; // not minimal (or zero)
    const value = b[0] === 0 ? b.subarray(1) : b;
    if (value.length > size) return undefined;
    ints.push(value);
  }
  // Re-encoded from the two values, the DER must be the input byte for byte (lengths minimal too).
  const canonical = new asn1js.Sequence({
    value: ints.map(
      (v) => new asn1js.Integer({ valueHex: (v[0]! & 0x80) !== 0 ? Uint8Array.of(0, ...v) : v }),
    ),
  }).toBER(false);
  if (!sameBytes(new Uint8Array(canonical), der)) return undefined;
  const raw = new Uint8Array(size * 2);
  raw.set(ints[0]!, size - ints[0]!.length);
  raw.set(ints[1]!, 2 * size - ints[1]!.length);
  return raw;
}

/**
 * Verifies `signature` over `data` with the public key of `cert`: RSA
 * PKCS#1 v1.5 or ECDSA (DER signature) with `hash`, or Ed25519 (`hash`
 * null: it signs the data itself). False for a bad signature or a key
 * WebCrypto cannot use (check {@link webCanVerify} first to tell them apart).
 */
export async function webVerify(
  cert: Certificate,
  hash: WebHash | null,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return false;
  // Copies on ArrayBuffers of their own (WebCrypto's BufferSource; never a view on shared memory).
  const msg = new Uint8Array(data);
  const sig = new Uint8Array(signature);
  const spki = new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER(false));
  const type = keyType(cert);
  try {
    if (type === 'ed25519') {
      if (hash !== null) return false;
      const key = await subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify']);
      return await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
    }
    if (hash === null) return false;
    if (type === 'rsa') {
      const alg = { name: 'RSASSA-PKCS1-v1_5', hash: HASH_NAMES[hash] };
      const key = await subtle.importKey('spki', spki, alg, false, ['verify']);
      return await subtle.verify(alg, key, sig, msg);
    }
    const curve = type === 'ec' ? curveOf(cert) : undefined;
    if (!curve) return false;
    const raw = ecdsaRaw(sig, curve.size);
    if (!raw) return false;
    const key = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: curve.name }, false, [
      'verify',
    ]);
    return await subtle.verify({ name: 'ECDSA', hash: HASH_NAMES[hash] }, key, new Uint8Array(raw), msg);
  } catch {
    return false; // a key WebCrypto refuses to import, or a malformed signature value
  }
}
