import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { appendAnchor } from '../checkpoint/anchor.js';
import { sealHead } from '../checkpoint/seal.js';
import { signCheckpoint } from '../checkpoint/signed.js';
import { chainHash, leafHash } from '../hash.js';
import { generateKey, parseSignerKey } from '../note/keys.js';
import { SqliteStore } from '../store/sqlite.js';
import type { WriterTrust } from '../store/types.js';
import { MAX_MISMATCHED_CHECKPOINTS } from './derive.js';
import { ChainState } from './state.js';
import { AnchorHeads, OwnKey } from './trust.js';

// The writer's derivation (issue 14, "derive, never adopt"): what a signing store
// reports as its head is computed from entry bytes it hashed, from a start its
// own key signed, whatever the file's ledger_state, checkpoint rows or chain say.

const origin = 'example.com/derive';
const entry = (i: number) => Buffer.from(JSON.stringify({ msg: 'event', i }));

function setup() {
  const dir = tempDir();
  const key = generateKey(origin);
  const signer = parseSignerKey(key.privateKey);
  const path = join(dir, 'l.db');
  const anchor = join(dir, 'anchor.txt');
  const trust = (anchorFile?: string): WriterTrust & { diverged: unknown[] } => {
    const own = new OwnKey(signer.verifierKey, origin);
    const diverged: unknown[] = [];
    return {
      own,
      heads: anchorFile ? [...new AnchorHeads(own, anchorFile).read()] : [],
      onDiverge: (e) => diverged.push(e),
      diverged,
    };
  };
  /** Root of entries 0..n-1 computed from scratch. */
  const honest = (n: number, e = entry) => {
    const s = new ChainState();
    for (let i = 0; i < n; i++) s.append(e(i));
    return s;
  };
  const write = (store: SqliteStore, from: number, n: number) =>
    store.append(Array.from({ length: n }, (_, k) => ({ entry: entry(from + k), ts: from + k })));
  return { dir, signer, path, anchor, trust, honest, write };
}

/** The attacker: triggers off, one row's entry replaced, chain and ledger_state recomputed. */
function rewrite(path: string, seq: number, bytes: Buffer): void {
  const db = new Database(path);
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type='trigger'").all() as {
    name: string;
  }[])
    db.exec(`DROP TRIGGER "${name}"`);
  db.prepare('UPDATE records SET entry = ? WHERE seq = ?').run(bytes, seq);
  const s = new ChainState();
  for (const r of db.prepare('SELECT seq, entry FROM records ORDER BY seq').all() as {
    seq: number;
    entry: Buffer;
  }[]) {
    db.prepare('UPDATE records SET chain = ? WHERE seq = ?').run(s.append(r.entry), r.seq);
  }
  db.prepare('UPDATE ledger_state SET size = ?, chain_head = ?, compact = ? WHERE id = 0').run(
    s.size,
    s.chainHead,
    s.encodeCompact(),
  );
  db.close();
}

