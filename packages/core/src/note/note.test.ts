import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { cosignerAt } from './cosignature.js';
import { Ed25519Signer, generateKey, parseSignerKey, parseVerifierKey } from './keys.js';
import { cosign, parseNote, signNote, verifyCosignature, verifyNote } from './note.js';

// Fixed test key (seed = 32 × 0x07) so failures are reproducible.
const SIGNER = new Ed25519Signer('test.example/log', new Uint8Array(32).fill(7));
const TEXT = 'test.example/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';

/** Independent Ed25519 verification (OpenSSL via node:crypto), not our code path. */
function nodeEd25519Verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  return nodeVerify(null, msg, key, sig);
}

/** Key ID recomputed from signed-note §Signatures, by hand. */
function specKeyId(name: string, type: number, pub: Uint8Array): string {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, type]), pub]))
    .digest()
    .subarray(0, 4)
    .toString('hex');
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('notes we produce, checked independently', () => {
  it('log signature line: em dash, name, base64(keyID ‖ Ed25519 over the text)', () => {
    const note = signNote(TEXT, [SIGNER]);
    const line = note.slice(TEXT.length + 1);
    expect(note.slice(TEXT.length, TEXT.length + 1)).toBe('\n');
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)\n$/.exec(line);
    expect(m?.[1]).toBe('test.example/log');
    const raw = Buffer.from(m?.[2] ?? '', 'base64');
    const vk = parseVerifierKey(SIGNER.verifierKey);
    expect(raw.subarray(0, 4).toString('hex')).toBe(specKeyId('test.example/log', 0x01, vk.publicKey));
    expect(nodeEd25519Verify(vk.publicKey, Buffer.from(TEXT), raw.subarray(4))).toBe(true);
    expect(nodeEd25519Verify(vk.publicKey, Buffer.from(`${TEXT}x`), raw.subarray(4))).toBe(false);
  });

  it('cosignature/v1 line: keyID(0x04) ‖ u64be time ‖ Ed25519("cosignature/v1\\ntime T\\n" ‖ body)', () => {
    const cosigner = SIGNER.timeCosigner();
    expect(cosigner.name).toBe('test.example/log/time');
    const line = cosign(TEXT, cosigner, 1700000000);
    const raw = Buffer.from(line.split(' ')[2]?.trim() ?? '', 'base64');
    expect(raw).toHaveLength(4 + 8 + 64);
    expect(raw.subarray(0, 4).toString('hex')).toBe(specKeyId(cosigner.name, 0x04, cosigner.publicKey));
    expect(raw.readBigUInt64BE(4)).toBe(1700000000n);
    const msg = Buffer.from(`cosignature/v1\ntime 1700000000\n${TEXT}`);
    expect(nodeEd25519Verify(cosigner.publicKey, msg, raw.subarray(12))).toBe(true);
    expect(verifyCosignature(TEXT, line, cosigner.verifierKey)).toBe(1700000000);
    // A different time in the message must not verify under the same signature.
    expect(
      nodeEd25519Verify(
        cosigner.publicKey,
        Buffer.from(`cosignature/v1\ntime 1700000001\n${TEXT}`),
        raw.subarray(12),
      ),
    ).toBe(false);
  });

  it('the cosigner key is distinct from the log key (no cross-type key reuse)', () => {
    const c = SIGNER.timeCosigner();
    expect(Buffer.from(c.publicKey).equals(Buffer.from(SIGNER.publicKey))).toBe(false);
    expect(new Ed25519Signer('test.example/log', new Uint8Array(32).fill(7)).timeCosigner().verifierKey).toBe(
      c.verifierKey,
    );
  });

  it('verifyNote reports cosignature time and unknown keys; a cosigner key alone can vouch', () => {
    const note = signNote(TEXT, [SIGNER, cosignerAt(SIGNER.timeCosigner(), 42)]);
    const r = verifyNote(note, [SIGNER.verifierKey, SIGNER.timeCosigner().verifierKey]);
    expect(r.verified.map((v) => [v.name, v.type, v.time])).toEqual([
      ['test.example/log', 1, undefined],
      ['test.example/log/time', 4, 42],
    ]);
    const onlyLog = verifyNote(note, [SIGNER.verifierKey]);
    expect(onlyLog.unknown.map((u) => u.name)).toEqual(['test.example/log/time']);
  });

  it('a key that shares the name but not the ID is unknown, not a failure', () => {
    const other = generateKey('test.example/log');
    const note = signNote(TEXT, [SIGNER]);
    expect((errorOf(() => verifyNote(note, [other.verifierKey])) as { code?: string }).code).toBe('E_TAMPER');
    const both = verifyNote(signNote(TEXT, [SIGNER, parseSignerKey(other.privateKey)]), [SIGNER.verifierKey]);
    expect(both.unknown).toHaveLength(1);
  });
});

