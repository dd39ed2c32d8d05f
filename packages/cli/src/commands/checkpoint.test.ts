import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import {
  generateKey,
  Ledger,
  LedgerReader,
  leafHash,
  openCheckpoint,
  rootFromLeaves,
  splitAnchorNotes,
  writeKeyFile,
} from '../../../core/src/index.js';

async function setup(name = 'audit.example/log') {
  const dir = tempDir();
  const path = join(dir, 'a.db');
  const ledger = Ledger.open({ path });
  for (let i = 0; i < 3; i++) ledger.write({ i });
  await ledger.close();
  const key = generateKey(name);
  const keyFile = join(dir, 'k.key');
  writeKeyFile(keyFile, key.privateKey);
  return { dir, path, keyFile, vkeys: [key.verifierKey, key.cosignerVerifierKey] };
}

describe('sealog checkpoint', () => {
  it('signs the committed head, stores it, appends it to the anchor and prints it', async () => {
    const { dir, path, keyFile, vkeys } = await setup();
    const anchor = join(dir, 'anchor.txt');
    const r = await runCli(['checkpoint', path, '--key', keyFile, '--anchor', anchor]);
    expect(r.code).toBe(0);
    const opened = openCheckpoint(r.out, vkeys, { origin: 'audit.example/log' });
    expect(opened.checkpoint.size).toBe(3);
    expect(typeof opened.time).toBe('number');
    const reader = new LedgerReader(path);
    const leaves = [...reader.records()].map((x) => leafHash(x.entry));
    const stored = reader.checkpoints();
    reader.close();
    expect(Buffer.from(opened.checkpoint.root)).toEqual(Buffer.from(rootFromLeaves(leaves)));
    expect(stored.map((c) => c.note)).toEqual([r.out]);
    expect(splitAnchorNotes(readFileSync(anchor, 'utf8'))).toEqual([r.out]);
  });

  it('exits 2 for a missing ledger (without creating it), a missing key, and a key of another origin', async () => {
    const { dir, path, keyFile } = await setup();
    const missing = await runCli(['checkpoint', join(dir, 'nope.db'), '--key', keyFile]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/does not exist/);
    expect((await runCli(['checkpoint', path])).code).toBe(2);
    expect((await runCli(['checkpoint', path, '--key', join(dir, 'none.key')])).code).toBe(2);
    expect((await runCli(['checkpoint', path, '--key', keyFile])).code).toBe(0);
    const other = generateKey('other.example/log');
    const otherFile = join(dir, 'other.key');
    writeKeyFile(otherFile, other.privateKey);
    const mixed = await runCli(['checkpoint', path, '--key', otherFile]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/E_KEY: .*audit\.example\/log/);
  });
});
