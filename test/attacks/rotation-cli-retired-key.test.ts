import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, sealog } from './harness.js';
import { sealedLedger } from './trust-helpers.js';

// Issue 17 red team: `sealog key rotate` run with a key that already handed
// over (an old key file left in place, or a copy of it) must sign nothing:
// a second hand-over is a fork, and its seal a retired-key checkpoint.

const O = 'example.com/audit';

describe('key rotate with a retired key', () => {
  it('refuses, and leaves the ledger as it was', async () => {
    const dir = tempDir();
    const k0 = await keygen(dir, O, 'k0');
    const k1 = await keygen(dir, O, 'k1');
    const k2 = await keygen(dir, O, 'k2');
    const path = join(dir, 'audit.db');
    await sealedLedger(path, k0, 20, 'k0');
    expect((await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k1.keyFile])).code).toBe(
      0,
    );
    await sealedLedger(path, k1, 10, 'k1');
    const count = () => {
      const db = attackerOpen(path);
      const n = db
        .prepare('SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM checkpoints) AS n')
        .get() as {
        n: number;
      };
      db.close();
      return n.n;
    };
    const before = count();
    const again = await sealog(['key', 'rotate', path, '--key', k0.keyFile, '--new-key', k2.keyFile]);
    const v = await sealog(['verify', path, '--json', '--key', k0.vkeys[0]!]);
    expect(again.code, `${again.err}\nverify after: ${v.out}`).not.toBe(0);
    expect(count()).toBe(before);
    expect(v.code).toBe(0);
  }, 60_000);
});
