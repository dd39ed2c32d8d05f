import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, verifyLedger } from '../../packages/core/src/index.js';
import { startBin } from '../helpers/bin.js';
import { tempDir } from '../helpers/tmp.js';
import { findingKinds, makeKey, runBin, SLOW, startWriter, upTo } from './harness.js';

// Readers on a file under heavy writes: `sealog tail -f` (the real binary)
// must print every record exactly once and in order, and `sealog verify` on
// the live file must always be consistent: exit 0, at most an unsealed tail,
// never a false tamper finding (it reads one snapshot).

const COUNT = SLOW ? 500_000 : 50_000;

describe('readers during heavy writes', () => {
  it(
    'tail -f sees every record once, in order; verify on the live file never reports tampering',
    async () => {
      const dir = tempDir();
      const path = join(dir, 'live.db');
      const key = makeKey(dir);
      Ledger.open({ path }).close();

      // -n COUNT: whatever the writer committed before tail opened the file is printed first,
      // so the start-up race cannot hide records, and the hand-over to following is tested too.
      const tail = startBin(['tail', path, '-f', '-n', String(COUNT), '--json']);

      const w = startWriter({
        path,
        count: COUNT,
        seed: 3,
        maxBatch: 200,
        keyFile: key.keyFile,
        anchorFile: key.anchorFile,
        everyRecords: 500,
        everyMs: 20,
      });
      let running = true;
      const exited = w.exited.then((e) => {
        running = false;
        return e;
      });
      let verifies = 0;
      let duringWrites = 0;
      while (running || verifies < 2) {
        const anchor = existsSync(key.anchorFile) ? ['--checkpoint', key.anchorFile] : [];
        const cli = await runBin(['verify', path, '--key', key.vkey, ...anchor, '--json']);
        const r = JSON.parse(cli.out);
        // Records committed before the first checkpoint landed are not proven
        // yet: that (no-checkpoint, exit 1) is the only failure a live read may see.
        const sealing = (k: string) => k === 'unsealed' || k === 'no-checkpoint';
        expect(cli.code, cli.out + cli.err).toBe(findingKinds(r).includes('no-checkpoint') ? 1 : 0);
        expect(findingKinds(r).filter((k) => !sealing(k))).toEqual([]);
        const inProcess = verifyLedger(path, { keys: [key.vkey] });
        expect(findingKinds(inProcess).filter((k) => !sealing(k))).toEqual([]);
        verifies += 2;
        if (running) duringWrites++;
      }
      const e = await exited;
      expect(e.code, e.stderr).toBe(0);
      // Verify really overlapped the writes (else this proves nothing about live files).
      expect(duringWrites).toBeGreaterThan(0);

      // tail -f catches up (on a loaded CI box it may trail by seconds: wait while it
      // is still making progress), then stops on SIGINT.
      const lines = () => tail.out.split('\n').length - 1;
      let seen = lines();
      let idleSince = Date.now();
      while (lines() < COUNT && Date.now() - idleSince < 15_000) {
        await new Promise((r) => setTimeout(r, 200));
        if (lines() > seen) {
          seen = lines();
          idleSince = Date.now();
        }
      }
      tail.child.kill('SIGINT');
      expect(await tail.exited, tail.err).toBe(0);
      const ns = tail.out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { n: number }).n);
      // Whatever was printed is an in-order prefix (nothing skipped or repeated), and it is all of it.
      expect(ns).toEqual(upTo(ns.length));
      expect(ns.length).toBe(COUNT);
    },
    SLOW ? 900_000 : 150_000,
  );
});
