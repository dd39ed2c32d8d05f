import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, rewriteRow, sealog, WriterProcess } from './harness.js';

// Finding 1 of issue 14: while a writer runs, a file-only insider rewrites a
// middle row, recomputes the chain and ledger_state, and deletes the
// checkpoint rows. Before the fix the writer adopted the rewritten state on its
// next commit and sealed it with the real key, and verify --strict said intact.

describe('attack: a running writer is fed a consistently rewritten ledger', () => {
  it('the writer refuses to seal it and verify with the real key fails', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = join(dir, 'audit.db');
    const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 10 } });
    await w.ready();
    await w.send('write', 30, 'before');
    await w.send('flush');
    // the insider, while the writer runs
    const db = attackerOpen(path);
    const forged = Buffer.from('{"level":30,"msg":"nothing happened","tag":"forged"}');
    rewriteRow(db, 5, forged);
    db.exec('DELETE FROM checkpoints');
    db.close();
    await w.send('write', 30, 'after');
    await w.send('flush');
    expect(await w.close()).toBe(0);

    // the writer said so, loudly, with the finding, once (not again at every refused seal)
    expect(w.err.match(/^error E_TAMPER .*row \d+/gm)).toHaveLength(1);
    // and verify with the real key fails
    const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--strict', '--json']);
    expect(v.code).toBe(1);
    const report = JSON.parse(v.out) as { ok: boolean; findings: { kind: string; row?: number }[] };
    expect(report.ok).toBe(false);
  });
});
