import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js';

// ed25519Sign and ed25519PublicKey go through OpenSSL (issue 15); Ed25519 is
// deterministic (RFC 8032 §5.1.6), so they must return exactly noble's bytes,
// which is what every checkpoint signed so far was made with.

ed.hashes.sha512 = sha512;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// RFC 8032 §7.1, TEST 1-3: SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE.
const RFC8032 = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
] as const;

describe('ed25519Sign / ed25519PublicKey (OpenSSL) equal noble byte for byte', () => {
  it('RFC 8032 §7.1 test vectors', () => {
    for (const [sk, pk, msg, sig] of RFC8032) {
      expect(hex(ed25519PublicKey(bytes(sk)))).toBe(pk);
      expect(hex(ed25519Sign(bytes(sk), bytes(msg)))).toBe(sig);
    }
  });

  it('property: same signature as @noble/ed25519 for random seeds and messages', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 2048 }),
        (seed, msg) => {
          const sig = ed25519Sign(seed, msg);
          expect(hex(sig)).toBe(hex(ed.sign(msg, seed)));
          expect(ed25519Verify(ed.getPublicKey(seed), msg, sig)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: same public key as @noble/ed25519', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(hex(ed25519PublicKey(seed))).toBe(hex(ed.getPublicKey(seed)));
      }),
      { numRuns: 300 },
    );
  });

  it('returns plain 64- and 32-byte Uint8Arrays, as noble did', () => {
    const seed = bytes(RFC8032[0][0]);
    const sig = ed25519Sign(seed, bytes('00'));
    const pub = ed25519PublicKey(seed);
    expect(Object.getPrototypeOf(sig) === Uint8Array.prototype && sig.length === 64).toBe(true);
    expect(Object.getPrototypeOf(pub) === Uint8Array.prototype && pub.length === 32).toBe(true);
  });

  it('follows the seed bytes, not the array object: a seed changed in place signs as the new seed', () => {
    const seed = Uint8Array.from(bytes(RFC8032[0][0]));
    const msg = bytes('af82');
    ed25519Sign(seed, msg);
    seed.set(bytes(RFC8032[2][0]));
    expect(hex(ed25519Sign(seed, msg))).toBe(RFC8032[2][3]);
    expect(hex(ed25519PublicKey(seed))).toBe(RFC8032[2][1]);
  });

  it('stays exact when more seeds are used than its key cache holds', () => {
    const msg = bytes('72');
    const seeds = Array.from({ length: 40 }, (_, i) => Uint8Array.from({ length: 32 }, (_, j) => i * 7 + j));
    for (let round = 0; round < 2; round++) {
      for (const seed of seeds) expect(hex(ed25519Sign(seed, msg))).toBe(hex(ed.sign(msg, seed)));
    }
    expect(hex(ed25519Sign(bytes(RFC8032[1][0]), msg))).toBe(RFC8032[1][3]);
  });

  it('throws on a seed that is not 32 bytes, as noble does', () => {
    expect(() => ed25519Sign(new Uint8Array(31), bytes('72'))).toThrow();
    expect(() => ed25519Sign(new Uint8Array(33), bytes('72'))).toThrow();
    expect(() => ed25519PublicKey(new Uint8Array(16))).toThrow();
  });
});
