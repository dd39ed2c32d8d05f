import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnchorHeads, OwnKey } from '../../packages/core/src/chain/trust.js';
import { sealHead } from '../../packages/core/src/checkpoint/seal.js';
import { generateKey, parseSignerKey } from '../../packages/core/src/note/keys.js';
import { SqliteStore } from '../../packages/core/src/store/sqlite.js';
import { verifyLedger } from '../../packages/core/src/verify/verify.js';
import { tempDir } from '../helpers/tmp.js';
import { attackerOpen, rechainAll } from './harness.js';

// Issue 14, "must hold": for random ledgers and a random keyless edit (rows,
// ledger_state, checkpoint rows, ts, in any combination), either verify with the
// trusted key fails, or the writer and `sealog checkpoint` refuse to sign; never
// "OK" over changed entry bytes. Here "changed" means any of the sealed rows
// differs, is missing or moved: rows appended after them are what any writer may
// add and are not a change of sealed history. A signer may also sign its own
// derived (true) root, as long as verify then still fails on the changed file.
// The running writer has no anchor; a restarting writer (the same code as
// `sealog checkpoint`) gets the anchor file, kept where the insider cannot write.

const origin = 'example.com/prop';
const T0 = 1_767_000_000_000;
const entry = (i: number, tag = 'e') => Buffer.from(JSON.stringify({ level: 30, time: T0 + i, msg: tag, i }));

type Edit =
  | { op: 'flip'; row: number; byte: number; rechain: boolean }
  | { op: 'delete'; row: number; rechain: boolean }
  | { op: 'insert'; row: number }
  | { op: 'swap'; a: number; b: number; rechain: boolean }
  | { op: 'state'; size: number; compact: boolean }
  | { op: 'dropCheckpoints'; keep: number }
  | { op: 'resume'; which: number }
  | { op: 'ts'; row: number; ts: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), row: fc.nat(), byte: fc.nat(), rechain: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), row: fc.nat(), rechain: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), row: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat(), rechain: fc.boolean() }),
  fc.record({ op: fc.constant('state' as const), size: fc.nat(80), compact: fc.boolean() }),
  fc.record({ op: fc.constant('dropCheckpoints' as const), keep: fc.nat(4) }),
  fc.record({ op: fc.constant('resume' as const), which: fc.nat() }),
  fc.record({ op: fc.constant('ts' as const), row: fc.nat(), ts: fc.integer({ min: 0, max: 2 ** 45 }) }),
);

function apply(db: Database.Database, e: Edit, n: number): void {
  const rows = () => (db.prepare('SELECT count(*) AS c FROM records').get() as { c: number }).c;
  const at = (i: number) => i % Math.max(rows(), 1);
  switch (e.op) {
    case 'flip': {
      const r = db.prepare('SELECT entry FROM records WHERE seq = ?').get(at(e.row)) as
        | { entry: Buffer }
        | undefined;
      if (!r) return;
      const b = Buffer.from(r.entry);
      b[e.byte % b.length] = (b[e.byte % b.length]! + 1) % 256;
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(b, at(e.row));
      if (e.rechain) rechainAll(db);
      return;
    }
    case 'delete':
      db.prepare('DELETE FROM records WHERE seq = ?').run(at(e.row));
      if (e.rechain) {
        // renumber so the sequence is gap-free again, then rechain: a clean deletion
        const seqs = (db.prepare('SELECT seq FROM records ORDER BY seq').all() as { seq: number }[]).map(
          (r) => r.seq,
        );
        for (const [i, s] of seqs.entries())
          db.prepare('UPDATE records SET seq = ? WHERE seq = ?').run(-1 - i, s);
        db.prepare('UPDATE records SET seq = -1 - seq').run();
        rechainAll(db);
      }
      return;
    case 'insert': {
      const pos = e.row % (n + 1);
      db.prepare('UPDATE records SET seq = -seq - 1 WHERE seq >= ?').run(pos);
      db.prepare('UPDATE records SET seq = -seq WHERE seq < 0').run();
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, ?, ?, zeroblob(32))').run(
        pos,
        T0,
        entry(pos, 'forged'),
      );
      rechainAll(db);
      return;
    }
    case 'swap': {
      const a = db.prepare('SELECT entry FROM records WHERE seq = ?').get(at(e.a)) as
        | { entry: Buffer }
        | undefined;
      const b = db.prepare('SELECT entry FROM records WHERE seq = ?').get(at(e.b)) as
        | { entry: Buffer }
        | undefined;
      if (!a || !b) return;
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(b.entry, at(e.a));
      db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(a.entry, at(e.b));
      if (e.rechain) rechainAll(db);
      return;
    }
    case 'state':
      db.prepare(
        `UPDATE ledger_state SET size = ?${e.compact ? ', compact = randomblob(length(compact))' : ''}`,
      ).run(e.size);
      return;
    case 'dropCheckpoints':
      db.prepare(
        'DELETE FROM checkpoints WHERE id NOT IN (SELECT id FROM checkpoints ORDER BY id LIMIT ?)',
      ).run(e.keep);
      return;
    case 'resume': {
      const ids = (db.prepare('SELECT id FROM checkpoints ORDER BY id').all() as { id: number }[]).map(
        (r) => r.id,
      );
      if (ids.length === 0) return;
      db.prepare(
        'UPDATE checkpoints SET compact = randomblob(length(compact)), chain_head = randomblob(32) WHERE id = ?',
      ).run(ids[e.which % ids.length]);
      return;
    }
    case 'ts':
      db.prepare('UPDATE records SET ts = ? WHERE seq = ?').run(e.ts, at(e.row));
  }
}

