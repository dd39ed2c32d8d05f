import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, keygen, rechainAll, sealog, WriterProcess } from './harness.js';

// Found by a red-team review of the issue-14 fix: a running writer hashed the rows
// another writer appended and checked only that they chained onto its own state,
// never that they matched what the other writer had already sealed and anchored.
// So an insider rewrote rows another process sealed (deleting that checkpoint
// row), and the running writer re-sealed the rewrite with the real key; verify
// --strict then said OK. Now a writer extending over foreign rows checks them
// against every head its key signed above its state, re-reading the anchor file.

async function scenario(otherSealer: 'writer' | 'cli', edit: 'rewrite' | 'cut' = 'rewrite') {
  const dir = tempDir();
  const keys = await keygen(dir);
  const path = join(dir, 'audit.db');
  const anchor = join(dir, 'anchor.txt'); // where the insider cannot write
  const checkpoint = { keyFile: keys.keyFile, anchorFile: anchor, everyRecords: 100_000, everyMs: 600_000 };
  const a = new WriterProcess({ path, checkpoint });
  await a.ready();
  await a.send('write', 100, 'a');
  await a.send('flush');
  // another process appends rows 100..199, and they are sealed at 200 and anchored
  const b = new WriterProcess(otherSealer === 'writer' ? { path, checkpoint } : { path });
  await b.ready();
  await b.send('write', 100, 'b');
  await b.send('flush');
  expect(await b.close()).toBe(0);
  if (otherSealer === 'cli') {
    const cp = await sealog(['checkpoint', path, '--key', keys.keyFile, '--anchor', anchor]);
    expect(cp.code, cp.err).toBe(0);
  }
  // the insider rewrites (or cuts off) the sealed rows 100..199 and drops the checkpoint row at 200
  const db = attackerOpen(path);
  for (let seq = 100; seq < 200; seq++) {
    if (edit === 'cut') db.prepare('DELETE FROM records WHERE seq = ?').run(seq);
    else
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(
        Buffer.from(`{"msg":"forged","i":${seq}}`),
        seq,
      );
  }
  rechainAll(db);
  db.exec('DELETE FROM checkpoints WHERE size = 200');
  db.close();
  // the running writer goes on
  await a.send('write', 10, 'a2');
  await a.send('flush');
  expect(await a.close()).toBe(0);
  return { a, path, keys };
}

describe('attack: rewrite rows another writer sealed, then let the running writer re-seal them', () => {
  for (const other of ['writer', 'cli'] as const) {
    it(`sealed by another ${other === 'writer' ? 'signing writer' : '`sealog checkpoint`'}: refused, and verify fails`, async () => {
      const { a, path, keys } = await scenario(other);
      expect(a.err).toMatch(/^error E_TAMPER .*anchor file.*size 200.*root differs/m);
      const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--strict', '--json']);
      expect(v.code).toBe(1);
    });
  }

  // Round two of the review: the same rows cut off instead of rewritten, so no foreign
  // row is left to hash; the heads the key signed above the writer's size still count.
  it('cut off instead of rewritten: refused too (a head the key signed lies beyond the rows)', async () => {
    const { a, path, keys } = await scenario('writer', 'cut');
    expect(a.err).toMatch(/^error E_TAMPER .*size 200, but the ledger has only 100 records/m);
    const v = await sealog(['verify', path, '--key-file', keys.vkeyFile, '--strict', '--json']);
    expect(v.code).toBe(1);
  });
});
