import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

// Browser stand-in for `node:crypto`, swapped in by build.mjs. Core modules
// the verifier imports reference createHash/createHmac (key derivation for
// signers, never run while verifying); they get SHA-256 from @noble/hashes.

class Digest {
  readonly #chunks: Uint8Array[] = [];
  constructor(readonly key?: Uint8Array) {}
  update(data: Uint8Array | string): this {
    this.#chunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    return this;
  }
  digest(): Uint8Array {
    const h = this.key ? hmac.create(sha256, this.key) : sha256.create();
    for (const c of this.#chunks) h.update(c);
    return Buffer.from(h.digest());
  }
}

function onlySha256(algorithm: string): void {
  if (algorithm !== 'sha256') throw new Error(`the browser verifier only has sha256, not ${algorithm}`);
}

export function createHash(algorithm: string): Digest {
  onlySha256(algorithm);
  return new Digest();
}

export function createHmac(algorithm: string, key: Uint8Array): Digest {
  onlySha256(algorithm);
  return new Digest(key);
}

export function hash(algorithm: string, data: Uint8Array): Uint8Array {
  onlySha256(algorithm);
  return Buffer.from(sha256(data));
}

// note/ed25519.ts tries OpenSSL first and falls back to noble whenever it
// says no; in the browser it always says no, so noble alone decides.
export function createPublicKey(_key: unknown): object {
  return {};
}

export function verify(): boolean {
  return false;
}
