import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSegments, segmentAnchorFile } from '../../packages/core/src/segments/layout.js';
import { makeKey, runBin } from '../faults/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { checkSegments, recordsOf, startSegWriter } from './harness.js';

// Two processes write one segmented ledger at once, with segments small enough
// that it rotates about every 300 records: one through openSink (what both
// transports use), one through the @sealog/pino transport in pino's worker
// thread. Both sign. Afterwards every record is in exactly one segment, every
// segment verifies on its own (`sealog verify <segment> --key-file`), and each
// segment's binding names the previous segment's size and root as verify
// computed them.

const N = 2000;

describe('two writer processes rotating one segmented ledger', () => {
  it('lose and duplicate nothing across rotations; every segment verifies and binds the previous', async () => {
    const dir = tempDir();
    const ledger = join(dir, 'audit');
    const key = makeKey(dir);
    const vkeys = join(dir, 'audit.vkeys');
    writeFileSync(vkeys, `${key.vkey}\n`);
    const common = {
      dir: ledger,
      count: N,
      maxBytes: 128 * 1024,
      keyFile: key.keyFile,
      anchorFile: key.anchorFile,
      everyRecords: 200,
      pad: 120,
      goFile: join(dir, 'go'),
      paceMs: 5,
    };
    const a = startSegWriter({ ...common, id: 'a', seed: 1, maxBatch: 40 });
    const b = startSegWriter({ ...common, id: 'b', via: 'pino' });
    // Both open first, then both write at once (a child that dies before opening ends the wait).
    const opened = (w: typeof a) => Promise.race([w.ready.then(() => true), w.exited.then(() => false)]);
    expect(await Promise.all([opened(a), opened(b)])).toEqual([true, true]);
    writeFileSync(join(dir, 'go'), '');
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea.code, ea.stderr).toBe(0);
    expect(eb.code, eb.stderr).toBe(0);
    expect(ea.stderr + eb.stderr).toBe('');

    const slots = listSegments(ledger).slots;
    expect(slots.length).toBeGreaterThanOrEqual(4);
    const records = recordsOf(ledger);
    for (const w of ['a', 'b']) {
      const ns = records.filter((r) => r.w === w).map((r) => r.n);
      // Each writer's records in its own order, each exactly once.
      expect(ns, `writer ${w}`).toEqual(Array.from({ length: N }, (_, i) => i));
    }
    // Rotations happened while both wrote: segments holding records of both writers, several of them.
    const shared = slots.filter(
      (s) => new Set(records.filter((r) => r.segment === s.index).map((r) => r.w)).size === 2,
    );

    expect(shared.length).toBeGreaterThanOrEqual(2);

    expect(checkSegments(ledger, [key.vkey], key.anchorFile)).toEqual([]);
    for (const slot of slots) {
      const anchor = segmentAnchorFile(key.anchorFile, slot.index);
      const r = await runBin(['verify', slot.file!, '--key-file', vkeys, '--checkpoint', anchor, '--strict']);
      expect(r.code, `${slot.file}: ${r.out}${r.err}`).toBe(0);
    }
    // One anchor binding for the directory; one anchor file per segment beside it.
    expect(readFileSync(`${key.anchorFile}.ledger`, 'utf8')).toMatch(/audit/);
  });
});
