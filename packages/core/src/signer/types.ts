import type { SignatureType } from '../note/keys.js';

/**
 * One Ed25519 key that can sign. Its secret may live where it cannot be read
 * (a PKCS#11 token): nothing here returns it. `sign` may be slow (a network
 * HSM) and runs off the event loop where the backend allows; callers never
 * hold a commit open across it.
 */
export interface Signer {
  /** C2SP signed-note key name. */
  readonly name: string;
  /** 0x01 (a log's note signature) or 0x04 (a cosignature/v1 time key). */
  readonly type: SignatureType;
  /** SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] (signed-note §Signatures). */
  readonly keyId: Uint8Array;
  /** 32-byte Ed25519 public key (RFC 8032). */
  readonly publicKey: Uint8Array;
  /** `name+hexID+base64(type ‖ public key)`: what verifiers are given. */
  readonly verifierKey: string;
  /** The 64-byte RFC 8032 Ed25519 signature of `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * The two keys a log signs checkpoints with: its log key (type 0x01, named
 * like the origin) and its time key (type 0x04, named `<origin>/time`), which
 * stamps the signed time as a tlog-cosignature/v1 line (docs/checkpoints.md).
 * A file key derives the time key from its seed; a token holds two key pairs
 * (docs/keys.md).
 */
export interface CheckpointKey {
  /** Where the secrets live: a key file, or a PKCS#11 token. */
  readonly backend: 'file' | 'pkcs11';
  /** The log key's name: the origin line of every checkpoint it signs. */
  readonly name: string;
  readonly log: Signer;
  readonly time: Signer;
  /** A short description for messages (a path, or module/token/label): never a secret. */
  readonly display: string;
  /** Releases the backend (logs out of the token). Idempotent. */
  close(): Promise<void>;
}