describe('keys', () => {
  it('generateKey round-trips and agrees with the spec key ID', () => {
    const k = generateKey('audit.example.com/host-1');
    const s = parseSignerKey(k.privateKey);
    const v = parseVerifierKey(k.verifierKey);
    expect(s.verifierKey).toBe(k.verifierKey);
    expect(k.verifierKey.split('+')[1]).toBe(specKeyId(v.name, 1, v.publicKey));
    expect(parseVerifierKey(k.cosignerVerifierKey).type).toBe(4);
    expect(s.timeCosigner().verifierKey).toBe(k.cosignerVerifierKey);
  });

  it('rejects invalid key names', () => {
    for (const name of ['', 'a b', 'a+b', 'a\u00a0b', 'a\u2028b', 'a\nb', '\ud800']) {
      expect((errorOf(() => generateKey(name)) as { code?: string }).code).toBe('E_KEY');
    }
  });

  it('never puts private key material in errors or inspect output', () => {
    const k = generateKey('secret.example/log');
    const b64 = k.privateKey.split('+').slice(4).join('+');
    const seedHex = Buffer.from(b64, 'base64').subarray(1).toString('hex');
    const signer = parseSignerKey(k.privateKey);
    for (const shown of [
      inspect(signer, { showHidden: true, depth: 5 }),
      JSON.stringify(signer),
      String(signer),
    ]) {
      expect(shown).not.toContain(b64);
      expect(shown).not.toContain(seedHex);
    }
    const corrupt = [
      k.privateKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'),
      k.privateKey.slice(0, -2),
      k.privateKey.replace('PRIVATE+KEY+', ''),
      `${k.privateKey}AAAA`,
    ];
    for (const bad of [...corrupt]) {
      for (const fn of [() => parseSignerKey(bad), () => parseVerifierKey(bad)]) {
        const err = errorOf(fn);
        expect(isSealogError(err)).toBe(true);
        const text = `${(err as Error).message} ${inspect(err)}`;
        expect(text).not.toContain(b64.slice(8, 40));
      }
    }
  });
});

describe('property: hostile notes', () => {
  const note = signNote(TEXT, [SIGNER, cosignerAt(SIGNER.timeCosigner(), 1700000000)]);
  const keys = [SIGNER.verifierKey, SIGNER.timeCosigner().verifierKey];
  const bytes = Buffer.from(note);

  // A change inside a signature line's key name turns that line into an
  // "unknown key" line (signed-note: ignore it), so the note can still verify
  // through its other signature; the change is then visible as a lost trusted
  // signature. Everything else must throw E_FORMAT or E_TAMPER.
  it('any single-byte change throws a SealogError or loses a trusted signature, never crashes', () => {
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
        const m = Buffer.from(bytes);
        m[i] = ((m[i] ?? 0) + delta) & 0xff;
        let verified = -1;
        const err = errorOf(() => {
          verified = verifyNote(m, keys).verified.length;
        });
        if (err === undefined) {
          expect(verified).toBeLessThan(2);
        } else {
          expect(isSealogError(err)).toBe(true);
          expect(['E_FORMAT', 'E_TAMPER']).toContain((err as { code: string }).code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parse∘sign round-trips arbitrary valid texts', () => {
    const line = fc
      .string({ minLength: 0, maxLength: 20, unit: 'grapheme' })
      .filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 5 }), (lines) => {
        const text = `${lines.join('\n')}\n`;
        const signed = signNote(text, [SIGNER]);
        expect(parseNote(signed).text).toBe(text);
        expect(verifyNote(signed, [SIGNER.verifierKey]).text).toBe(text);
      }),
    );
  });

  it('random strings never crash the parser', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const err = errorOf(() => verifyNote(`${s}\n\n— test.example/log ${s}\n`, keys));
        if (err !== undefined) expect(isSealogError(err)).toBe(true);
      }),
    );
  });
});
