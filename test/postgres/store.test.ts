// PgStore against a real PostgreSQL server: sequencing, chaining, reopening,
// a lost COMMIT answer, and clear errors. Fleet-scale faults are in faults.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnKey } from '../../packages/core/src/chain/trust.js';
import { signCheckpoint } from '../../packages/core/src/checkpoint/signed.js';
import {
  chainHash,
  Ledger,
  leafHash,
  openSink,
  type PendingEntry,
  rootFromLeaves,
  SealogError,
} from '../../packages/core/src/index.js';
import { generateKey, parseSignerKey } from '../../packages/core/src/note/keys.js';
import { PgStore } from '../../packages/core/src/store/postgres/index.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';
import { CommitProxy } from './commit-proxy.js';

let db: { url: string; drop: () => Promise<void> };
let n = 0;
/** A fresh ledger (its own schema) in this file's database. */
const ledgerUrl = () => `${db.url}?schema=t${n++}`;
const entries = (from: number, count: number): PendingEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    entry: Buffer.from(`{"i":${from + i}}`),
    ts: 1_700_000_000_000,
  }));

beforeAll(async () => {
  db = await createTestDatabase('pgstore');
});
afterAll(async () => {
  await db.drop();
});

/** Rows of one ledger schema, in seq order. */
async function rows(url: string): Promise<{ seq: string; entry: Buffer; chain: Buffer }[]> {
  const schema = new URL(url).searchParams.get('schema');
  return psql(db.url, `SELECT seq, entry, chain FROM "${schema}".records ORDER BY seq`);
}

/** Recomputes the chain and root of stored rows, as the verifier would. */
function recompute(stored: { seq: string; entry: Buffer; chain: Buffer }[]) {
  let chain = Buffer.alloc(32);
  stored.forEach((r, i) => {
    expect(Number(r.seq)).toBe(i);
    chain = chainHash(chain, leafHash(r.entry));
    expect(r.chain.equals(chain)).toBe(true);
  });
  return { chain, root: rootFromLeaves(stored.map((r) => leafHash(r.entry))) };
}

