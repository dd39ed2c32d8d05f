// The transports' `checkpoint.pkcs11` option and `sealog key rotate` onto a
// token, on a real SoftHSM2 token (issue 17 §2, §3).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  generateKey,
  openSink,
  type SealogError,
  verifyLedger,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { useTokenKey } from './setup.js';

const PIN = '27182818';
const ORIGIN = 'token.example/audit';
const t = useTokenKey({ token: 'writer', pin: PIN, label: 'audit', name: ORIGIN });

async function write(path: string, checkpoint: Record<string, unknown>, n: number, errors: SealogError[]) {
  const sink = await openSink({ path, checkpoint }, { onError: (e) => errors.push(e) });
  for (let i = 0; i < n; i++) sink.write({ msg: 'audit', i });
  await sink.close();
}

describe('checkpoint.pkcs11', () => {
  it('a writer seals with the token key, and verify checks it with the printed verifier keys', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const errors: SealogError[] = [];
    await write(path, { pkcs11: t.options, everyRecords: 20 }, 70, errors);
    expect(errors).toEqual([]);
    const v = verifyLedger(path, { keys: [t.vkeys.log, t.vkeys.time], strict: true });
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.sealed).toBe(70);
    expect(v.checkpoints.length).toBeGreaterThanOrEqual(1);
  });

  it('a token that refuses the PIN fails startup with E_KEY, naming the token and not the PIN, and creates no ledger', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const wrong = { ...t.options, pinFile: t.hsm.pinFile('99999999') };
    const err = (await openSink({ path, checkpoint: { pkcs11: wrong } }).catch(
      (e: unknown) => e,
    )) as SealogError;
    expect(err.code).toBe('E_KEY');
    expect(err.message).toMatch(/writer/);
    expect(err.message).not.toContain('99999999');
    expect(existsSync(path)).toBe(false);
  });

  it('keyFile and pkcs11 together, or a typo inside pkcs11, are config errors naming the field', async () => {
    const path = join(tempDir(), 'audit.db');
    const both = (await openSink({ path, checkpoint: { keyFile: 'a.key', pkcs11: t.options } }).catch(
      (e: unknown) => e,
    )) as SealogError;
    expect(both.code).toBe('E_CONFIG');
    expect(both.message).toMatch(/exclusive/);
    const typo = (await openSink({ path, checkpoint: { pkcs11: { ...t.options, lable: 'x' } } }).catch(
      (e: unknown) => e,
    )) as SealogError;
    expect(typo.code).toBe('E_CONFIG');
    expect(typo.message).toMatch(/checkpoint\.pkcs11\.lable/);
  });

  it('moving a file key into the token is a rotation: verify follows it from the file key alone', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const k = generateKey(ORIGIN);
    const keyFile = join(dir, 'file.key');
    writeKeyFile(keyFile, k.privateKey);
    const errors: SealogError[] = [];
    await write(path, { keyFile, everyRecords: 20 }, 30, errors);
    const tokenFile = join(dir, 'token.json');
    writeFileSync(tokenFile, JSON.stringify(t.options));
    const r = await runCli(['key', 'rotate', path, '--key', keyFile, '--new-pkcs11', tokenFile]);
    expect(r.code, r.err).toBe(0);
    await write(path, { pkcs11: t.options, everyRecords: 20 }, 30, errors);
    expect(errors).toEqual([]);
    const v = verifyLedger(path, { keys: [k.verifierKey, k.cosignerVerifierKey], strict: true });
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.sealed).toBe(61);
    expect(v.rotations).toHaveLength(1);
    // and `sealog checkpoint --config` signs through the token too
    const config = join(dir, 'checkpoint.json');
    writeFileSync(config, JSON.stringify({ pkcs11: t.options }));
    const c = await runCli(['checkpoint', path, '--config', config]);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toMatch(/^token\.example\/audit\n61\n/);
  });
});
