// Issue 15, item 1: the parallel half of the write path (parse, normalise,
// privacy, noise, canonical encoding) on the committer's own thread vs on a
// PreparePool of 1 and 2 workers, for pino lines of ~300 bytes with the
// realistic privacy config (noise budgets in a real ledger file). µs/record is
// wall time from the first batch submitted to the last resolved; "committer
// busy" is the event-loop utilisation of this thread meanwhile: what is left
// of its time for hashing and committing; "CPU µs/record" counts every
// thread, so it shows what the hand-off costs. Not part of run.mjs.
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { PreparePool, SqliteStore, validatePrivacyConfig } from '@sealog/core';
// The in-thread baseline is the pool's own fallback (not a package export).
import { openPreparer, prepareLines } from '../packages/core/dist/pipeline/decoders.js';
import { loggedRecords, machine, makeKeys, privacyConfig, scale, table, workDir } from './lib.mjs';

const N = scale(100_000, 5_000);
// Lines per batch and batches in flight per worker, as core's intake.ts cuts them (--batch N to vary).
const BATCH = Number(process.argv[process.argv.indexOf('--batch') + 1]) || 512;
const PER_WORKER = 3;
const ROUNDS = scale(3, 1);
const dir = workDir();
const keys = makeKeys(dir);
const path = join(dir, 'pool.db');
const store = new SqliteStore(path); // the committer's ledger: noise budgets live in it

const lines = loggedRecords(N).map((r) => JSON.stringify(r));
const texts = [];
for (let i = 0; i < N; i += BATCH) texts.push(lines.slice(i, i + BATCH).join('\n'));
const bytes = Math.round(lines.reduce((n, l) => n + l.length, 0) / N);

const decoder = {
  module: pathToFileURL(join(import.meta.dirname, '../packages/pino/dist/decode.js')).href,
  name: 'pinoDecoder',
  config: {},
};
// Noise: ε 1000 per user and day, 1 per record; 5000 users × 20 records a pass, 12 passes, stay within it.
const configs = {
  'privacy, no noise': validatePrivacyConfig(privacyConfig(keys.psnKey, { noise: false })),
  'privacy + noise': validatePrivacyConfig(privacyConfig(keys.psnKey)),
};
const warn = (e) => console.error(`warning: ${e.code}: ${e.message}`);

/** CPU time of the whole process (every thread) since `from`, in ms. */
const cpuMs = (from) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

/** One timed pass over every batch on this thread. */
function inThreadPass(p) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (const t of texts) n += prepareLines(t, Date.now(), p, warn).lengths.length;
  return { ms: performance.now() - t0, n, busy: 1, cpu: cpuMs(cpu0) };
}

/** One timed pass through the pool: a bounded window in flight, consumed in order as the committer does. */
async function poolPass(pool) {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  const inFlight = [];
  for (let next = 0; next < texts.length || inFlight.length > 0; ) {
    while (next < texts.length && inFlight.length < pool.size * PER_WORKER)
      inFlight.push(pool.prepare(texts[next++]));
    for (const _ of await inFlight.shift()) n++; // the committer walks every entry once
  }
  const ms = performance.now() - t0;
  return { ms, n, busy: performance.eventLoopUtilization(elu0).utilization, cpu: cpuMs(cpu0) };
}

// Each path is long-lived, as in a transport: opened once, one untimed pass
// (JIT, keys, budget leases), then ROUNDS timed passes taken in turn.
const runs = {};
for (const [config, privacy] of Object.entries(configs)) {
  const sink = { path, privacy };
  const here = await openPreparer(decoder, sink);
  const pools = [
    await PreparePool.open({ size: 1, decoder, sink }, warn),
    await PreparePool.open({ size: 2, decoder, sink }, warn),
  ];
  inThreadPass(here);
  for (const pool of pools) await poolPass(pool);
  const r = { 'in-thread': [], 'pool size 1': [], 'pool size 2': [] };
  runs[config] = r;
  for (let k = 0; k < ROUNDS; k++) {
    r['in-thread'].push(inThreadPass(here));
    r['pool size 1'].push(await poolPass(pools[0]));
    r['pool size 2'].push(await poolPass(pools[1]));
  }
  here.close();
  for (const pool of pools) await pool.close();
}
store.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = Object.entries(runs).flatMap(([config, paths]) => {
  const base = median(paths['in-thread'].map((r) => r.ms));
  return Object.entries(paths).map(([name, rs]) => {
    if (rs.some((r) => r.n !== N)) throw new Error(`${name}: ${rs.map((r) => r.n)} records, expected ${N}`);
    const ms = median(rs.map((r) => r.ms));
    return {
      config,
      path: name,
      'µs/record': (ms * 1000) / N,
      'records/s': N / (ms / 1000),
      'vs in-thread': base / ms,
      'committer busy': median(rs.map((r) => r.busy)),
      'CPU µs/record': (median(rs.map((r) => r.cpu)) * 1000) / N,
    };
  });
});
console.log(
  `machine: ${machine()}, availableParallelism ${availableParallelism()}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
table(
  `Prepare (parse → privacy → encode), ${N} pino lines of ~${bytes} bytes in batches of ${BATCH}, median of ${ROUNDS}`,
  rows,
);
