import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';

// Browser stand-in for `node:crypto`, swapped in by build.mjs. Core modules
// the verifier imports reference createHash/createHmac (key derivation for
// signers, never run while verifying); they get SHA-256 from @noble/hashes.
// The RFC 3161 checks (timestamp/verify-web.ts) reuse core's content binding
// and ESSCertID code, which hash with SHA-1 (ESSCertID, RFC 2634), SHA-256,
// SHA-384 or SHA-512; test/web-verifier-crypto.test.ts checks them against Node.

const HASHES = { sha1, sha256, sha384, sha512 } as const;
type Algorithm = keyof typeof HASHES;

class Digest {
  readonly #chunks: Uint8Array[] = [];
  constructor(
    readonly algorithm: Algorithm,
    readonly key?: Uint8Array,
  ) {}
  update(data: Uint8Array | string): this {
    this.#chunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    return this;
  }
  digest(): Uint8Array;
  digest(encoding: 'hex' | 'base64'): string;
  /** Like Node: bytes, or a string in `encoding` (verify/witnessed.ts keys a Map by the hex digest). */
  digest(encoding?: 'hex' | 'base64'): Uint8Array | string {
    const fn = HASHES[this.algorithm];
    const h = this.key ? hmac.create(fn, this.key) : fn.create();
    for (const c of this.#chunks) h.update(c);
    const out = Buffer.from(h.digest());
    return encoding === undefined ? out : out.toString(encoding);
  }
}

function known(algorithm: string): Algorithm {
  if (!Object.hasOwn(HASHES, algorithm))
    throw new Error(`the browser verifier has sha1, sha256, sha384 and sha512, not ${algorithm}`);
  return algorithm as Algorithm;
}

export function createHash(algorithm: string): Digest {
  return new Digest(known(algorithm));
}

export function createHmac(algorithm: string, key: Uint8Array): Digest {
  return new Digest(known(algorithm), key);
}

export function hash(algorithm: string, data: Uint8Array): Uint8Array {
  return Buffer.from(HASHES[known(algorithm)](data));
}

/** Random bytes from the browser's CSPRNG (timestamp/request.ts imports it; the page never requests). */
export function randomBytes(n: number): Uint8Array {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(n)));
}

/** Imported by timestamp/certs.ts; the browser path reads certificates with pkijs (timestamp/web-cert.ts). */
export class X509Certificate {
  constructor() {
    throw new Error('X509Certificate is not available in the browser verifier');
  }
}

// note/ed25519.ts tries OpenSSL first and falls back to noble whenever it
// says no; in the browser it always says no, so noble alone decides.
export function createPublicKey(_key: unknown): object {
  return {};
}

export function verify(): boolean {
  return false;
}
