import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Finding 8 of issue 14: `verify`/`tail` on a FIFO named like the ledger
// blocked for ever in open(2) and ignored SIGTERM. Every reader now refuses a
// path (or a -wal/-shm file beside it) that is not a regular file: E_IO, exit 2.

const LIMIT = 10_000; // the harness SIGKILLs a reader still blocked after this

describe('attack: a FIFO (or directory) where the ledger is expected', () => {
  it('every reader fails fast with E_IO on a FIFO named like the ledger', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const fifo = join(dir, 'audit.db');
    execFileSync('mkfifo', [fifo]);
    const runs: [string, string[]][] = [
      ['verify', ['verify', fifo, '--key-file', keys.vkeyFile]],
      ['tail', ['tail', fifo]],
      ['query', ['query', fifo]],
      ['prove', ['prove', fifo, '--seq', '0', '--key-file', keys.vkeyFile]],
      ['export', ['export', fifo, '--key-file', keys.vkeyFile, '--out', join(dir, 'b.json')]],
      ['verify-bundle', ['verify-bundle', fifo]],
    ];
    for (const [name, args] of runs) {
      const r = await sealog(args, { timeoutMs: LIMIT });
      expect(r.signal, `${name} blocked`).toBeNull();
      expect(r.code, `${name}: ${r.err}`).toBe(2);
      expect(r.err, name).toMatch(/E_IO: .*audit\.db is not a regular file/);
    }
  });

  it('a FIFO in place of the -wal file is refused too; so is a directory', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    await sealedLedger(path, keys, 5, 'real');
    execFileSync('mkfifo', [`${path}-wal`]);
    const r = await sealog(['verify', path, '--key-file', keys.vkeyFile], { timeoutMs: LIMIT });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_IO: .*audit\.db-wal is not a regular file/);

    const d = join(dir, 'dir.db');
    mkdirSync(d);
    const t = await sealog(['tail', d], { timeoutMs: LIMIT });
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/E_IO: .*dir\.db is a directory, not a ledger file/);
  });
});
