// Published vectors: C2SP signed-note §"Verifier keys / Example", tlog-checkpoint
// and tlog-cosignature examples, and golang.org/x/mod/sumdb/note note_test.go.
import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../checkpoint/body.js';
import { isSealogError } from '../errors.js';
import { decodeTimestampedSignature } from './cosignature.js';
import { toHex } from './encoding.js';
import { parseSignerKey, parseVerifierKey } from './keys.js';
import { parseNote, signNote, verifyNote } from './note.js';

const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!isSealogError(err)) throw err; // an uncaught non-Sealog error is a bug
    return err.code;
  }
}

describe('x/mod/sumdb/note vectors', () => {
  it('derives the published verifier key from the published signer key', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer.name).toBe('PeterNeumann');
    expect(toHex(signer.keyId)).toBe('c74f20a3');
    expect(signer.verifierKey).toBe(PETER_VKEY);
    expect(signer.privateKeyString()).toBe(PETER_SKEY);
  });

  it('signs the published note byte for byte (TestSign)', () => {
    expect(signNote(TEXT, [parseSignerKey(PETER_SKEY)])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('opens with one known and one unknown signer (TestOpen)', () => {
    const r = verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [PETER_VKEY]);
    expect(r.text).toBe(TEXT);
    expect(r.verified.map((v) => `${v.name}+${toHex(v.keyId)}`)).toEqual(['PeterNeumann+c74f20a3']);
    expect(r.unknown.map((v) => `${v.name}+${toHex(v.keyId)}`)).toEqual(['EnochRoot+af0cfe78']);
    const both = verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [PETER_VKEY, ENOCH_VKEY]);
    expect(both.verified.map((v) => v.name)).toEqual(['PeterNeumann', 'EnochRoot']);
  });

  it('rejects a note with no trusted signer, a corrupted one, and too many lines', () => {
    expect(code(() => verifyNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []))).toBe('E_TAMPER');
    const corrupted = `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(code(() => verifyNote(corrupted, [PETER_VKEY]))).toBe('E_TAMPER');
    expect(code(() => verifyNote(`${TEXT}\n${PETER_SIG.repeat(101)}`, [PETER_VKEY]))).toBe('E_FORMAT');
    // 16 signatures MUST be accepted (signed-note §Format).
    expect(verifyNote(`${TEXT}\n${PETER_SIG.repeat(16)}`, [PETER_VKEY]).verified).toHaveLength(1);
  });

  it('rejects the malformed notes of TestOpen', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
    ];
    for (const note of bad) expect(code(() => verifyNote(note, [PETER_VKEY]))).toBe('E_FORMAT');
    const invalidUtf8 = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${TEXT}\n${PETER_SIG}`)]);
    expect(code(() => parseNote(invalidUtf8))).toBe('E_FORMAT');
  });

  it('rejects every substring and every single-byte increment of the keys (TestNewVerifier/TestNewSigner)', () => {
    for (const [key, parse] of [
      [PETER_VKEY, parseVerifierKey],
      [PETER_SKEY, parseSignerKey],
    ] as const) {
      const b = Buffer.from(key);
      for (let i = 0; i <= b.length; i++) {
        for (let j = i + 1; j <= b.length; j++) {
          if (i === 0 && j === b.length) continue;
          expect(
            code(() => parse(b.subarray(i, j).toString('latin1'))),
            `${i}..${j}`,
          ).toBe('E_KEY');
        }
      }
      for (let i = 0; i < b.length; i++) {
        const m = Buffer.from(b);
        m[i] = (m[i] ?? 0) + 1;
        expect(
          code(() => parse(m.toString('latin1'))),
          `byte ${i}`,
        ).toBe('E_KEY');
      }
    }
    // wrong-length key and unknown algorithm, each with a correctly adjusted key ID (TestNewVerifier)
    expect(
      code(() =>
        parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
      ),
    ).toBe('E_KEY');
    expect(
      code(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')),
    ).toBe('E_KEY');
  });
});

describe('C2SP vectors', () => {
  it('signed-note §"Verifier keys" example verifies', () => {
    const vkey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
    const note =
      'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    const key = parseVerifierKey(vkey);
    expect(toHex(key.keyId)).toBe('530d903a');
    expect(key.vkey).toBe(vkey);
    const r = verifyNote(note, [key]);
    expect(r.text).toBe('This is an example message.\n');
    expect(r.verified).toHaveLength(1);
    expect(code(() => verifyNote(note.replace('example message', 'example massage'), [key]))).toBe(
      'E_TAMPER',
    );
  });

  it('signed-note intro example parses (multi-line text with an empty line)', () => {
    const note =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    const p = parseNote(note);
    expect(p.text).toBe(
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
    );
    expect(p.signatures[0]?.name).toBe('quasimodo.example/salvatore');
    expect(p.signatures[0]?.signature).toHaveLength(64);
  });

  it('tlog-cosignature example: checkpoint body parses and the witness timestamp is 1679315147', () => {
    const note =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
      '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n';
    const p = parseNote(note);
    const cp = parseCheckpoint(p.text);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(cp.root).toHaveLength(32);
    const witness = p.signatures[1];
    expect(witness?.name).toBe('witness.example.com/w1');
    // The spec's signed-message example shows "time 1679315147" for this cosignature.
    expect(decodeTimestampedSignature(witness?.signature ?? new Uint8Array())?.time).toBe(1679315147);
  });
});
