import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js';

// ed25519Verify answers OpenSSL-fast but must answer exactly what noble's
// strict verify answers. These cases are built by hand to sit on the edges
// where Ed25519 implementations disagree (RFC 8032 §5.1.7; "Taming the many
// EdDSAs", Chalkias et al. 2020): S ≥ L, a small-order key, a non-canonical
// key, and a torsion component in R.

ed.hashes.sha512 = sha512;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
const toLE = (n: bigint): Uint8Array =>
  Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
const strict = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => {
  try {
    return ed.verify(sig, msg, pub, { zip215: false });
  } catch {
    return false;
  }
};
const openssl = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
  opensslVerify(
    null,
    msg,
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]),
      format: 'der',
      type: 'spki',
    }),
    sig,
  );

const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const pub = ed25519PublicKey(seed);
const msg = new TextEncoder().encode('audit.example/log\n1000\nroot\n');

describe('ed25519Verify', () => {
  it('accepts honest signatures and agrees with noble strict on any single-bit change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        (sk, m, bit) => {
          const pk = ed25519PublicKey(sk);
          const sig = ed25519Sign(sk, m);
          expect(ed25519Verify(pk, m, sig)).toBe(true);
          const bad = Uint8Array.from(sig);
          bad[Math.floor(bit / 8) % 64]! ^= 1 << (bit % 8);
          expect(ed25519Verify(pk, m, bad)).toBe(strict(pk, m, bad));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects S + L (a non-canonical S), like noble strict and OpenSSL', () => {
    const sig = ed25519Sign(seed, msg);
    const malleated = Uint8Array.from([...sig.slice(0, 32), ...toLE(le(sig.slice(32)) + L)]);
    expect(strict(pub, msg, malleated)).toBe(false);
    expect(ed25519Verify(pub, msg, malleated)).toBe(false);
  });

  it('accepts a torsion component in R, as the cofactored rule does, though OpenSSL alone rejects it', () => {
    const { scalar } = ed.utils.getExtendedPublicKey(seed);
    const torsion = ed.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
    expect(torsion.isSmallOrder() && !torsion.is0()).toBe(true);
    const r = le(sha512(new TextEncoder().encode('nonce'))) % L;
    const R = ed.Point.BASE.multiply(r).add(torsion).toBytes();
    const k = le(sha512(Uint8Array.from([...R, ...pub, ...msg]))) % L;
    const sig = Uint8Array.from([...R, ...toLE((r + k * scalar) % L)]);
    expect(openssl(pub, msg, sig)).toBe(false); // so the noble fallback is what decides
    expect(strict(pub, msg, sig)).toBe(true);
    expect(ed25519Verify(pub, msg, sig)).toBe(true);
  });

  it('rejects a forgery under a small-order key that OpenSSL would accept', () => {
    const identity = Uint8Array.from([1, ...new Array(31).fill(0)]); // y = 1: the neutral point
    const s = 12345n;
    const sig = Uint8Array.from([...ed.Point.BASE.multiply(s).toBytes(), ...toLE(s)]); // [S]B = R + [k]0
    expect(openssl(identity, msg, sig)).toBe(true);
    expect(strict(identity, msg, sig)).toBe(false);
    expect(ed25519Verify(identity, msg, sig)).toBe(false);
  });

  it('rejects a non-canonical key encoding and wrong lengths, never throwing', () => {
    const nonCanonical = Uint8Array.from([0xee, ...new Array(30).fill(0xff), 0x7f]); // y = p + 1
    const sig = ed25519Sign(seed, msg);
    expect(ed25519Verify(nonCanonical, msg, sig)).toBe(false);
    expect(ed25519Verify(pub.subarray(1), msg, sig)).toBe(false);
    expect(ed25519Verify(pub, msg, sig.subarray(1))).toBe(false);
  });
});
