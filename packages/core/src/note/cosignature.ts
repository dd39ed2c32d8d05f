import { SealogError } from '../errors.js';
import { ED25519_SIGNATURE_SIZE } from './ed25519.js';
import type { Cosigner, NoteSigner } from './keys.js';

// tlog-cosignature §"Ed25519 signed message": the header line gives domain
// separation from plain 0x01 note signatures over the same checkpoint.
const HEADER = 'cosignature/v1\n';
/** tlog-cosignature §Format: timestamp MUST NOT exceed 2^63-1; we also need it to fit a JS number. */
const MAX_TIME = Number.MAX_SAFE_INTEGER;
const TIMESTAMPED_SIZE = 8 + ED25519_SIGNATURE_SIZE;

/**
 * The cosignature/v1 signed message: `cosignature/v1\ntime <t>\n` followed by
 * the whole checkpoint body (the note text, with its final newline).
 */
export function cosignatureMessage(body: Uint8Array, timeSeconds: number): Uint8Array {
  return Buffer.concat([Buffer.from(`${HEADER}time ${timeSeconds}\n`, 'utf8'), body]);
}

function checkTime(timeSeconds: number): void {
  if (!Number.isSafeInteger(timeSeconds) || timeSeconds < 0) {
    throw new SealogError(
      'E_CONFIG',
      `cosignature time must be whole seconds ≥ 0, got ${String(timeSeconds)}`,
    );
  }
}

/**
 * A {@link NoteSigner} that adds `cosigner`'s cosignature/v1 line stamped with
 * `timeSeconds`: its payload is the `timestamped_signature` struct
 * (u64 big-endian timestamp ‖ 64-byte Ed25519 signature, RFC 8446 §3.3 order).
 * @throws SealogError E_CONFIG for a negative or non-integer time.
 */
export function cosignerAt(cosigner: Cosigner, timeSeconds: number): NoteSigner {
  checkTime(timeSeconds);
  return {
    name: cosigner.name,
    keyId: cosigner.keyId,
    type: cosigner.type,
    verifierKey: cosigner.verifierKey,
    sign: (text) => timestamped(timeSeconds, cosigner.signMessage(cosignatureMessage(text, timeSeconds))),
  };
}

/**
 * {@link cosignerAt} for a key that signs asynchronously (a time key on a
 * PKCS#11 token): `sign(message)` returns the raw Ed25519 signature of the
 * cosignature/v1 message; the payload is built the same way.
 */
export function asyncCosignerAt(
  cosigner: { name: string; keyId: Uint8Array; sign(message: Uint8Array): Promise<Uint8Array> },
  timeSeconds: number,
): { name: string; keyId: Uint8Array; sign(text: Uint8Array): Promise<Uint8Array> } {
  checkTime(timeSeconds);
  return {
    name: cosigner.name,
    keyId: cosigner.keyId,
    sign: async (text) =>
      timestamped(timeSeconds, await cosigner.sign(cosignatureMessage(text, timeSeconds))),
  };
}

/** The timestamped_signature struct: u64 big-endian time ‖ 64-byte Ed25519 signature. */
function timestamped(timeSeconds: number, signature: Uint8Array): Uint8Array {
  if (signature.length !== ED25519_SIGNATURE_SIZE)
    throw new SealogError('E_KEY', `the time key returned a ${signature.length}-byte signature, not 64`);
  const out = new Uint8Array(TIMESTAMPED_SIZE);
  new DataView(out.buffer).setBigUint64(0, BigInt(timeSeconds), false);
  out.set(signature, 8);
  return out;
}

/**
 * Splits a 0x04 signature payload into time and Ed25519 signature, or returns
 * undefined when it is not exactly 72 bytes or the time is out of range
 * (a time past 2^53 s is far in the future, which the spec lets verifiers reject).
 */
export function decodeTimestampedSignature(
  payload: Uint8Array,
): { time: number; signature: Uint8Array } | undefined {
  if (payload.length !== TIMESTAMPED_SIZE) return undefined;
  const t = new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0, false);
  if (t > BigInt(MAX_TIME)) return undefined;
  return { time: Number(t), signature: payload.subarray(8) };
}