/** True when any of the first n sealed rows is not byte-for-byte the original at its seq. */
function changed(path: string, n: number): boolean {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT seq, ts, entry FROM records WHERE seq < ? ORDER BY seq').all(n) as {
      seq: number;
      ts: number;
      entry: Buffer;
    }[];
    if (rows.length !== n) return true;
    return rows.some((r, i) => r.seq !== i || !r.entry.equals(entry(i)) || r.ts !== T0 + i);
  } finally {
    db.close();
  }
}

describe('property: a keyless edit never ends in "OK" over changed sealed rows', () => {
  it('verify fails, or the writer and a restarted signer refuse (or sign only what verify then rejects)', async () => {
    const key = generateKey(origin);
    const signer = parseSignerKey(key.privateKey);
    const keys = [key.verifierKey];
    const ok = (path: string) => verifyLedger(path, { keys, strict: true, threads: 0 }).ok;
    const trust = (anchor?: string) => {
      const own = new OwnKey(signer.verifierKey, origin);
      return { own, heads: anchor ? [...new AnchorHeads(own, anchor).read()] : [] };
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 2, max: 15 }),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        async (n, every, edits) => {
          const dir = tempDir();
          const path = join(dir, 'l.db');
          const anchor = join(dir, 'anchor.txt'); // outside the insider's reach
          const writer = new SqliteStore(path, { trust: trust() });
          for (let i = 0; i < n; i += every) {
            const k = Math.min(every, n - i);
            writer.append(Array.from({ length: k }, (_, j) => ({ entry: entry(i + j), ts: T0 + i + j })));
            await sealHead(writer, signer, { anchorFile: anchor });
          }
          expect(ok(path)).toBe(true);
          const db = attackerOpen(path);
          for (const e of edits) apply(db, e, n);
          db.close();
          const isChanged = changed(path, n);
          if (!isChanged) {
            writer.close();
            return;
          }
          // 1. verify with the trusted key
          expect(ok(path)).toBe(false);
          // 2. the running writer: it may refuse, or sign only its own derived root
          writer.append([{ entry: entry(n, 'after'), ts: T0 + n }]);
          try {
            await sealHead(writer, signer);
          } catch (err) {
            expect((err as { code?: string }).code).toBe('E_TAMPER');
          }
          writer.close();
          expect(ok(path)).toBe(false);
          // 3. a restarted writer / `sealog checkpoint`, given the anchor
          const copy = join(dir, 'copy.db');
          copyFileSync(path, copy);
          const restarted = new SqliteStore(copy, { trust: trust(anchor) });
          if (restarted.divergence === undefined) await sealHead(restarted, signer);
          restarted.close();
          expect(ok(copy)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });
});
