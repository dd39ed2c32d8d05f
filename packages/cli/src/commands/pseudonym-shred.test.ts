import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { PseudonymKey, pseudonymOf } from '../../../core/src/index.js';

function keyFile(): { file: string; text: string } {
  const text = `${randomBytes(32).toString('base64')}\n`;
  const file = join(tempDir(), 'psn.key');
  writeFileSync(file, text, { mode: 0o600 });
  return { file, text };
}

describe('sealog pseudonym shred', () => {
  it('"shred" is a subcommand only as the first word: as a value after the options it is looked up as before', async () => {
    const { file, text } = keyFile();
    const r = await runCli(['pseudonym', '--key-id', 'k1', '--key-file', file, 'shred']);
    expect(r).toMatchObject({
      code: 0,
      out: `${pseudonymOf('shred', PseudonymKey.fromText('k1', text, 't'))}\n`,
    });
    expect(readFileSync(file, 'utf8')).toBe(text);
    // As the first word without --yes it destroys nothing and says how to look the value up instead.
    const first = await runCli(['pseudonym', 'shred', '--key-id', 'k1', '--key-file', file]);
    expect(first.code).toBe(2);
    expect(first.err).toContain('echo shred | sealog pseudonym -');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('checks the reason and opens the ledger before destroying anything', async () => {
    const { file, text } = keyFile();
    const args = ['pseudonym', 'shred', '--key-id', 'k1', '--key-file', file, '--yes'];
    const pii = await runCli([...args, '--reason', 'erasure request of alice@example.com']);
    expect(pii.code).toBe(2);
    expect(pii.err).toMatch(/E_CONFIG: --reason holds what looks like personal data or a secret \(email\)/);
    expect(pii.err).not.toContain('alice');
    const long = await runCli([...args, '--reason', 'x'.repeat(201)]);
    expect(long.err).toMatch(/--reason must be 1 to 200 characters, got 201/);
    const notLedger = join(tempDir(), 'notes.txt');
    writeFileSync(notLedger, 'not a ledger\n');
    const bad = await runCli([...args, '--ledger', notLedger]);
    expect(bad.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect((await runCli([...args, 'extra'])).err).toMatch(/shred takes no value/);
    // All clear: destroyed, tombstone on stdout, the advice on stderr.
    const ok = await runCli(args);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^SHREDDED sealog-pseudonym-key k1 \S+Z\n$/);
    expect(ok.err).toMatch(/Restart every process that loaded it/);
    expect(readFileSync(file, 'utf8')).toBe(ok.out);
  });
});
