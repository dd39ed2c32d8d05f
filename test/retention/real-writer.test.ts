import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSegments, segmentAnchorFile } from '../../packages/core/src/segments/layout.js';
import { sealog } from '../attacks/harness.js';
import { makeKey } from '../faults/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { startSegWriter } from '../segments/harness.js';

// The segment directory the real rotating writer (a sink with `segments`) leaves
// verifies as one history, and prunes and verifies again.

describe('a directory written by the rotating writer', () => {
  it('verifies with its newest anchor, prunes, and verifies again', async () => {
    const dir = tempDir();
    const ledger = join(dir, 'audit');
    const key = makeKey(dir);
    const vkeys = join(dir, 'audit.vkeys');
    writeFileSync(vkeys, `${key.vkey}\n`);
    const w = startSegWriter({
      dir: ledger,
      id: 'a',
      count: 1500,
      maxBytes: 64 * 1024,
      keyFile: key.keyFile,
      anchorFile: key.anchorFile,
      everyRecords: 100,
      pad: 120,
    });
    const e = await w.exited;
    expect(e.code, e.stderr).toBe(0);
    const slots = listSegments(ledger).slots;
    expect(slots.length).toBeGreaterThanOrEqual(4);
    const anchor = segmentAnchorFile(key.anchorFile, slots.at(-1)!.index);
    expect(existsSync(anchor)).toBe(true);
    const v = await sealog(['verify', ledger, '--key-file', vkeys, '--checkpoint', anchor, '--strict']);
    expect(v.code, v.out).toBe(0);

    const p = await sealog([
      'prune',
      ledger,
      '--before',
      'now',
      '--reason',
      'RET-9',
      '--key',
      key.keyFile,
      '--yes',
    ]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/^pruned segment 1 /);
    const after = await sealog(['verify', ledger, '--key-file', vkeys, '--checkpoint', anchor, '--json']);
    const report = JSON.parse(after.out) as { ok: boolean; findings: unknown[]; pruned: unknown[] };
    expect(report.findings).toEqual([]);
    expect(after.code).toBe(0);
    expect(report.pruned.length).toBe(slots.length - 1);
  });
});
