import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markerOf } from '../packages/core/src/signer/erasure.js';
import { BIN, keygen, sealog, WriterProcess } from './attacks/harness.js';
import { rng, rowsOf, sealogKilledAfter } from './helpers/kill.js';
import { tempDir } from './helpers/tmp.js';

// Issue 18 item 4b, crash safety: `sealog erase` SIGKILLed at a random point
// (20 fixed seeds) leaves a ledger that reopens, verifies, and holds every
// record it held, each either as written or (the erased one) as its marker;
// running the command again then finishes the erasure.

const TARGET = 12;
const RECORDS = 30;

function eraseArgs(path: string, keyFile: string): string[] {
  return [BIN, 'erase', path, '--seq', String(TARGET), '--reason', 'ticket DSR-7', '--key', keyFile, '--yes'];
}

/** Runs `sealog erase` and SIGKILLs it after `delayMs` (if it is still running). */
async function eraseKilledAfter(path: string, keyFile: string, delayMs: number): Promise<void> {
  await sealogKilledAfter(eraseArgs(path, keyFile).slice(1), delayMs);
}

const rows = rowsOf;

describe('sealog erase under SIGKILL', () => {
  it('at 20 random points: the ledger verifies, loses no record, and a second run completes', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const template = join(dir, 'template.db');
    const w = new WriterProcess({ path: template, checkpoint: { keyFile: keys.keyFile, everyRecords: 10 } });
    await w.ready();
    await w.send('write', RECORDS, 'subject');
    await w.send('flush');
    expect(await w.close()).toBe(0);
    expect(existsSync(`${template}-wal`)).toBe(false); // closed: everything is in the .db file
    const before = rows(template);
    expect(before.size).toBe(RECORDS);

    // How long a whole run takes here: the kill points spread over it.
    const probe = join(dir, 'probe.db');
    copyFileSync(template, probe);
    const t0 = performance.now();
    expect((await sealog(eraseArgs(probe, keys.keyFile).slice(1))).code).toBe(0);
    const full = performance.now() - t0;

    const next = rng(18_4);
    const outcomes = { erased: 0, intact: 0 };
    for (let seed = 0; seed < 20; seed++) {
      const path = join(dir, `crash-${seed}.db`);
      copyFileSync(template, path);
      // Even seeds anywhere in the run; odd ones in its second half, where the statement
      // is appended, sealed and the bodies replaced (the first half is mostly start-up and verify).
      const at = seed % 2 === 0 ? next() * 1.2 : 0.5 + next() * 0.5;
      await eraseKilledAfter(path, keys.keyFile, Math.floor(at * full));

      const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json']);
      expect(v.code, `seed ${seed}: ${v.out}${v.err}`).toBe(0);
      const after = rows(path);
      for (const [seq, entry] of before) {
        const now = after.get(seq);
        expect(now, `seed ${seed}: row ${seq} lost`).toBeDefined();
        if (seq === TARGET && markerOf(now) !== undefined) continue;
        expect(now!.equals(entry), `seed ${seed}: row ${seq} changed`).toBe(true);
      }
      if (markerOf(after.get(TARGET)) !== undefined) outcomes.erased++;
      else outcomes.intact++;

      // Run again: it finishes what was interrupted, or says the row is already erased.
      const again = await sealog(eraseArgs(path, keys.keyFile).slice(1));
      if (again.code !== 0) expect(again.err, `seed ${seed}`).toMatch(/already erased/);
      expect(markerOf(rows(path).get(TARGET)), `seed ${seed}`).toBeDefined();
      const v2 = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--json']);
      expect(v2.code, `seed ${seed}: ${v2.out}${v2.err}`).toBe(0);
    }
    expect(outcomes.erased + outcomes.intact).toBe(20);
  }, 600_000);
});