describe('PgStore', () => {
  it('creates the schema, appends consecutive seqs and reports the head it committed', async () => {
    const url = ledgerUrl();
    const store = await PgStore.open(url);
    const a = await store.append(entries(0, 3));
    const b = await store.append(entries(3, 2));
    expect([a.firstSeq, a.size, b.firstSeq, b.size]).toEqual([0, 3, 3, 5]);
    const head = await store.head();
    await store.close();
    const { chain, root } = recompute(await rows(url));
    expect(head.size).toBe(5);
    expect(head.chainHead.equals(chain)).toBe(true);
    expect(head.root.equals(root)).toBe(true);
    expect(b.root.equals(root)).toBe(true);
  });

  it('two stores on one ledger extend a single chain, each resuming from the other', async () => {
    const url = ledgerUrl();
    const [x, y] = [await PgStore.open(url), await PgStore.open(url)];
    for (let k = 0; k < 6; k++) await (k % 2 ? x : y).append(entries(k * 10, 10));
    await Promise.all([x.append(entries(100, 50)), y.append(entries(200, 50))]);
    await Promise.all([x.close(), y.close()]);
    const stored = await rows(url);
    expect(stored).toHaveLength(160);
    recompute(stored);
    // Reopening checks the stored head against the last row.
    const again = await PgStore.open(url);
    expect((await again.head()).size).toBe(160);
    await again.close();
  });

  it('a COMMIT whose answer was lost is not stored twice when the batch is retried', async () => {
    const url = ledgerUrl();
    const port = Number(new URL(db.url).port);
    const proxy = await CommitProxy.start(port);
    const store = await PgStore.open(proxy.url(url));
    await store.append(entries(0, 5));
    const batch = entries(5, 5);
    proxy.fault = 'drop-reply';
    await expect(store.append(batch)).rejects.toMatchObject({ code: 'E_IO' });
    expect(proxy.fired).toBe(1);
    // The Ledger retries the same entries, possibly with more behind them.
    const retried = await store.append([...batch, ...entries(10, 2)]);
    expect(retried).toMatchObject({ firstSeq: 5, size: 12 });
    await store.close();
    await proxy.close();
    const stored = await rows(url);
    expect(stored.map((r) => JSON.parse(r.entry.toString()).i)).toEqual([...Array(12).keys()]);
    recompute(stored);
  });

  it('a batch found committed stays committed when the rest of its retry fails: nothing is stored twice', async () => {
    const url = ledgerUrl();
    const proxy = await CommitProxy.start(Number(new URL(db.url).port));
    const store = await PgStore.open(proxy.url(url));
    const a = entries(0, 3);
    const more = entries(3, 2);
    proxy.fault = 'drop-reply'; // a commits, its answer is lost
    await expect(store.append(a)).rejects.toMatchObject({ code: 'E_IO' });
    proxy.fault = 'drop-commit'; // the retry finds a committed, then loses the COMMIT of the rest
    await expect(store.append([...a, ...more])).rejects.toMatchObject({ code: 'E_IO' });
    expect(proxy.fired).toBe(2);
    const done = await store.append([...a, ...more]); // the Ledger retries the same entries again
    expect(done).toMatchObject({ firstSeq: 0, size: 5 });
    await store.close();
    await proxy.close();
    const stored = await rows(url);
    expect(stored.map((r) => JSON.parse(r.entry.toString()).i)).toEqual([0, 1, 2, 3, 4]);
    recompute(stored);
  });

  it('signs a checkpoint even when a forged row claims a bigger, newer one; skips only a fresh one of this head', async () => {
    const url = ledgerUrl();
    const schema = new URL(url).searchParams.get('schema');
    const key = parseSignerKey(generateKey('log.example').privateKey);
    const store = await PgStore.open(url, {
      trust: { own: new OwnKey(key.verifierKey, 'log.example'), heads: [] },
    });
    await store.append(entries(0, 3));
    const sign = (head: { size: number; root: Buffer }) => {
      const createdAt = Date.now();
      return {
        note: signCheckpoint({ origin: 'log.example', size: head.size, root: head.root }, key, 1),
        createdAt,
      };
    };
    // Anyone who may INSERT checkpoints (every writer role, the DBA) could plant this.
    await psql(
      db.url,
      `INSERT INTO "${schema}".checkpoints (size, note, created_at) VALUES (9e15, 'x', 9e15)`,
    );
    const first = await store.sealLocked(sign, { wait: true });
    expect(first).toMatchObject({ size: 3, fresh: true });
    // Another writer's checkpoint of this very head, signed by this key a moment ago: not stored twice.
    const second = await store.sealLocked(sign, { wait: true });
    expect(second).toMatchObject({ size: 3, fresh: false });
    expect((await psql(db.url, `SELECT 1 FROM "${schema}".checkpoints WHERE size = 3`)).length).toBe(1);
    await store.close();
  });

  it('a COMMIT that never reached the server is rolled back and the retry stores the batch once', async () => {
    const url = ledgerUrl();
    const proxy = await CommitProxy.start(Number(new URL(db.url).port));
    const store = await PgStore.open(proxy.url(url));
    const batch = entries(0, 4);
    proxy.fault = 'drop-commit';
    await expect(store.append(batch)).rejects.toMatchObject({ code: 'E_IO' });
    expect(await rows(url)).toHaveLength(0);
    expect(await store.append(batch)).toMatchObject({ firstSeq: 0, size: 4 });
    await store.close();
    await proxy.close();
    recompute(await rows(url));
  });

  it('through a Ledger, a lost COMMIT answer is retried to exactly one copy of every record', async () => {
    const url = ledgerUrl();
    const proxy = await CommitProxy.start(Number(new URL(db.url).port));
    const errors: SealogError[] = [];
    const ledger = new Ledger(await PgStore.open(proxy.url(url)), {
      batchSize: 100,
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 250; i++) ledger.write({ i });
    proxy.fault = 'drop-reply';
    for (let i = 250; i < 500; i++) ledger.write({ i });
    await ledger.close();
    await proxy.close();
    expect(proxy.fired).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
    const stored = await rows(url);
    expect(stored.map((r) => JSON.parse(r.entry.toString()).i)).toEqual([...Array(500).keys()]);
    recompute(stored);
  });

  it('refuses a schema that is not a ledger, and an absent one when told not to create', async () => {
    await psql(db.url, 'CREATE SCHEMA other; CREATE TABLE other.sealog_meta (key text, value text)');
    await psql(db.url, "INSERT INTO other.sealog_meta VALUES ('format', 'something-else')");
    await expect(PgStore.open(`${db.url}?schema=other`)).rejects.toMatchObject({ code: 'E_NOT_LEDGER' });
    await expect(PgStore.open(`${db.url}?schema=absent`, { create: false })).rejects.toMatchObject({
      code: 'E_NOT_LEDGER',
    });
  });

  it('refuses to open a ledger whose head disagrees with its rows', async () => {
    const url = ledgerUrl();
    const store = await PgStore.open(url);
    await store.append(entries(0, 3));
    await store.close();
    const schema = new URL(url).searchParams.get('schema');
    await psql(
      db.url,
      `SET session_replication_role = replica; DELETE FROM "${schema}".records WHERE seq = 2`,
    );
    await expect(PgStore.open(url)).rejects.toMatchObject({ code: 'E_STATE' });
  });

  it('refuses options that cannot hold on a shared PostgreSQL ledger, naming them (noise holds: budget.test.ts)', async () => {
    await expect(openSink({ path: ledgerUrl(), durability: 'power' })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/durability applies to SQLite/),
    });
    await expect(openSink({ path: `${db.url}?schema=Bad-Name` })).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('says which server it could not reach, without the password', async () => {
    const err = await PgStore.open('postgres://me:s3cret@127.0.0.1:1/nowhere').catch((e) => e);
    expect(err).toBeInstanceOf(SealogError);
    expect(err.code).toBe('E_IO');
    expect(err.message).toContain('127.0.0.1:1/nowhere');
    expect(err.message).not.toContain('s3cret');
    // pg also takes passwords from the query string.
    for (const q of ['password=s3cret', 'sslpassword=s3cret']) {
      const e = await PgStore.open(`postgres://me@127.0.0.1:1/nowhere?${q}`).catch((x) => x);
      expect(e.code).toBe('E_IO');
      expect(e.message).not.toContain('s3cret');
    }
  });
});
