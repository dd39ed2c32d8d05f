import * as nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as shim from '../packages/web-verifier/src/shims/crypto.js';

// The browser build swaps node:crypto for src/shims/crypto.ts. Core's RFC 3161
// code (cms.ts content binding, ess.ts ESSCertID/ESSCertIDv2) and the witness
// cache key (verify/witnessed.ts) hash through it, so it must give what Node
// gives for every algorithm and output form they use.

const hex = (b: Uint8Array | string): string => (typeof b === 'string' ? b : Buffer.from(b).toString('hex'));

describe('browser crypto shim agrees with node:crypto', () => {
  it('createHash sha1/sha256/sha384/sha512, as bytes, hex and base64; createHmac; hash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        for (const alg of ['sha1', 'sha256', 'sha384', 'sha512']) {
          const n = nodeCrypto.createHash(alg).update(a).update(b);
          const s = shim.createHash(alg).update(a).update(b);
          expect(hex(s.digest())).toBe(n.digest('hex'));
          expect(shim.createHash(alg).update(a).digest('hex')).toBe(
            nodeCrypto.createHash(alg).update(a).digest('hex'),
          );
          expect(shim.createHash(alg).update(a).digest('base64')).toBe(
            nodeCrypto.createHash(alg).update(a).digest('base64'),
          );
          expect(hex(shim.hash(alg, a))).toBe(hex(nodeCrypto.hash(alg, a, 'buffer')));
          expect(hex(shim.createHmac(alg, b).update(a).digest())).toBe(
            nodeCrypto.createHmac(alg, b).update(a).digest('hex'),
          );
        }
        expect(shim.createHash('sha256').update(new TextDecoder().decode(a)).digest('hex')).toBe(
          nodeCrypto.createHash('sha256').update(new TextDecoder().decode(a)).digest('hex'),
        );
      }),
    );
  });

  it('refuses what it does not have, and X509Certificate cannot be made', () => {
    expect(() => shim.createHash('md5')).toThrow(/sha1, sha256, sha384 and sha512, not md5/);
    expect(() => shim.createHash('toString')).toThrow(/not toString/);
    expect(() => new shim.X509Certificate()).toThrow(/not available in the browser/);
    const r = shim.randomBytes(32);
    expect(r).toHaveLength(32);
    expect(hex(r)).not.toBe(hex(shim.randomBytes(32)));
  });
});
