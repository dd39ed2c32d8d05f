// sealog verify throughput: one streaming pass over a ledger, against the
// floor of just reading the same rows out of SQLite (better-sqlite3, paged,
// no hashing). Issue 8 target: ≥ 1M records/s. Measures; asserts nothing.
import { hash } from 'node:crypto';
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
import { AUDIT_MSG, auditRecord, machine, scale, table, workDir } from './lib.mjs';

const N = scale(1_000_000, 20_000);
const BATCH = 10_000;
const SEAL_EVERY = scale(100_000, 5_000);

const dir = workDir();
const path = join(dir, 'verify.db');
const key = generateKey('bench.example/log');
const signer = parseSignerKey(key.privateKey);
const store = new SqliteStore(path);
for (let i = 0; i < N; i += BATCH) {
  const batch = [];
  for (let k = i; k < Math.min(N, i + BATCH); k++) {
    batch.push({
      entry: Buffer.from(canonicalJson({ ...auditRecord(k), level: 30, msg: AUDIT_MSG, time: 1.7e12 + k })),
      ts: k,
    });
  }
  const head = store.append(batch);
  if (head.size % SEAL_EVERY === 0 || head.size === N) {
    store.addCheckpoint(
      head.size,
      signCheckpoint({ origin: signer.name, size: head.size, root: head.root }, signer, 1),
      0,
    );
  }
}
store.close();

const rows = [];
function time(label, fn) {
  const t0 = process.hrtime.bigint();
  const n = fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push({ name: label, 'records/s': n / s, seconds: s });
  return n / s;
}

// The physical bound: this machine's SHA-256 over the same entries (leaf hashes only, one core).
const entries = [];
{
  const db = new Database(path, { readonly: true });
  for (const [e] of db.prepare('SELECT entry FROM records ORDER BY seq LIMIT 200000').raw(true).iterate())
    entries.push(e);
  db.close();
}
const bytes = entries.reduce((a, e) => a + e.length, 0);
const t0 = process.hrtime.bigint();
for (const e of entries) hash('sha256', e, 'buffer');
const shaS = Number(process.hrtime.bigint() - t0) / 1e9;
rows.push({
  name: 'SHA-256 of the entries alone (bound)',
  'records/s': entries.length / shaS,
  'MB/s': bytes / shaS / 1e6,
});

time('read rows only (better-sqlite3)', () => {
  const db = new Database(path, { readonly: true });
  const st = db
    .prepare('SELECT seq, entry, chain FROM records WHERE seq > ? ORDER BY seq LIMIT 8192')
    .raw(true);
  let n = 0;
  let last = -1;
  for (;;) {
    const rows = st.all(last);
    n += rows.length;
    if (rows.length < 8192) break;
    last = rows[rows.length - 1][0];
  }
  db.close();
  return n;
});
time('sealog verify (verifyLedger)', () => {
  const r = verifyLedger(path, { keys: [key.verifierKey], strict: true });
  if (!r.ok) throw new Error(`benchmark ledger did not verify: ${JSON.stringify(r.findings[0])}`);
  return r.size;
});
console.log(`machine: ${machine()}`);
table(`Verifier: ${N} records, ${Math.ceil(N / SEAL_EVERY)} checkpoints (target ≥ 1M records/s)`, rows);
