// Scenario: what deriving, never adopting, costs the writer (issue 14).
//  1. Opening a signing writer on a 1M and a 10M record ledger sealed every 1000
//     records: from its newest signed checkpoint (resume state beside it), and from
//     row 0 (no usable resume state: an old file, or forged resume rows), beside a
//     writer without a key, which only checks ledger_state against the last row.
//  2. Hashing the rows other writers append: 1, 2 and 4 writer processes on one
//     file, signing (they hash every row the others append) beside writers without a
//     key (they follow the stored head): records/s and CPU per record. With
//     SEALOG_BASELINE_CORE=<another build's packages/core/dist/index.js>, that build's
//     writers run in the same pass (the code before a change).
// Measures; asserts nothing.
import { fork } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, OwnKey, SqliteStore } from '@sealog/core';
import Database from 'better-sqlite3';
import { ledgerKey, makeLedger } from './lib/ledger.mjs';
import { AUDIT_MSG, auditRecord, machine, QUICK, table, workDir } from './lib.mjs';

const SIZES = QUICK ? [20_000] : [1_000_000, 10_000_000];
const SEAL_EVERY = 1000;
const PER_WRITER = QUICK ? 20_000 : 200_000;
const { signer } = ledgerKey();
/** A writer's record (no pino level): what these ledgers hold. */
const writerRecord = (k) => ({ ...auditRecord(k), msg: AUDIT_MSG, time: 1.7e12 + k });
const trust = () => ({ own: new OwnKey(signer.verifierKey, signer.name), heads: [] });

if (process.argv[2] === 'child') {
  // One writer process of part 2: appends its share in batches of 1000, then reports.
  const [, , , path, records, mode, core] = process.argv;
  const Store = core ? (await import(core)).SqliteStore : SqliteStore;
  const opts = mode === 'signing' ? { trust: trust() } : {};
  const store = new Store(path, { ...opts, busyTimeoutMs: 60_000 });
  const t0 = process.cpuUsage();
  for (let i = 0; i < Number(records); i += 1000) {
    const batch = [];
    for (let k = i; k < i + 1000; k++) {
      const entry = canonicalJson({ ...auditRecord(k), msg: AUDIT_MSG, pid: process.pid, time: 1.7e12 + k });
      batch.push({ entry: Buffer.from(entry), ts: 1.7e12 + k });
    }
    store.append(batch);
  }
  const cpu = process.cpuUsage(t0);
  process.send({ cpuMs: (cpu.user + cpu.system) / 1000 });
  store.close();
  process.exit(0);
}

const dir = workDir();

function openMs(path, options) {
  const t0 = performance.now();
  const s = new SqliteStore(path, options);
  const ms = performance.now() - t0;
  if (s.divergence) throw s.divergence;
  s.close();
  return ms;
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
for (const n of SIZES) {
  const path = join(dir, `open-${n}.db`);
  makeLedger(path, n, signer, { sealEvery: SEAL_EVERY, record: writerRecord });
  const zero = join(dir, `open-${n}-zero.db`);
  copyFileSync(path, zero);
  const db = new Database(zero);
  db.exec('DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET compact = NULL, chain_head = NULL');
  db.close();
  const reps = n >= 10_000_000 ? 1 : 3;
  const keyless = median(Array.from({ length: 3 }, () => openMs(path, {})));
  const fromCheckpoint = median(Array.from({ length: 3 }, () => openMs(path, { trust: trust() })));
  const fromZero = median(Array.from({ length: reps }, () => openMs(zero, { trust: trust() })));
  rows.push(
    { name: `${n} records: writer without a key (ledger_state vs last row)`, ms: keyless },
    { name: `${n} records: signing writer, from its newest signed checkpoint`, ms: fromCheckpoint },
    { name: `${n} records: signing writer, from row 0`, ms: fromZero, 'records/s': n / (fromZero / 1000) },
  );
}
table('Writer open time (derive from a signed checkpoint vs from zero)', rows);

const variants = [
  { label: 'signing', mode: 'signing' },
  { label: 'without a key', mode: 'keyless' },
  ...(process.env.SEALOG_BASELINE_CORE
    ? [{ label: 'baseline build, without a key', mode: 'keyless', core: process.env.SEALOG_BASELINE_CORE }]
    : []),
];
const multi = [];
for (const writers of [1, 2, 4]) {
  // Variants alternate within each writer count, so machine noise hits them alike.
  for (const v of variants) {
    const path = join(dir, `multi-${writers}-${v.mode}-${v.core ? 'base' : 'new'}.db`);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: writers }, () => {
        const args = ['child', path, String(PER_WRITER), v.mode, ...(v.core ? [v.core] : [])];
        const c = fork(new URL(import.meta.url).pathname, args);
        return new Promise((resolve) => c.once('message', resolve));
      }),
    );
    const wallMs = performance.now() - t0;
    const total = writers * PER_WRITER;
    const cpuMs = results.reduce((a, r) => a + r.cpuMs, 0);
    multi.push({
      name: `${writers} writer(s) × ${PER_WRITER}, ${v.label}`,
      writers,
      variant: v.label,
      'records/s': total / (wallMs / 1000),
      'CPU µs/record': (cpuMs * 1000) / total,
    });
  }
}
for (const m of multi) {
  // Each record is hashed again by each of the other (writers-1) signing writers, so the
  // extra CPU per record over writers without a key, divided by (writers-1), is the cost
  // of one foreign row.
  const peer = multi.find((o) => o.writers === m.writers && o.variant === 'without a key');
  if (m.variant === 'signing' && m.writers > 1 && peer) {
    m['µs per foreign row'] = (m['CPU µs/record'] - peer['CPU µs/record']) / (m.writers - 1);
  }
}
table(
  'Several writers on one file: signing writers hash every row the others append',
  multi.map(({ writers, variant, ...r }) => r),
);
console.log(`\nmachine: ${machine()}`);
