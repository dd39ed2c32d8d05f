import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { cosignerAt } from '../note/cosignature.js';
import { Ed25519Signer } from '../note/keys.js';
import { signNote } from '../note/note.js';
import { formatCheckpoint, parseCheckpoint } from './body.js';
import { openCheckpoint, signCheckpoint } from './signed.js';

const ROOT = new Uint8Array(32).map((_, i) => i);
const SIGNER = new Ed25519Signer('test.example/log', new Uint8Array(32).fill(7));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!isSealogError(err)) throw err;
    return err.code;
  }
}

describe('checkpoint body (tlog-checkpoint §"Note text")', () => {
  it('formats origin, decimal size and base64 root, one per line', () => {
    expect(formatCheckpoint({ origin: 'example.com/log', size: 0, root: ROOT })).toBe(
      'example.com/log\n0\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n',
    );
  });

  it('parses the spec example', () => {
    const cp = parseCheckpoint(
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    expect(cp).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(Buffer.from(cp.root).toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  });

  it('rejects malformed bodies with E_FORMAT', () => {
    const root = Buffer.from(ROOT).toString('base64');
    const bad = [
      `o\n1\n${root}`, // no final newline
      `o\n1\n`, // no root
      `\n1\n${root}\n`, // empty origin
      `o\n01\n${root}\n`, // leading zero
      `o\n-1\n${root}\n`,
      `o\n1.0\n${root}\n`,
      `o\n 1\n${root}\n`,
      `o\n99999999999999999\n${root}\n`, // > 2^53-1
      `o\n1\n${root.slice(0, -4)}\n`, // 30 bytes
      `o\n1\n${Buffer.alloc(33).toString('base64')}\n`,
      `o\n1\n${root.replace(/=$/, '')}\n`, // unpadded
      `o\n1\n${Buffer.from(ROOT).toString('base64url')}\n`,
      `o\n1\n${root}\n\n`, // empty extension line
      `o\t\n1\n${root}\n`, // control char
    ];
    for (const b of bad)
      expect(
        codeOf(() => parseCheckpoint(b)),
        JSON.stringify(b),
      ).toBe('E_FORMAT');
    expect(codeOf(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: ROOT }))).toBe('E_FORMAT');
    expect(codeOf(() => formatCheckpoint({ origin: 'a', size: -1, root: ROOT }))).toBe('E_FORMAT');
    expect(codeOf(() => formatCheckpoint({ origin: 'a', size: 1, root: ROOT.subarray(1) }))).toBe('E_FORMAT');
  });

  it('property: parse ∘ format is the identity', () => {
    const line = fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((s) => !/[\u0000-\u001f]/.test(s) && s.isWellFormed());
    fc.assert(
      fc.property(
        line,
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, root, extensions) => {
          const body = formatCheckpoint({ origin, size, root, extensions });
          const cp = parseCheckpoint(body);
          expect(cp).toEqual({ origin, size, root, extensions });
          expect(formatCheckpoint(cp)).toBe(body);
        },
      ),
    );
  });

  it('property: random text never escapes as a non-Sealog error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        codeOf(() => parseCheckpoint(s));
      }),
    );
  });
});

describe('signed checkpoints', () => {
  it('signCheckpoint → openCheckpoint returns the body and signed time', () => {
    const note = signCheckpoint({ origin: 'test.example/log', size: 2, root: ROOT }, SIGNER, 1700000000);
    const r = openCheckpoint(note, [SIGNER.verifierKey, SIGNER.timeCosigner().verifierKey], {
      origin: 'test.example/log',
    });
    expect(r.checkpoint.size).toBe(2);
    expect(r.time).toBe(1700000000);
    expect(openCheckpoint(note, [SIGNER.verifierKey]).time).toBeUndefined();
  });

  it('refuses an origin that is not the key name, a wrong expected origin, and cosignature-only notes', () => {
    expect(codeOf(() => signCheckpoint({ origin: 'other/log', size: 2, root: ROOT }, SIGNER, 1))).toBe(
      'E_KEY',
    );
    const note = signCheckpoint({ origin: 'test.example/log', size: 2, root: ROOT }, SIGNER, 1);
    expect(codeOf(() => openCheckpoint(note, [SIGNER.verifierKey], { origin: 'x' }))).toBe('E_TAMPER');
    const body = formatCheckpoint({ origin: 'test.example/log', size: 2, root: ROOT });
    const cosigOnly = signNote(body, [cosignerAt(SIGNER.timeCosigner(), 5)]);
    expect(codeOf(() => openCheckpoint(cosigOnly, [SIGNER.timeCosigner().verifierKey]))).toBe('E_TAMPER');
  });
});
