// Checkpoints signed on a real PKCS#11 token (SoftHSM2, a private token per
// run): they verify with sealog and with an independent signed-note check,
// the private keys cannot be read out, errors never carry the PIN, and
// concurrent signs work.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckpointKey,
  createPkcs11Key,
  openCheckpoint,
  openPkcs11Key,
  type Pkcs11KeyOptions,
  signCheckpointWith,
} from '../../packages/core/src/index.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';
import { independentVerify, rawToken } from './token.js';

const PIN = '52719348';
const ORIGIN = 'audit.example.com/pkcs11';
let hsm: SoftHsm;
let base: Pkcs11KeyOptions;
let key: CheckpointKey;
let slot: number;

beforeAll(async () => {
  hsm = createSoftHsm();
  slot = hsm.initToken('sealog', { user: PIN });
  hsm.initToken('other', { user: PIN });
  hsm.initToken('twin', { user: PIN });
  hsm.initToken('twin', { user: PIN });
  base = { module: hsm.module, token: 'sealog', label: 'ckpt', name: ORIGIN, pinFile: hsm.pinFile(PIN) };
  expect((await createPkcs11Key(base)).created).toBe(true);
  key = await openPkcs11Key(base);
});

afterAll(async () => {
  await key?.close();
  hsm?.cleanup();
});

/** Every string an error exposes: message, stack, JSON and causes. */
function exposed(err: unknown): string {
  let s = '';
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    s += `${String(e)}\n${(e as Error).stack ?? ''}\n${JSON.stringify(e)}\n`;
  }
  return s;
}

async function openError(options: Pkcs11KeyOptions): Promise<Error & { code: string }> {
  try {
    const k = await openPkcs11Key(options);
    await k.close();
  } catch (err) {
    return err as Error & { code: string };
  }
  throw new Error('openPkcs11Key succeeded');
}

