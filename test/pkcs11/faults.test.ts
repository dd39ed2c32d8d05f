// A token that hangs, answers garbage, drops a session or has its PIN locked.
// The module is fixtures/faulty-module.c: a real PKCS#11 module compiled per
// run that forwards to SoftHSM2 and misbehaves when its control file says so.
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointKey,
  createPkcs11Key,
  openCheckpoint,
  openPkcs11Key,
  signCheckpointWith,
} from '../../packages/core/src/index.js';
import { useTokenKey } from './setup.js';
import { rawToken } from './token.js';

const PIN = '40961357';
const ORIGIN = 'faults.example/log';
const t = useTokenKey({ token: 'faulty', pin: PIN, label: 'k', name: ORIGIN, faulty: { timeoutMs: 400 } });
const fault = (word: string) => t.fault(word);
const root = new Uint8Array(32).fill(1);

async function signs(key: CheckpointKey, size: number): Promise<void> {
  const note = await signCheckpointWith({ origin: ORIGIN, size, root }, key, 5);
  expect(openCheckpoint(note, [key.log.verifierKey, key.time.verifierKey]).checkpoint.size).toBe(size);
}

describe('PKCS#11 token faults', () => {
  it('gives up on a sign the token does not answer, refuses more while it hangs, and signs again once it answers', async () => {
    const key = await openPkcs11Key(t.options);
    try {
      await signs(key, 1);
      fault('hang');
      const started = Date.now();
      const hung = key.log.sign(new Uint8Array([1, 2, 3]));
      await expect(hung).rejects.toMatchObject({
        code: 'E_IO',
        message: expect.stringMatching(/the token did not answer within 400 ms .*"k"/),
      });
      expect(Date.now() - started).toBeLessThan(3000);
      // The hung call still holds a libuv thread: no second one is started.
      await expect(key.time.sign(new Uint8Array([4]))).rejects.toThrow(
        /has not answered a signature requested \d+ ms ago/,
      );
      fault('');
      // The abandoned call returns; its session is closed, and a fresh one signs.
      for (let i = 0; i < 100; i++) {
        try {
          await signs(key, 2);
          break;
        } catch (err) {
          if (!/has not answered/.test((err as Error).message) || i === 99) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    } finally {
      fault('');
      await key.close();
    }
  });

  it('never returns a signature that does not verify (the token flips a bit)', async () => {
    const key = await openPkcs11Key(t.options);
    try {
      fault('garbage');
      await expect(signCheckpointWith({ origin: ORIGIN, size: 3, root }, key, 5)).rejects.toMatchObject({
        code: 'E_KEY',
        message: expect.stringMatching(/returned a signature that does not verify under the public key "k"/),
      });
      fault('');
      await signs(key, 3);
    } finally {
      fault('');
      await key.close();
    }
  });

  it('logs in again after the token logged out underneath (as on an HSM restart): the failed sign says why, the next one signs', async () => {
    const key = await openPkcs11Key(t.options);
    try {
      fault('logout-once');
      // SoftHSM hides private objects once logged out: the key handle is then invalid.
      await expect(key.log.sign(new Uint8Array([9]))).rejects.toThrow(
        /failed \(CKR_(OBJECT_HANDLE_INVALID|USER_NOT_LOGGED_IN)\)/,
      );
      await signs(key, 4);
    } finally {
      await key.close();
    }
  });

  it('says the PIN is locked, apart from a wrong PIN', async () => {
    fault('locked');
    try {
      await expect(openPkcs11Key(t.options)).rejects.toMatchObject({
        code: 'E_KEY',
        message: expect.stringMatching(/user PIN of token "faulty" .* is locked \(CKR_PIN_LOCKED\)/),
      });
    } finally {
      fault('');
    }
  });

  it('a timeout while opening (the probe sign) fails the open and releases the token', async () => {
    fault('hang');
    try {
      await expect(openPkcs11Key(t.options)).rejects.toThrow(/did not answer within 400 ms/);
    } finally {
      fault('');
    }
    await new Promise((r) => setTimeout(r, 200));
    const key = await openPkcs11Key(t.options);
    await signs(key, 5);
    await key.close();
  });

  it('rolls the first pair back when the token fails to generate the second, so keygen can run again', async () => {
    const opts = { ...t.options, label: 'gen', name: 'gen.example' };
    fault('genfail');
    try {
      await expect(createPkcs11Key(opts)).rejects.toThrow(
        /could not generate an Ed25519 key pair labelled "gen\/time" \(CKR_DEVICE_MEMORY/,
      );
    } finally {
      fault('');
    }
    const left = rawToken<number>(
      t.hsm.module,
      'faulty',
      PIN,
      `return find(P.CKO_PRIVATE_KEY, 'gen').length + find(P.CKO_PUBLIC_KEY, 'gen').length;`,
    );
    expect(left).toBe(0);
    expect((await createPkcs11Key(opts)).created).toBe(true);
  });

  it('after logging in again, refuses keys that were swapped under the same labels', async () => {
    const opts = { ...t.options, label: 'swap', name: 'swap.example' };
    await createPkcs11Key(opts);
    const key = await openPkcs11Key(opts);
    try {
      rawToken(
        t.hsm.module,
        'faulty',
        PIN,
        `for (const label of ['swap', 'swap/time']) {
          for (const h of [...find(P.CKO_PRIVATE_KEY, label), ...find(P.CKO_PUBLIC_KEY, label)]) p.C_DestroyObject(s, h);
          p.C_GenerateKeyPair(s, { mechanism: 0x1055 },
            [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_LABEL, value: label }, { type: P.CKA_VERIFY, value: true },
             { type: P.CKA_EC_PARAMS, value: Buffer.from('06032b6570', 'hex') }],
            [{ type: P.CKA_TOKEN, value: true }, { type: P.CKA_PRIVATE, value: true }, { type: P.CKA_LABEL, value: label },
             { type: P.CKA_SIGN, value: true }, { type: P.CKA_SENSITIVE, value: true }, { type: P.CKA_EXTRACTABLE, value: false }]);
        }
        return null;`,
      );
      fault('logout-once');
      await expect(key.log.sign(new Uint8Array([1]))).rejects.toThrow(/failed \(CKR_/);
      await expect(key.log.sign(new Uint8Array([2]))).rejects.toThrow(
        /keys labelled "swap" on token "faulty" .* changed while in use/,
      );
    } finally {
      fault('');
      await key.close();
    }
  });

  it('refuses a module that group or others can write', async () => {
    chmodSync(t.options.module, 0o775);
    try {
      await expect(openPkcs11Key(t.options)).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringMatching(/faulty-module\.so is writable by group or others \(mode 775\)/),
      });
    } finally {
      chmodSync(t.options.module, 0o755);
    }
  });
});
