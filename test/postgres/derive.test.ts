// A signing PgStore derives what it signs (issue 14): against a real server, a
// superuser's consistent rewrite of sealed history, a forged compact range in
// ledger_state and a second writer's rows are handled as on SQLite.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainState } from '../../packages/core/src/chain/state.js';
import { AnchorHeads, OwnKey } from '../../packages/core/src/chain/trust.js';
import { sealHead } from '../../packages/core/src/checkpoint/seal.js';
import { signCheckpoint } from '../../packages/core/src/checkpoint/signed.js';
import { generateKey, type PendingEntry, parseSignerKey } from '../../packages/core/src/index.js';
import { PgStore } from '../../packages/core/src/store/postgres/index.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

let db: { url: string; drop: () => Promise<void> };
let n = 0;
const ledgerUrl = () => `${db.url}?schema=d${n++}`;
const schemaOf = (url: string) => new URL(url).searchParams.get('schema');
const entry = (i: number) => Buffer.from(`{"i":${i}}`);
const batch = (from: number, count: number): PendingEntry[] =>
  Array.from({ length: count }, (_, i) => ({ entry: entry(from + i), ts: 1_700_000_000_000 }));
const honest = (count: number) => {
  const s = new ChainState();
  for (let i = 0; i < count; i++) s.append(entry(i));
  return s;
};

const origin = 'example.com/pg-derive';
const signer = parseSignerKey(generateKey(origin).privateKey);
const trust = (anchorFile?: string) => {
  const diverged: Error[] = [];
  const own = new OwnKey(signer.verifierKey, origin);
  const anchor = anchorFile ? new AnchorHeads(own, anchorFile) : undefined;
  return {
    own,
    heads: anchor ? [...anchor.read()] : [],
    anchor,
    onDiverge: (e: Error) => diverged.push(e),
    diverged,
  };
};

beforeAll(async () => {
  db = await createTestDatabase('pgderive');
});
afterAll(async () => {
  await db.drop();
});

/** The database superuser: triggers off, one entry replaced, chain and head recomputed, checkpoints kept. */
async function superuserRewrite(url: string, seq: number): Promise<void> {
  const s = schemaOf(url);
  const rows = await psql<{ seq: string; entry: Buffer }>(
    db.url,
    `SELECT seq, entry FROM "${s}".records ORDER BY seq`,
  );
  const state = new ChainState();
  const sql = [`SET session_replication_role = replica;`];
  for (const r of rows) {
    const e = Number(r.seq) === seq ? Buffer.from('{"forged":true}') : r.entry;
    const chain = state.append(e);
    sql.push(
      `UPDATE "${s}".records SET entry = '\\x${e.toString('hex')}', chain = '\\x${chain.toString('hex')}' WHERE seq = ${r.seq};`,
    );
  }
  sql.push(
    `UPDATE "${s}".ledger_state SET chain_head = '\\x${state.chainHead.toString('hex')}', compact = '\\x${state.encodeCompact().toString('hex')}';`,
  );
  await psql(db.url, sql.join('\n'));
}

