import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, type Keys, keygen, rewriteRow, sealog, WriterProcess } from './harness.js';

// Finding 2 of issue 14: `sealog checkpoint`, run by the operator on a file the
// insider prepared, signed whatever ledger_state claimed. Replacing only
// ledger_state.compact got the real key to sign a root of the insider's choice:
// the compact range of a forged ledger, which then verified with the real key.

async function ledger(dir: string, name: string, tag: string, keys?: Keys, anchor?: string): Promise<string> {
  const path = join(dir, name);
  const checkpoint = keys
    ? { keyFile: keys.keyFile, everyRecords: 10, ...(anchor ? { anchorFile: anchor } : {}) }
    : undefined;
  const w = new WriterProcess(checkpoint ? { path, checkpoint } : { path });
  await w.ready();
  await w.send('write', 40, tag);
  await w.send('flush');
  expect(await w.close()).toBe(0);
  return path;
}

const verify = (path: string, keys: Keys) =>
  sealog(['verify', path, ...keys.vkeys.flatMap((k) => ['--key', k]), '--strict', '--json']);

describe('attack: sealog checkpoint as a signing oracle', () => {
  it('a forged compact range in ledger_state does not get the real key to sign the forged root', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const real = await ledger(dir, 'real.db', 'real', keys);
    const forged = await ledger(dir, 'forged.db', 'forged'); // built offline, same size
    // the insider copies only the forged tree's compact range into the real ledger's
    // state row (same size; size and chain head are what the old open checked)
    const f = new Database(forged, { readonly: true });
    const st = f.prepare('SELECT compact FROM ledger_state').get() as { compact: Buffer };
    f.close();
    const db = attackerOpen(real);
    db.prepare('UPDATE ledger_state SET compact = ? WHERE id = 0').run(st.compact);
    db.close();
    // the operator seals
    const cp = await sealog(['checkpoint', real, '--key', keys.keyFile]);
    expect(cp.code).toBe(0);
    // ...and the insider moves that newest signed checkpoint into the forged ledger
    const fdb = attackerOpen(forged);
    fdb.exec(
      `ATTACH '${real}' AS r; INSERT INTO main.checkpoints (size, note, created_at) SELECT size, note, created_at FROM r.checkpoints ORDER BY id DESC LIMIT 1;`,
    );
    fdb.close();
    // the key signed the real root: the forged ledger does not verify; in the real one
    // every checkpoint is valid and only the edited state row is reported
    const v = await verify(forged, keys);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.out).ok).toBe(false);
    const r = JSON.parse((await verify(real, keys)).out) as { findings: { kind: string }[] };
    expect(r.findings.map((f) => f.kind)).toEqual(['state-mismatch']);
  });

  it('an offline consistent rewrite of sealed history is refused, with the finding', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const path = await ledger(dir, 'l.db', 'real', keys);
    const db = attackerOpen(path);
    rewriteRow(db, 7, Buffer.from('{"level":30,"msg":"nothing happened"}'));
    db.close();
    const cp = await sealog(['checkpoint', path, '--key', keys.keyFile]);
    expect(cp.code).toBe(1);
    expect(cp.err).toMatch(/E_TAMPER/);
    expect(cp.out).toBe(''); // no note signed
    const v = await verify(path, keys);
    expect(v.code).toBe(1);
  });

  it('with every checkpoint row deleted, the anchor file given to checkpoint still refuses a rewrite', async () => {
    const dir = tempDir();
    const keys = await keygen(dir);
    const anchor = join(dir, 'anchor.txt');
    const path = await ledger(dir, 'l.db', 'real', keys, anchor);
    const db = attackerOpen(path);
    rewriteRow(db, 3, Buffer.from('{"level":30,"msg":"nothing happened"}'));
    db.exec('DELETE FROM checkpoints');
    db.close();
    const before = join(dir, 'before.db');
    copyFileSync(path, before);
    const cp = await sealog(['checkpoint', path, '--key', keys.keyFile, '--anchor', anchor]);
    expect(cp.code).toBe(1);
    expect(cp.err).toMatch(/anchor file.*size 40.*root differs/s);
    // and verify against the anchor file catches it too
    const v = await sealog([
      'verify',
      path,
      ...keys.vkeys.flatMap((k) => ['--key', k]),
      '--checkpoint',
      anchor,
      '--json',
    ]);
    expect(v.code).toBe(1);
  });
});
