import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { PINO_MAIN, PINO_TARGET, runNode, WINSTON_DIST, WINSTON_MAIN } from '../transport-helpers.js';
import { keygen, sealog } from './harness.js';

// Finding 11 of issue 14: one checkpoint options object given to the pino and the
// winston transport of one app (same key, origin and anchor file, two ledgers).
// Before the fix both started, both sealed into one anchor file, and a later
// verify against it raised a false tamper alarm. Now the second is refused at
// startup with a message that says what to change, and the first stays intact.

describe('attack (misuse): two ledgers share one anchor file and key', () => {
  it('the second transport is refused at startup, naming the fix; the first verifies', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const r = await runNode(join(import.meta.dirname, 'fixtures', 'two-transports.mjs'), [
      dir,
      PINO_TARGET,
      WINSTON_DIST,
      PINO_MAIN,
      WINSTON_MAIN,
    ]);
    expect(r.stdout, r.stderr).toContain('done');
    expect(r.stderr).toMatch(/E_CONFIG: checkpoint\.anchorFile .*anchor\.txt already seals another ledger/);
    expect(r.stderr).toMatch(/one origin per ledger/);
    const key = keys.vkeys.flatMap((k) => ['--key', k]);
    const anchor = join(dir, 'anchor.txt');
    const v = await sealog(['verify', join(dir, 'pino.db'), ...key, '--checkpoint', anchor, '--strict']);
    expect(v.code).toBe(0);
  });
});