describe('PKCS#11 checkpoint key (SoftHSM2)', () => {
  it('signs a checkpoint that sealog and an independent signed-note check both verify from the vkeys alone', async () => {
    expect(key.backend).toBe('pkcs11');
    expect(key.log.name).toBe(ORIGIN);
    expect(key.time.name).toBe(`${ORIGIN}/time`);
    const root = new Uint8Array(32).fill(7);
    const note = await signCheckpointWith({ origin: ORIGIN, size: 42, root }, key, 1_700_000_000);
    const opened = openCheckpoint(note, [key.log.verifierKey, key.time.verifierKey], { origin: ORIGIN });
    expect(opened.checkpoint.size).toBe(42);
    expect(opened.time).toBe(1_700_000_000);
    const path = join(hsm.dir, 'checkpoint.note');
    writeFileSync(path, note);
    const indep = independentVerify(path, [key.log.verifierKey, key.time.verifierKey]);
    expect(indep.verified).toEqual([ORIGIN, `${ORIGIN}/time`]);
    expect(indep.times).toEqual([1_700_000_000]);
    // The check can fail: a changed size breaks both signatures.
    writeFileSync(path, note.replace('\n42\n', '\n43\n'));
    expect(independentVerify(path, [key.log.verifierKey, key.time.verifierKey]).verified).toEqual([]);
  });

  it('keeps the private keys on the token: sensitive, never extractable, CKA_VALUE and wrapping refused', () => {
    const got = rawToken<Record<string, unknown>[]>(
      hsm.module,
      'sealog',
      PIN,
      `return ['ckpt', 'ckpt/time'].map((label) => {
        const [k] = find(P.CKO_PRIVATE_KEY, label);
        const attr = (t) => p.C_GetAttributeValue(s, k, [{ type: t }])[0].value[0];
        const aes = p.C_GenerateKey(s, { mechanism: P.CKM_AES_KEY_GEN }, [
          { type: P.CKA_VALUE_LEN, value: 32 }, { type: P.CKA_WRAP, value: true }, { type: P.CKA_TOKEN, value: false }]);
        return {
          sensitive: attr(P.CKA_SENSITIVE), extractable: attr(P.CKA_EXTRACTABLE),
          neverExtractable: attr(P.CKA_NEVER_EXTRACTABLE), alwaysSensitive: attr(P.CKA_ALWAYS_SENSITIVE),
          token: attr(P.CKA_TOKEN), private: attr(P.CKA_PRIVATE),
          value: tryErr(() => p.C_GetAttributeValue(s, k, [{ type: P.CKA_VALUE }])),
          wrap: tryErr(() => p.C_WrapKey(s, { mechanism: P.CKM_AES_KEY_WRAP_PAD }, aes, k, Buffer.alloc(256))),
        };
      });`,
    );
    for (const k of got) {
      expect(k).toMatchObject({
        sensitive: 1,
        extractable: 0,
        neverExtractable: 1,
        alwaysSensitive: 1,
        token: 1,
        private: 1,
      });
      expect(k.value).toMatch(/CKR_ATTRIBUTE_SENSITIVE/);
      expect(k.wrap).toMatch(/CKR_KEY_UNEXTRACTABLE|CKR_KEY_NOT_WRAPPABLE/);
    }
  });

  it('signs concurrently: 24 signatures at once, each valid', async () => {
    const root = new Uint8Array(32);
    const notes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        signCheckpointWith({ origin: ORIGIN, size: i, root }, key, 1000 + i),
      ),
    );
    notes.forEach((note, i) => {
      const opened = openCheckpoint(note, [key.log.verifierKey, key.time.verifierKey]);
      expect([opened.checkpoint.size, opened.time]).toEqual([i, 1000 + i]);
    });
  });

  it('tells a wrong PIN, a missing token, a missing label and a missing module apart, never showing the PIN', async () => {
    // The login belongs to the token (PKCS#11 v3.0 §5.6): while `key` is logged in, the token
    // would let a second key in with any PIN; sealog compares it with the first instead.
    const second = await openError({ ...base, pinFile: hsm.pinFile('13572468') });
    expect([second.code, second.message]).toEqual([
      'E_KEY',
      expect.stringMatching(/PIN differs from the one this process logged in to token "sealog" .* with/),
    ]);
    expect(exposed(second)).not.toContain('13572468');
    const same = await openPkcs11Key(base);
    await same.close();
    await signCheckpointWith({ origin: ORIGIN, size: 1, root: new Uint8Array(32) }, key, 1); // still logged in
    await key.close();
    const wrong = '86420975';
    const bad = await openError({ ...base, pinFile: hsm.pinFile(wrong) });
    expect(bad.code).toBe('E_KEY');
    expect(bad.message).toMatch(/PIN was rejected .*CKR_PIN_INCORRECT/);
    expect(bad.message).toContain('token "sealog"');
    process.env.SEALOG_TEST_PIN = wrong;
    const badEnv = await openError({ ...base, pinFile: undefined, pinEnv: 'SEALOG_TEST_PIN' });
    expect(badEnv.message).toMatch(/PIN was rejected/);
    const noToken = await openError({ ...base, token: 'nosuch' });
    expect(noToken.message).toMatch(/no token "nosuch" .*"sealog"/);
    const noKey = await openError({ ...base, token: 'other' });
    expect(noKey.message).toMatch(/has no key pair labelled "ckpt".*sealog keygen --pkcs11/);
    const noModule = await openError({ ...base, module: join(hsm.dir, 'missing.so') });
    expect([noModule.code, noModule.message]).toEqual([
      'E_CONFIG',
      expect.stringMatching(/missing\.so does not exist/),
    ]);
    delete process.env.SEALOG_TEST_PIN;
    const noEnv = await openError({ ...base, pinFile: undefined, pinEnv: 'SEALOG_TEST_PIN' });
    expect(noEnv.message).toMatch(/environment variable SEALOG_TEST_PIN is empty or not set/);
    for (const e of [bad, badEnv, noToken, noKey, noModule, noEnv]) {
      expect(exposed(e)).not.toContain(wrong);
      expect(exposed(e)).not.toContain(PIN);
    }
    key = await openPkcs11Key(base);
  });

  it('refuses a PIN file others can read, without reading it', async () => {
    const path = hsm.pinFile(PIN);
    chmodSync(path, 0o644);
    const e = await openError({ ...base, pinFile: path });
    expect(e.message).toMatch(/accessible by group or others .*chmod 600/);
    expect(exposed(e)).not.toContain(PIN);
  });

  it('refuses to open a key that can be read out (an extractable pair planted under the label)', async () => {
    rawToken(
      hsm.module,
      'other',
      PIN,
      `for (const label of ['weak', 'weak/time']) p.C_GenerateKeyPair(s, { mechanism: 0x1055 },
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_LABEL, value: label }, { type: P.CKA_VERIFY, value: true },
         { type: P.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }],
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_PRIVATE, value: true }, { type: P.CKA_LABEL, value: label },
         { type: P.CKA_SIGN, value: true }, { type: P.CKA_SENSITIVE, value: false }, { type: P.CKA_EXTRACTABLE, value: true }]);
      return null;`,
    );
    const opts = { ...base, token: 'other', label: 'weak', name: 'weak.example' };
    expect((await openError(opts)).message).toMatch(/private key "weak" .*can be read out.*refusing/);
    await expect(createPkcs11Key(opts)).rejects.toThrow(/can be read out/);
  });

  it('finds the token by slot ID, refuses two tokens sharing a label, and refuses two keys under one label', async () => {
    const bySlot = await openPkcs11Key({ ...base, token: undefined, slot });
    expect(bySlot.log.verifierKey).toBe(key.log.verifierKey);
    await bySlot.close();
    expect((await openError({ ...base, token: 'twin' })).message).toMatch(
      /2 tokens share the label of token "twin".*configure slot/,
    );
    rawToken(
      hsm.module,
      'other',
      PIN,
      `for (const label of ['dup', 'dup', 'dup/time']) p.C_GenerateKeyPair(s, { mechanism: 0x1055 },
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_LABEL, value: label }, { type: P.CKA_VERIFY, value: true },
         { type: P.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }],
        [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_PRIVATE, value: true }, { type: P.CKA_LABEL, value: label },
         { type: P.CKA_SIGN, value: true }, { type: P.CKA_SENSITIVE, value: true }, { type: P.CKA_EXTRACTABLE, value: false }]);
      return null;`,
    );
    const dup = { ...base, token: 'other', label: 'dup', name: 'dup.example' };
    expect((await openError(dup)).message).toMatch(
      /holds 2 private and 2 public keys labelled "dup"; exactly one of each/,
    );
    await expect(createPkcs11Key(dup)).rejects.toThrow(/holds 2 private and 2 public keys labelled "dup"/);
  });
});
