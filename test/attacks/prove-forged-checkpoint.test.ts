import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Finding 7 of issue 14: `prove` picked the largest stored checkpoint without
// checking its signature, so one forged checkpoint row with a huge size
// blocked every proof (a raw Node RangeError at 2^53-1). prove and export now
// use only checkpoints signed by the keys they are given.

function forgeHugeCheckpoint(path: string): void {
  const db = attackerOpen(path);
  const size = Number.MAX_SAFE_INTEGER;
  // A well-formed note (it parses) whose signature nobody made: key ID and signature are made up.
  const sig = Buffer.concat([Buffer.alloc(4, 1), Buffer.alloc(64, 2)]).toString('base64');
  const note = `example.com/audit\n${size}\n${Buffer.alloc(32, 7).toString('base64')}\n\n— example.com/audit ${sig}\n`;
  db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)').run(size, note, Date.now());
  db.close();
}

describe('attack: a forged checkpoint row with a huge size', () => {
  it('prove ignores it and proves against the real signed checkpoint', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 30, 'real');
    forgeHugeCheckpoint(path);

    const p = await sealog([
      'prove',
      path,
      '--seq',
      '3',
      '--key-file',
      keys.vkeyFile,
      '--out',
      join(dir, 'p.json'),
    ]);
    expect(p.err).not.toMatch(/RangeError/);
    expect(p.code, p.err).toBe(0);
    const v = await sealog(['verify-proof', join(dir, 'p.json'), '--key-file', keys.vkeyFile]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/^OK: record 3 is in example\.com\/audit at tree size 30/);
    // export is not blocked either
    const e = await sealog(['export', path, '--key-file', keys.vkeyFile, '--out', join(dir, 'b.json')]);
    expect(e.code, e.err).toBe(0);
  });

  it('prove without a trusted key is a usage error', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 5, 'real');
    const p = await sealog(['prove', path, '--seq', '1']);
    expect(p.code).toBe(2);
    expect(p.err).toMatch(/--key <verifier key> or --key-file <file> is required/);
  });
});
