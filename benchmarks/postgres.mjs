// Scenario 9: the PostgreSQL ledger (#10). Records/s committed by 1, 2 and 4
// writer processes appending to ONE PostgreSQL ledger, side by side with the
// same writers appending to ONE SQLite file, and PostgreSQL's sensitivity to
// the batch size: each batch is one transaction holding the ledger's single
// state-row lock, so the batch size sets how often writers queue on it.
//
// Server: $SEALOG_BENCH_PG_URL or $SEALOG_TEST_PG_URL (each run's ledger gets a
// fresh schema, dropped after it), else a private cluster in a temp directory.
// Writers are separate processes (one Ledger each, as separate app instances
// would be), started together once every one has opened its ledger.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { openSink } from '@sealog/core';
import pg from 'pg';
import { createCluster, destroyCluster, stopClusterSync } from '../scripts/pg-cluster.mjs';
import {
  loggedRecords,
  machine,
  makeKeys,
  privacyConfig,
  scale,
  sealogOptions,
  table,
  workDir,
} from './lib.mjs';

/** Records per configuration, split evenly over its writers (divisible by 1, 2 and 4). */
const N = scale(200_000, 2_000);
/** Distinct fixture records a writer cycles through (the privacy pipeline never mutates them). */
const FIXTURE = 5_000;
/** Records a writer queues before letting the event loop run the pending commit's I/O. */
const YIELD_EVERY = 500;
const WRITERS = [1, 2, 4];
const BATCH_SIZES = [100, 1000, 5000];
/** Runs per configuration; the median is reported. */
const REPEATS = scale(3, 1);
const RUNS = REPEATS > 1 ? `median of ${REPEATS} runs` : '1 run';

// ---- writer process -------------------------------------------------------

