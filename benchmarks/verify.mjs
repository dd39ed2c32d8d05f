// Scenario 4: `sealog verify` throughput on a 1M and a 10M record ledger
// sealed every 1000 records (the writer's default), on one thread and with
// worker threads, beside this machine's physical bounds measured in the same
// run: SHA-256 calls per second (a record needs three: leaf, chain link,
// ~one Merkle node) and the cost of just reading the rows. Issue 8 target:
// ≥ 1M records/s. Beside them, in the same run, `sealog verify` (the CLI,
// packages/cli/dist/bin.js, a process of its own) against `sha256sum` over a
// file of the same entry bytes: the ratio is sha256sum's time over verify's
// (issue 15 target: ≥ 0.6; 0.31 measured before). Measures; asserts nothing.
import { execFileSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { closeSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { verifyLedger } from '@sealog/core';
import Database from 'better-sqlite3';
import { CLI, ledgerKey, makeLedger } from './lib/ledger.mjs';
import { machine, QUICK, table, workDir } from './lib.mjs';

// SEALOG_BENCH_VERIFY_SIZES=1000000 runs only the 1M ledger (the 10M one takes ~15 min to build).
const SIZES = QUICK
  ? [40_000]
  : (process.env.SEALOG_BENCH_VERIFY_SIZES?.split(',').map(Number) ?? [1_000_000, 10_000_000]);
const SEAL_EVERY = 1000;
const dir = workDir();
const { key, signer, keyFile } = ledgerKey(dir);

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

/** Writes every entry's bytes, in seq order, to `out`: what sha256sum hashes. */
function dumpEntries(path, out) {
  const db = new Database(path, { readonly: true });
  const fd = openSync(out, 'w');
  try {
    const chunk = [];
    let bytes = 0;
    for (const entry of db.prepare('SELECT entry FROM records ORDER BY seq').pluck().iterate()) {
      chunk.push(entry);
      bytes += entry.length;
      if (bytes >= 8 * 2 ** 20) {
        writeSync(fd, Buffer.concat(chunk));
        chunk.length = 0;
        bytes = 0;
      }
    }
    writeSync(fd, Buffer.concat(chunk));
  } finally {
    closeSync(fd);
    db.close();
  }
}

/** Wall seconds of a command run to completion (its output discarded). */
function command(file, args) {
  const t0 = process.hrtime.bigint();
  try {
    execFileSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { s: Number(process.hrtime.bigint() - t0) / 1e9, status: 0 };
  } catch (err) {
    return { s: Number(process.hrtime.bigint() - t0) / 1e9, status: err.status };
  }
}

for (const n of SIZES) {
  const path = join(dir, `verify-${n}.db`);
  const build = timed(() => {
    makeLedger(path, n, signer, { sealEvery: SEAL_EVERY });
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
    rows.push({ name: `verifyLedger (API), ${label}`, 'records/s': r.n / r.s, seconds: r.s });
  }
  const entries = join(dir, `entries-${n}.bin`);
  dumpEntries(path, entries);
  const mb = statSync(entries).size / 1e6;
  const sha = command('sha256sum', [entries]);
  rmSync(entries, { force: true });
  rows.push({
    name: `sha256sum over the ${mb.toFixed(0)} MB of entry bytes`,
    'records/s': n / sha.s,
    'MB/s': mb / sha.s,
    seconds: sha.s,
  });
  for (const threads of QUICK ? [undefined] : [undefined, 0]) {
    const args = [
      CLI,
      'verify',
      path,
      '--key-file',
      keyFile,
      '--strict',
      ...(threads === 0 ? ['--threads', '0'] : []),
    ];
    const v = command(process.execPath, args);
    rows.push({
      name: `sealog verify --strict (CLI), ${threads === 0 ? '--threads 0' : 'default threads'}`,
      'records/s': n / v.s,
      seconds: v.s,
      verdict: v.status === 0 ? 'passed' : `FAILED (exit ${v.status})`,
    });
  }
  for (const r of rows) {
    if (/^(sealog verify|verifyLedger)/.test(r.name)) r['ratio vs sha256sum'] = sha.s / r.seconds;
  }
  console.log(`machine: ${machine()}; ledger written in ${build.s.toFixed(1)} s`);
  table(
    `Verifier: ${n} records, ${Math.ceil(n / SEAL_EVERY)} checkpoints (targets: ≥ 1M records/s; ≥ 0.6× sha256sum)`,
    rows,
  );
  rmSync(path, { force: true });
}