describe('a signing store derives its head', () => {
  it('resumes from its newest own checkpoint and ignores a forged ledger_state', async () => {
    const t = setup();
    const a = new SqliteStore(t.path, { trust: t.trust() });
    t.write(a, 0, 50);
    await sealHead(a, t.signer);
    t.write(a, 50, 7);
    a.close();
    // ledger_state.compact replaced with arbitrary bytes of the right length (finding 2)
    const db = new Database(t.path);
    db.prepare('UPDATE ledger_state SET compact = randomblob(length(compact))').run();
    db.close();
    const b = new SqliteStore(t.path, { trust: t.trust() });
    expect(b.head().root).toEqual(t.honest(57).root());
    expect(b.divergence).toBeUndefined();
    b.close();
  });

  it('a forged resume row (compact not hashing to the signed root) is skipped, not trusted', async () => {
    const t = setup();
    const a = new SqliteStore(t.path, { trust: t.trust() });
    t.write(a, 0, 20);
    await sealHead(a, t.signer);
    a.close();
    const db = new Database(t.path);
    db.exec('DROP TRIGGER checkpoints_no_update');
    db.prepare('UPDATE checkpoints SET compact = randomblob(length(compact))').run();
    db.close();
    const b = new SqliteStore(t.path, { trust: t.trust() });
    expect(b.head().root).toEqual(t.honest(20).root());
    b.close();
  });

  it('a running writer finds a consistent rewrite of history it sealed and signs nothing after', async () => {
    const t = setup();
    const tr = t.trust();
    const a = new SqliteStore(t.path, { trust: tr });
    t.write(a, 0, 30);
    await sealHead(a, t.signer);
    rewrite(t.path, 5, Buffer.from('{"msg":"forged"}'));
    t.write(a, 30, 10); // records are still stored...
    expect(tr.diverged).toHaveLength(1);
    expect(() => a.head()).toThrow(/E_TAMPER|rewritten|recomputed|chain/);
    await expect(sealHead(a, t.signer)).rejects.toMatchObject({ code: 'E_TAMPER' });
    const rows = new Database(t.path, { readonly: true })
      .prepare('SELECT count(*) AS n FROM records')
      .get() as { n: number };
    expect(rows.n).toBe(40); // ...none lost
    a.close();
  });

  it('a restarted writer finds the rewrite against its own newer checkpoint row', async () => {
    const t = setup();
    const a = new SqliteStore(t.path, { trust: t.trust() });
    t.write(a, 0, 10);
    await sealHead(a, t.signer);
    t.write(a, 10, 10);
    await sealHead(a, t.signer);
    a.close();
    // rewrite below the newest checkpoint, and remove the newest resume state so the
    // writer starts at 10: the checkpoint at 20 must then come out of the rows again
    rewrite(t.path, 15, Buffer.from('{"msg":"forged"}'));
    const db = new Database(t.path);
    db.exec('DROP TRIGGER IF EXISTS checkpoints_no_update');
    db.prepare('UPDATE checkpoints SET compact = NULL WHERE size = 20').run();
    db.close();
    const tr = t.trust();
    const b = new SqliteStore(t.path, { trust: tr });
    expect(tr.diverged).toHaveLength(1);
    expect(String((tr.diverged[0] as Error).message)).toMatch(/size 20/);
    expect(() => b.head()).toThrow();
    b.close();
  });

  it('with every checkpoint row dropped, the anchor file still catches a rewrite and a rollback', async () => {
    const t = setup();
    const a = new SqliteStore(t.path, { trust: t.trust() });
    t.write(a, 0, 25);
    const seal = await sealHead(a, t.signer, { anchorFile: t.anchor });
    expect(seal?.size).toBe(25);
    a.close();
    rewrite(t.path, 3, Buffer.from('{"msg":"forged"}'));
    const db = new Database(t.path);
    db.exec('DELETE FROM checkpoints');
    db.close();
    const tr = t.trust(t.anchor);
    const b = new SqliteStore(t.path, { trust: tr });
    expect(String((tr.diverged[0] as Error).message)).toMatch(/anchor file.*size 25.*root differs/);
    b.close();
    // and a rollback: rows cut below the anchored size
    const db2 = new Database(t.path);
    db2.exec('DELETE FROM records WHERE seq >= 20');
    db2.close();
    const tr2 = t.trust(t.anchor);
    new SqliteStore(t.path, { trust: tr2 }).close();
    expect(String((tr2.diverged[0] as Error).message)).toMatch(/size 25.*only 20 records/);
  });

  it('rows another process appended are hashed before they are signed; a bad link is refused', async () => {
    const t = setup();
    const tr = t.trust();
    const a = new SqliteStore(t.path, { trust: tr });
    const other = new SqliteStore(t.path); // a second writer process, no key
    t.write(a, 0, 5);
    t.write(other, 5, 5);
    expect((await sealHead(a, t.signer))?.size).toBe(10);
    expect(a.head().root).toEqual(t.honest(10).root());
    // an inserted row that does not chain on the previous one
    const db = new Database(t.path);
    db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (10, 0, ?, ?)').run(
      Buffer.from('{"x":1}'),
      chainHash(Buffer.alloc(32, 7), leafHash(Buffer.from('{"x":1}'))),
    );
    db.close();
    t.write(a, 11, 1);
    expect(tr.diverged).toHaveLength(1);
    expect(() => a.head()).toThrow(/row 10/);
    other.close();
    a.close();
  });

  it('forged checkpoint rows cannot crowd out the real ones: past the bound, it refuses', async () => {
    const t = setup();
    const a = new SqliteStore(t.path, { trust: t.trust() });
    t.write(a, 0, 10);
    await sealHead(a, t.signer);
    a.close();
    const mallory = parseSignerKey(generateKey(origin).privateKey);
    const db = new Database(t.path);
    const ins = db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, 0)');
    db.transaction(() => {
      for (let i = 0; i <= MAX_MISMATCHED_CHECKPOINTS; i++) {
        ins.run(10, signCheckpoint({ origin, size: 10, root: Buffer.alloc(32, i % 251) }, mallory, 1));
      }
    })();
    db.close();
    const tr = t.trust();
    new SqliteStore(t.path, { trust: tr }).close();
    expect(String((tr.diverged[0] as Error).message)).toMatch(/more than 1000 stored checkpoints disagree/);
  });

  it('appendAnchor notes of another key or origin are not heads of this writer', () => {
    const t = setup();
    const other = parseSignerKey(generateKey('example.com/other').privateKey);
    appendAnchor(
      t.anchor,
      signCheckpoint({ origin: 'example.com/other', size: 5, root: Buffer.alloc(32) }, other, 1),
    );
    expect(t.trust(t.anchor).heads).toEqual([]);
  });

  it('after a divergence on a file with a seq gap, records still go in after the highest seq', async () => {
    const t = setup();
    const tr = t.trust();
    const a = new SqliteStore(t.path, { trust: tr });
    t.write(a, 0, 3);
    await sealHead(a, t.signer);
    // the property test's counterexample: row 0 deleted, rows shifted up by one, a row inserted at 0
    const db = new Database(t.path);
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type='trigger'").all() as {
      name: string;
    }[])
      db.exec(`DROP TRIGGER "${name}"`);
    db.exec(
      'DELETE FROM records WHERE seq = 0; UPDATE records SET seq = -seq - 1; UPDATE records SET seq = -seq;',
    );
    db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (0, 0, ?, zeroblob(32))').run(entry(99));
    db.close();
    t.write(a, 3, 2); // used to fail forever: UNIQUE constraint on seq
    expect(tr.diverged).toHaveLength(1);
    const seqs = (
      new Database(t.path, { readonly: true }).prepare('SELECT seq FROM records ORDER BY seq').all() as {
        seq: number;
      }[]
    ).map((r) => r.seq);
    expect(seqs).toEqual([0, 2, 3, 4, 5]);
    a.close();
  });

  it('a planted seq of 2^53 or 2^63-1 cannot make every later append collide', async () => {
    for (const huge of [2n ** 53n, 2n ** 63n - 1n]) {
      const t = setup();
      const tr = t.trust();
      const a = new SqliteStore(t.path, { trust: tr });
      const keyless = new SqliteStore(t.path);
      t.write(a, 0, 3);
      const db = new Database(t.path);
      db.defaultSafeIntegers(true);
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (?, 0, ?, zeroblob(32))').run(
        huge,
        entry(9),
      );
      db.close();
      t.write(a, 3, 5); // both append, neither collides
      t.write(keyless, 8, 5);
      expect(tr.diverged).toHaveLength(1);
      const count = new Database(t.path, { readonly: true })
        .prepare('SELECT count(*) AS n FROM records')
        .get() as {
        n: number;
      };
      expect(count.n).toBe(3 + 1 + 5 + 5);
      keyless.close();
      a.close();
    }
  });

  it('an anchor file that cannot be read does not stop records being committed', async () => {
    const t = setup();
    appendAnchor(t.anchor, 'placeholder\n');
    const tr = t.trust(t.anchor);
    const own = tr.own;
    const a = new SqliteStore(t.path, { trust: { ...tr, anchor: new AnchorHeads(own, t.anchor) } });
    t.write(a, 0, 3);
    rmSync(t.anchor);
    mkdirSync(t.anchor); // now a directory: reading it fails with E_IO
    t.write(a, 3, 3); // still committed
    expect(a.head().size).toBe(6);
    await expect(sealHead(a, t.signer, { anchorFile: t.anchor })).rejects.toMatchObject({ code: 'E_IO' });
    a.close();
  });
});