/** One writer: opens its own sink, reports ready, writes its share on 'go', closes, reports counts. */
async function writer(job) {
  const records = loggedRecords(Math.min(job.count, FIXTURE));
  let commits = 0;
  const sink = await openSink(job.options, { onCommit: () => commits++ });
  const go = once(process, 'message');
  process.send({ ready: true });
  await go;
  for (let i = 0; i < job.count; i++) {
    sink.write(records[i % records.length]);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  await sink.close();
  const { committed, failedCommits } = sink.stats;
  process.send({ commits, committed, failedCommits }, () => process.disconnect());
}

// ---- coordinator ----------------------------------------------------------

/** Forks a writer; `next()` is its next message, rejecting if it exits with an error first. */
function spawnWriter(job) {
  const child = fork(import.meta.filename, ['writer', JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const failed = exited.then(([code, signal]) => {
    throw new Error(
      `a benchmark writer process exited (code ${code}, signal ${signal}); see its stderr above`,
    );
  });
  failed.catch(() => {}); // raced below; a clean exit after the last message is not a failure
  const next = () => Promise.race([once(child, 'message').then(([m]) => m), failed]);
  return { child, exited, next };
}

/** The size of the ledger at `path`: the benchmark must not report records that were not stored. */
async function storedSize(path) {
  const sink = await openSink({ path });
  try {
    return (await sink.ledger.store.head()).size;
  } finally {
    await sink.close();
  }
}

/** Runs one configuration: `writers` processes append N records in all to the ledger at `path`. */
async function measure({ path, writers, options }) {
  await (await openSink({ path })).close(); // created up front: opening is not what is measured
  const count = N / writers;
  const kids = [];
  for (let w = 0; w < writers; w++) kids.push(spawnWriter({ count, options: { ...options, path } }));
  let results;
  let seconds;
  try {
    await Promise.all(kids.map((k) => k.next()));
    const done = kids.map((k) => k.next());
    const t0 = process.hrtime.bigint();
    for (const k of kids) k.child.send('go');
    results = await Promise.all(done);
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await Promise.all(kids.map((k) => k.exited));
  } catch (err) {
    for (const k of kids) k.child.kill(); // the others would wait for 'go' or write on
    throw err;
  }
  const committed = results.reduce((s, r) => s + r.committed, 0);
  const size = await storedSize(path);
  if (committed !== N || size !== N) {
    throw new Error(`${path}: ${N} records written, ${committed} acknowledged, ${size} stored`);
  }
  const commits = results.reduce((s, r) => s + r.commits, 0);
  const failedCommits = results.reduce((s, r) => s + r.failedCommits, 0);
  const rate = N / seconds;
  return { seconds, rate, commits, failedCommits };
}

/** The server to use and how to give it back: an env URL (nothing to stop) or a private cluster. */
async function pgServer() {
  const source = ['SEALOG_BENCH_PG_URL', 'SEALOG_TEST_PG_URL'].find((name) => process.env[name]);
  if (source) return { url: process.env[source], source, stop: async () => {} };
  const { ctl, url } = await createCluster('sealog_bench');
  // pg_ctl detaches the server: stop it even if this process dies on an error or ^C.
  const onExit = () => stopClusterSync(ctl);
  process.once('exit', onExit);
  process.once('SIGINT', () => process.exit(130));
  return {
    url,
    source: 'private cluster',
    stop: async () => {
      process.off('exit', onExit);
      await destroyCluster(ctl);
    },
  };
}

/** `url` with `?schema=` removed, for the admin connection (node-postgres does not know it). */
function adminUrl(url) {
  const u = new URL(url);
  u.searchParams.delete('schema');
  return u.toString();
}

/** Ledger URLs in fresh schemas bench_<run>_<n>, and their removal. */
function schemas(url) {
  const run = randomBytes(4).toString('hex');
  const made = [];
  let count = 0;
  return {
    next() {
      const name = `bench_${run}_${count++}`;
      made.push(name);
      const u = new URL(url);
      u.searchParams.set('schema', name);
      return u.toString();
    },
    /** Drops every schema handed out so far. */
    async drop(client) {
      while (made.length > 0) await client.query(`DROP SCHEMA IF EXISTS "${made.pop()}" CASCADE`);
    },
  };
}

async function describeServer(client) {
  const { rows } = await client.query(
    `SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync,
            current_setting('synchronous_commit') AS sc, current_setting('shared_buffers') AS sb`,
  );
  const r = rows[0];
  return `PostgreSQL ${r.v}, fsync=${r.fsync}, synchronous_commit=${r.sc}, shared_buffers=${r.sb}`;
}

/**
 * Runs one configuration REPEATS times, each on a fresh ledger, and keeps the median run:
 * this machine is shared, and one 200k-record run can catch another job's burst.
 */
async function repeated(env, name, kind, writers, options) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) {
    // Flush the previous run's dirty pages now, so that checkpoint does not land in this run.
    // Needs superuser or pg_checkpoint: best effort on a server from env.
    await env.admin.query('CHECKPOINT').catch(() => {});
    const path = kind === 'pg' ? env.ledgers.next() : join(env.dir, `ledger-${env.files++}.db`);
    runs.push(await measure({ path, writers, options }));
    if (kind === 'pg') await env.ledgers.drop(env.admin);
    else for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
  runs.sort((a, b) => a.rate - b.rate);
  const median = runs[runs.length >> 1];
  return { name, writers, ...median, spread: (runs.at(-1).rate - runs[0].rate) / median.rate };
}

async function main() {
  const dir = workDir();
  const keys = makeKeys(dir);
  const server = await pgServer();
  const admin = new pg.Client({ connectionString: adminUrl(server.url) });
  const env = { dir, files: 0, admin, ledgers: schemas(server.url) };
  try {
    await admin.connect().catch((e) => {
      throw new Error(
        `cannot reach the PostgreSQL server (${server.source}): ${e.message}; ` +
          'fix or unset SEALOG_BENCH_PG_URL / SEALOG_TEST_PG_URL to run a private cluster',
        { cause: e },
      );
    });
    const serverLine = `${await describeServer(admin)} (${server.source}, host ${new URL(server.url).hostname})`;
    const rows = [];
    for (const w of WRITERS) rows.push(await repeated(env, 'SQLite file', 'sqlite', w, {}));
    rows.push(await repeated(env, 'SQLite file, durability power', 'sqlite', 1, { durability: 'power' }));
    for (const w of WRITERS) rows.push(await repeated(env, 'PostgreSQL', 'pg', w, {}));
    // PostgreSQL ledgers refuse privacy.noise (its ε budget lives in SQLite only), so both omit it.
    const full = sealogOptions('', keys, { privacy: privacyConfig(keys.psnKey, { noise: false }) });
    rows.push(await repeated(env, 'SQLite file, full pipeline minus noise', 'sqlite', 1, full));
    rows.push(await repeated(env, 'PostgreSQL, full pipeline minus noise', 'pg', 1, full));
    const batches = [];
    for (const b of BATCH_SIZES) {
      const same = b === 1000 && rows.find((r) => r.name === 'PostgreSQL' && r.writers === 1);
      batches.push({
        batchSize: b,
        ...(same || (await repeated(env, 'PostgreSQL', 'pg', 1, { batchSize: b }))),
      });
    }
    print(rows, batches, serverLine);
  } finally {
    await env.ledgers
      .drop(admin)
      .catch((e) => console.error(`could not drop the benchmark schemas: ${e.message}`));
    await admin.end().catch(() => {});
    await server.stop();
  }
}

/** (max − min) / median records/s over the REPEATS runs of a row. */
const pct = (x) => `${(x * 100).toFixed(0)}%`;

function print(rows, batches, serverLine) {
  const base = rows.find((r) => r.name === 'SQLite file' && r.writers === 1).rate;
  console.log(`machine: ${machine()}`);
  console.log(`postgres: ${serverLine}`);
  table(
    `PostgreSQL vs SQLite ledger: ${N} records committed by 1, 2, 4 writer processes (${RUNS})`,
    rows.map((r) => ({
      name: r.name,
      writers: String(r.writers),
      seconds: r.seconds,
      'records/s': r.rate,
      'records/s per writer': r.rate / r.writers,
      'ratio vs SQLite 1 writer': r.rate / base,
      'records/commit': N / r.commits,
      'failed commits': String(r.failedCommits),
      spread: pct(r.spread),
    })),
  );
  const ref = batches.find((b) => b.batchSize === 1000).rate;
  table(
    `PostgreSQL ledger, 1 writer: batch size (${N} records, ${RUNS})`,
    batches.map((b) => ({
      batchSize: String(b.batchSize),
      seconds: b.seconds,
      'records/s': b.rate,
      commits: String(b.commits),
      'ms/commit': (b.seconds * 1000) / b.commits,
      'ratio vs batch 1000': b.rate / ref,
      spread: pct(b.spread),
    })),
  );
}

if (process.argv[2] === 'writer') await writer(JSON.parse(process.argv[3]));
else await main();