describe('PgStore with a writer trust', () => {
  it('resumes from its own checkpoint and never signs a forged ledger_state compact range', async () => {
    const url = ledgerUrl();
    const a = await PgStore.open(url, { trust: trust() });
    await a.append(batch(0, 30));
    await sealHead(a, signer);
    await a.append(batch(30, 5));
    await a.close();
    await psql(
      db.url,
      `UPDATE "${schemaOf(url)}".ledger_state SET compact = decode(repeat('ab', length(compact)), 'hex')`,
    );
    const t = trust();
    const b = await PgStore.open(url, { trust: t });
    const seal = await sealHead(b, signer);
    expect(seal?.size).toBe(35);
    expect(t.diverged).toEqual([]);
    const note = (
      await psql<{ note: string }>(
        db.url,
        `SELECT note FROM "${schemaOf(url)}".checkpoints ORDER BY id DESC LIMIT 1`,
      )
    )[0]!.note;
    expect(note).toContain(honest(35).root().toString('base64'));
    await b.close();
  });

  it('a running writer refuses to sign after a superuser rewrote sealed history, and keeps every record', async () => {
    const url = ledgerUrl();
    const t = trust();
    const a = await PgStore.open(url, { trust: t });
    await a.append(batch(0, 20));
    await sealHead(a, signer);
    await superuserRewrite(url, 4);
    await a.append(batch(20, 3));
    expect(t.diverged).toHaveLength(1);
    await expect(sealHead(a, signer)).rejects.toMatchObject({ code: 'E_TAMPER' });
    const count = await psql<{ c: string }>(db.url, `SELECT count(*) AS c FROM "${schemaOf(url)}".records`);
    expect(Number(count[0]!.c)).toBe(23);
    await a.close();
    // and a restarted writer finds it against its own checkpoint row
    const t2 = trust();
    const b = await PgStore.open(url, { trust: t2 });
    expect(String(t2.diverged[0]?.message)).toMatch(/row 19|size 20/);
    await b.close();
  });

  it("hashes another writer's rows before it seals them", async () => {
    const url = ledgerUrl();
    const a = await PgStore.open(url, { trust: trust() });
    const other = await PgStore.open(url); // keyless second writer
    await a.append(batch(0, 4));
    await other.append(batch(4, 6));
    const seal = await sealHead(a, signer);
    expect(seal?.size).toBe(10);
    expect(seal?.note).toContain(honest(10).root().toString('base64'));
    await other.close();
    await a.close();
  });

  it('rows another signer sealed and anchored, then rewritten by the superuser, are refused by the running writer', async () => {
    const url = ledgerUrl();
    const anchor = join(tempDir(), 'anchor.txt');
    const ta = trust(anchor);
    const a = await PgStore.open(url, { trust: ta });
    await a.append(batch(0, 4));
    const b = await PgStore.open(url, { trust: trust(anchor) });
    await b.append(batch(4, 6));
    expect((await sealHead(b, signer, { anchorFile: anchor }))?.size).toBe(10);
    await b.close();
    await superuserRewrite(url, 6);
    await psql(
      db.url,
      `SET session_replication_role = replica; DELETE FROM "${schemaOf(url)}".checkpoints WHERE size = 10`,
    );
    await a.append(batch(10, 2));
    expect(String(ta.diverged[0]?.message)).toMatch(/anchor file.*size 10.*root differs/);
    await expect(sealHead(a, signer)).rejects.toMatchObject({ code: 'E_TAMPER' });
    await a.close();
  });

  it("a forged 'same head, just stored' row cannot cancel a seal or keep it from the anchor", async () => {
    const url = ledgerUrl();
    const anchor = join(tempDir(), 'anchor.txt');
    const a = await PgStore.open(url, { trust: trust(anchor) });
    await a.append(batch(0, 8));
    // the insider stores the head's public body under a signature of another key, stamped now
    const mallory = parseSignerKey(generateKey(origin).privateKey);
    const forged = signCheckpoint({ origin, size: 8, root: honest(8).root() }, mallory, 1);
    await psql(
      db.url,
      `INSERT INTO "${schemaOf(url)}".checkpoints (size, note, created_at) VALUES (8, $1, $2)`,
      [forged, Date.now()],
    );
    const seal = await sealHead(a, signer, { anchorFile: anchor });
    expect(seal?.note).not.toBe(forged);
    expect(new OwnKey(signer.verifierKey, origin).open(seal?.note, 'seal')?.size).toBe(8);
    // our own note was stored and anchored
    const notes = await psql<{ note: string }>(
      db.url,
      `SELECT note FROM "${schemaOf(url)}".checkpoints WHERE size = 8`,
    );
    expect(notes.map((r) => r.note)).toContain(seal?.note);
    expect(readFileSync(anchor, 'utf8')).toContain(seal!.note);
    await a.close();
  });
});
