// Scenario: several app processes appending to ONE SQLite ledger through the
// sink (full pipeline each), beside the same processes appending the same
// records as JSON lines to ONE file (O_APPEND, pino's sonic-boom): the peer.
// 1, 2 and 4 writer processes, N records in all split evenly; for 2 and 4,
// two fleets: one signing writer and keyless others (the signer closes last,
// so its final checkpoint covers everyone's rows), and every writer signing
// (each hashes the rows the others append). records/s is N over the time from
// 'go' to the last writer closed (everything committed). Afterwards the
// verifier (verifyLedger, what `sealog verify --strict` runs) checks each
// ledger and its verdict is printed: a benchmark reports it, never asserts it.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { openSink, verifyLedger } from '@sealog/core';
import pino from 'pino';
import { accounted, countLedger, countLines } from './accounting.mjs';
import { loggedRecords, machine, makeKeys, QUICK, scale, sealogOptions, table, workDir } from './lib.mjs';

/** Records per configuration, split evenly over its writers (divisible by 1, 2 and 4). */
const N = scale(200_000, 1_000);
/** Distinct fixture records a writer cycles through. */
const FIXTURE = 5_000;
/** Records a writer hands over before letting its event loop run (I/O, commits). */
const YIELD_EVERY = 500;
/** Quick mode skips 2 writers: same code path as 4, and the test suite's time is shared. */
const WRITERS = QUICK ? [1, 4] : [1, 2, 4];

// ---- writer process -------------------------------------------------------

/** One writer: opens, reports ready, writes its share on 'go', closes (after 'close' if told to wait). */
async function writer(job) {
  const records = loggedRecords(Math.min(job.count, FIXTURE));
  const out =
    job.kind === 'sink' ? await openSink(job.options) : pino.destination({ dest: job.path, sync: false });
  if (job.kind === 'file' && out.fd < 0) await once(out, 'ready');
  const go = once(process, 'message');
  process.send({ ready: true });
  await go;
  for (let i = 0; i < job.count; i++) {
    const r = records[i % records.length];
    if (job.kind === 'sink') out.write(r);
    else out.write(`${JSON.stringify(r)}\n`);
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  if (job.closeLast) {
    const close = once(process, 'message');
    process.send({ written: true });
    await close;
  }
  if (job.kind === 'sink') await out.close();
  else {
    const closed = once(out, 'close');
    out.end();
    await closed;
  }
  process.send({ done: true }, () => process.disconnect());
}

// ---- coordinator ----------------------------------------------------------

function spawnWriter(job) {
  const child = fork(import.meta.filename, ['writer', JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const failed = exited.then(([code, signal]) => {
    throw new Error(`a benchmark writer exited (code ${code}, signal ${signal}); see its stderr above`);
  });
  failed.catch(() => {}); // raced below; a clean exit after the last message is not a failure
  const next = () => Promise.race([once(child, 'message').then(([m]) => m), failed]);
  return { child, exited, next };
}

/** `writers` processes append N records in all; resolves with the seconds from 'go' to all closed. */
async function measure(jobs) {
  const kids = jobs.map(spawnWriter);
  try {
    await Promise.all(kids.map((k) => k.next()));
    const t0 = process.hrtime.bigint();
    for (const k of kids) k.child.send('go');
    const last = kids.find((_, i) => jobs[i].closeLast);
    const others = kids.filter((k) => k !== last);
    await Promise.all(others.map((k) => k.next()));
    if (last) {
      await last.next(); // written
      last.child.send('close');
      await last.next();
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await Promise.all(kids.map((k) => k.exited));
    return seconds;
  } catch (err) {
    for (const k of kids) k.child.kill();
    throw err;
  }
}

/** verifyLedger (what `sealog verify --strict` runs) on `path`: the verdict and its time. */
function verify(path, verifierKey) {
  const t0 = process.hrtime.bigint();
  let r;
  try {
    r = verifyLedger(path, { keys: [verifierKey], strict: true });
  } catch (err) {
    return { verdict: `did not run: ${err.code ?? ''} ${err.message}` };
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const verdict = r.ok
    ? `passed (${r.size} records, ${r.unsealed} unsealed)`
    : `FAILED: ${r.findings.map((f) => f.kind).join(', ')}`;
  return { verdict, seconds };
}

async function main() {
  const dir = workDir();
  const keys = makeKeys(dir);
  let files = 0;
  const rows = [];
  for (const writers of WRITERS) {
    const count = N / writers;
    const fleets = [
      { name: 'one file, JSON lines (O_APPEND)', kind: 'file' },
      { name: 'ledger, full pipeline, one signer', kind: 'sink', signers: 1 },
      ...(writers > 1
        ? [{ name: 'ledger, full pipeline, all signing', kind: 'sink', signers: writers }]
        : []),
    ];
    let peer;
    for (const f of fleets) {
      const path = join(dir, `run-${files++}.${f.kind === 'file' ? 'log' : 'db'}`);
      const full = sealogOptions(path, keys);
      const { checkpoint, ...keyless } = full;
      if (f.kind === 'sink') await (await openSink({ path })).close(); // opening is not measured
      const jobs = Array.from({ length: writers }, (_, w) => ({
        kind: f.kind,
        path,
        count,
        options: w < (f.signers ?? 0) ? full : keyless,
        closeLast: f.kind === 'sink' && f.signers === 1 && writers > 1 && w === 0,
      }));
      const seconds = await measure(jobs);
      const counts = f.kind === 'file' ? { appRecords: await countLines(path) } : countLedger(path);
      const row = {
        name: `${writers} writer(s), ${f.name}`,
        ...accounted(N, counts),
        seconds,
        'records/s': N / seconds,
      };
      if (f.kind === 'file') peer = row;
      else {
        row['ratio vs file, same writers'] = row['records/s'] / peer['records/s'];
        const one = rows.find((r) => r.name === '1 writer(s), ledger, full pipeline, one signer') ?? row;
        row['ratio vs 1 writer'] = row['records/s'] / one['records/s'];
        const v = verify(path, keys.verifierKey);
        row['verify --strict'] = v.verdict;
        row['verify s'] = v.seconds;
      }
      rows.push(row);
    }
  }
  console.log(`machine: ${machine()}`);
  table(`Several writer processes on one ledger vs one file: ${N} records per row, split evenly`, rows);
}

if (process.argv[2] === 'writer') await writer(JSON.parse(process.argv[3]));
else await main();
