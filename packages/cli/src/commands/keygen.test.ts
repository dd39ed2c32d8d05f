import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { loadSignerKeyFile, parseVerifierKey } from '../../../core/src/index.js';
import { defaultKeyFileName } from './keygen.js';

describe('sealog keygen', () => {
  it('writes a 0600 key file and prints the log and cosigner verifier keys, never the private key', async () => {
    const out = join(tempDir(), 'billing.key');
    const r = await runCli(['keygen', '--name', 'audit.example.com/billing', '--out', out]);
    expect(r.code).toBe(0);
    const [vkey, cvkey, ...rest] = r.out.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(parseVerifierKey(vkey ?? '')).toMatchObject({ name: 'audit.example.com/billing', type: 1 });
    expect(parseVerifierKey(cvkey ?? '')).toMatchObject({ name: 'audit.example.com/billing/time', type: 4 });
    if (process.platform !== 'win32') expect(statSync(out).mode & 0o777).toBe(0o600);
    const signer = loadSignerKeyFile(out, { expectName: 'audit.example.com/billing' });
    expect(signer.verifierKey).toBe(vkey);
    const secret = readFileSync(out, 'utf8').trim().split('+').slice(4).join('+');
    expect(r.out + r.err).not.toContain(secret);
    expect(r.out + r.err).not.toContain('PRIVATE');
  });

  it('refuses to overwrite, and rejects bad names with exit 2', async () => {
    const out = join(tempDir(), 'k.key');
    expect((await runCli(['keygen', '--name', 'a.example/x', '--out', out])).code).toBe(0);
    const again = await runCli(['keygen', '--name', 'a.example/x', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/E_KEY: .*already exists/);
    const bad = await runCli(['keygen', '--name', 'has space', '--out', join(tempDir(), 'b.key')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/whitespace/);
    expect((await runCli(['keygen'])).code).toBe(2);
  });

  it('derives a safe default file name from the origin', () => {
    expect(defaultKeyFileName('audit.example.com/billing')).toBe('audit.example.com_billing.key');
    expect(defaultKeyFileName('../../etc/passwd')).toBe('__.._etc_passwd.key');
    expect(defaultKeyFileName('a:b\\c')).toBe('a_b_c.key');
  });
});
