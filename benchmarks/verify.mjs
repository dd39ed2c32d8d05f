// Scenario 4: `sealog verify` throughput on a 1M and a 10M record ledger
// sealed every 1000 records (the writer's default), on one thread and with
// worker threads, beside this machine's physical bounds measured in the same
// run: SHA-256 calls per second (a record needs three: leaf, chain link,
// ~one Merkle node) and the cost of just reading the rows. Issue 8 target:
// ≥ 1M records/s. Measures; asserts nothing.
import { hash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  canonicalJson,
  generateKey,
  parseSignerKey,
  SqliteStore,
  signCheckpoint,
  verifyLedger,
} from '@sealog/core';
import Database from 'better-sqlite3';
import { AUDIT_MSG, auditRecord, machine, QUICK, table, workDir } from './lib.mjs';

const SIZES = QUICK ? [40_000] : [1_000_000, 10_000_000];
const SEAL_EVERY = 1000;
const BATCH = 10_000;
const dir = workDir();
const key = generateKey('bench.example/log');
const signer = parseSignerKey(key.privateKey);

function makeLedger(path, n) {
  const store = new SqliteStore(path);
  for (let i = 0; i < n; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(n, i + BATCH); k++) {
      const rec = { ...auditRecord(k), level: 30, msg: AUDIT_MSG, time: 1.7e12 + k };
      // ts is the entry's own time, as the writer stores it: verify checks it (docs/verify.md §3a).
      batch.push({ entry: Buffer.from(canonicalJson(rec)), ts: rec.time });
      if ((k + 1) % SEAL_EVERY === 0 || k + 1 === n) {
        const head = store.append(batch.splice(0));
        const note = signCheckpoint({ origin: signer.name, size: head.size, root: head.root }, signer, 1);
        store.addCheckpoint(head, note, 0);
      }
    }
  }
  store.close();
}

function timed(fn) {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return { n, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** The bound: one-shot SHA-256 calls per second on one core, on 64-byte inputs (chain links, nodes). */
function shaBound(entries) {
  const pair = Buffer.alloc(64, 7);
  const calls = 1_000_000;
  const small = timed(() => {
    for (let i = 0; i < calls; i++) hash('sha256', pair, 'buffer');
    return calls;
  });
  const bytes = entries.reduce((a, e) => a + e.length, 0);
  const big = timed(() => {
    for (const e of entries) hash('sha256', e, 'buffer');
    return entries.length;
  });
  const perCore = small.n / small.s;
  return [
    { name: 'SHA-256 calls, 64-byte input, 1 core', 'records/s': perCore, note: 'calls/s' },
    {
      name: 'SHA-256 of the entries, 1 core',
      'records/s': big.n / big.s,
      'MB/s': bytes / big.s / 1e6,
    },
    {
      name: `bound: 3 SHA-256 calls a record on ${availableParallelism()} cores`,
      'records/s': (perCore / 3) * availableParallelism(),
      note: 'no reading, no Merkle bookkeeping',
    },
  ];
}

function readRows(path, sql, step) {
  const db = new Database(path, { readonly: true });
  try {
    const st = db.prepare(sql).raw(true);
    let n = 0;
    for (let from = 0; ; from += 8192) {
      const got = step(st, from);
      n += got;
      if (got < 8192) return n;
    }
  } finally {
    db.close();
  }
}

for (const n of SIZES) {
  const path = join(dir, `verify-${n}.db`);
  const build = timed(() => {
    makeLedger(path, n);
    return n;
  });
  const rows = [];
  const db = new Database(path, { readonly: true });
  const sample = db.prepare('SELECT entry FROM records ORDER BY seq LIMIT 200000').pluck().all();
  db.close();
  rows.push(...shaBound(sample));
  const perRow = timed(() =>
    readRows(
      path,
      'SELECT seq, entry, chain FROM records WHERE seq >= ? AND seq < ? ORDER BY seq',
      (st, from) => st.all(from, from + 8192).length,
    ),
  );
  rows.push({ name: 'read rows, one JS row each (better-sqlite3)', 'records/s': perRow.n / perRow.s });
  const paged = timed(() =>
    readRows(
      path,
      `SELECT count(*), CAST(group_concat(entry, '') AS BLOB), CAST(group_concat(chain, '') AS BLOB)
       FROM (SELECT entry, chain FROM records WHERE seq >= ? AND seq < ? ORDER BY seq)`,
      (st, from) => st.get(from, from + 8192)[0],
    ),
  );
  rows.push({ name: 'read rows, one aggregate row a page', 'records/s': paged.n / paged.s });
  for (const threads of [0, undefined]) {
    const label =
      threads === 0 ? 'main thread only' : `${Math.min(4, availableParallelism())} worker threads`;
    const r = timed(() => {
      const report = verifyLedger(path, { keys: [key.verifierKey], strict: true, threads });
      if (!report.ok)
        throw new Error(`benchmark ledger did not verify: ${JSON.stringify(report.findings[0])}`);
      return report.size;
    });
    rows.push({ name: `sealog verify, ${label}`, 'records/s': r.n / r.s, seconds: r.s });
  }
  console.log(`machine: ${machine()}; ledger written in ${build.s.toFixed(1)} s`);
  table(`Verifier: ${n} records, ${Math.ceil(n / SEAL_EVERY)} checkpoints (target ≥ 1M records/s)`, rows);
  rmSync(path, { force: true });
}
