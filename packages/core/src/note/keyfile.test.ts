import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { isSealogError } from '../errors.js';
import { loadSignerKeyFile, writeKeyFile } from './keyfile.js';
import { Ed25519Signer, generateKey } from './keys.js';

function caught(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isSealogError(err)) throw err;
    return { code: err.code, message: `${err.message} ${String(err.cause ?? '')}` };
  }
  throw new Error('expected a SealogError');
}

describe('key files', () => {
  it('writes mode 0600, loads back, and refuses to overwrite', () => {
    const dir = tempDir();
    const path = join(dir, 'log.key');
    const k = generateKey('audit.example/log');
    writeKeyFile(path, k.privateKey);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${k.privateKey}\n`);
    expect(loadSignerKeyFile(path, { expectName: 'audit.example/log' }).verifierKey).toBe(k.verifierKey);
    const again = caught(() => writeKeyFile(path, generateKey('x').privateKey));
    expect(again.code).toBe('E_KEY');
    expect(readFileSync(path, 'utf8')).toBe(`${k.privateKey}\n`);
  });

  it.runIf(process.platform !== 'win32')('refuses group/other-readable files and says how to fix it', () => {
    const path = join(tempDir(), 'open.key');
    const k = generateKey('audit.example/log');
    writeKeyFile(path, k.privateKey);
    chmodSync(path, 0o640);
    const e = caught(() => loadSignerKeyFile(path));
    expect(e.code).toBe('E_KEY');
    expect(e.message).toContain(`chmod 600 ${path}`);
  });

  it('checks format and name without ever echoing the key', () => {
    const dir = tempDir();
    const k = generateKey('audit.example/log');
    const secret = k.privateKey.slice(k.privateKey.lastIndexOf('+') + 1);
    const cases: [string, string][] = [
      ['truncated', k.privateKey.slice(0, -3)],
      ['bad-id', k.privateKey.replace(/\+[0-9a-f]{8}\+/, '+deadbeef+')],
      ['vkey', k.verifierKey],
      ['garbage', '\u0000\u00ff not a key'],
    ];
    for (const [name, content] of cases) {
      const path = join(dir, `${name}.key`);
      writeFileSync(path, content, { mode: 0o600 });
      const e = caught(() => loadSignerKeyFile(path));
      expect(e.code, name).toBe('E_KEY');
      expect(e.message).not.toContain(secret.slice(0, 20));
    }
    const good = join(dir, 'good.key');
    writeKeyFile(good, k.privateKey);
    const wrongName = caught(() => loadSignerKeyFile(good, { expectName: 'other/log' }));
    expect(wrongName.code).toBe('E_KEY');
    expect(wrongName.message).toContain('other/log');
    expect(wrongName.message).not.toContain(secret.slice(0, 20));
    expect(caught(() => loadSignerKeyFile(join(dir, 'missing.key'))).code).toBe('E_KEY');
    const big = join(dir, 'big.key');
    writeFileSync(big, 'A'.repeat(10_000), { mode: 0o600 });
    expect(caught(() => loadSignerKeyFile(big)).code).toBe('E_KEY');
  });

  it('refuses a guessable seed (all zero, one repeated byte): its key pair is public', () => {
    const dir = tempDir();
    for (const [name, seed] of [
      ['zero', new Uint8Array(32)],
      ['repeated', new Uint8Array(32).fill(0x41)],
      ['pattern', Uint8Array.from({ length: 32 }, (_, i) => i % 8)],
    ] as const) {
      const path = join(dir, `${name}.key`);
      writeFileSync(path, new Ed25519Signer('audit.example/log', seed).privateKeyString(), { mode: 0o600 });
      const e = caught(() => loadSignerKeyFile(path));
      expect(e.code, name).toBe('E_KEY');
      expect(e.message).toMatch(/seed is not random/);
    }
  });
});
