// Scenario: overload. The app logs flat out for DURATION (10 s; 1 s in quick
// mode), yielding to the event loop every YIELD_EVERY calls as a server does,
// with the full pipeline: far more than the ledger's worker can commit. What
// matters then is what the app feels and what the ledger says afterwards
// (issue 15): the longest single logger.info call (hrtime around each call),
// the longest event-loop stall (monitorEventLoopDelay at 10 ms resolution and
// a 10 ms setInterval lag probe), peak RSS (the worker thread shares the
// process), and after closing (which waits until everything is committed,
// capped at CLOSE_CAP) the records stored and the records shed, as accounted
// for by the sealed gap records, and `unaccounted = logged − stored − shed`.
//
// Variants, each in its own process: pino/file (the peer), @sealog/pino with
// default options (overload: 'shed'), and with overload: 'block' beside
// pino/file, each with pino.transport({ sync: true }), the only mode in which
// @sealog/pino can slow the producer down. Measures; asserts nothing.
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { accounted, countLedger, countLines } from './accounting.mjs';
import {
  AUDIT_MSG,
  auditRecord,
  inChild,
  machine,
  makeKeys,
  scale,
  sealogOptions,
  table,
  workDir,
} from './lib.mjs';
import { endTransport, loggerFor, notBuiltYet } from './transport.mjs';

const DURATION_MS = scale(10_000, 1_000);
const CLOSE_CAP_MS = scale(120_000, 30_000);
const YIELD_EVERY = 100;
/** Distinct fixture records cycled through (built before the clock starts). */
const FIXTURE = 5_000;
const PROBE_MS = 10;

const VARIANTS = {
  file: { name: 'pino/file', target: 'pino/file' },
  sealog: { name: '@sealog/pino (full pipeline), default (shed)', target: '@sealog/pino', peer: 'file' },
  'file-sync': { name: 'pino/file, sync: true', target: 'pino/file', sync: true },
  'sealog-block': {
    name: "@sealog/pino (full pipeline), overload: 'block', sync: true",
    target: '@sealog/pino',
    sync: true,
    extra: { overload: 'block' },
    peer: 'file-sync',
  },
};

/** One variant in this process: returns its measurements, or `{ notBuilt }`. */
async function child(variant) {
  const v = VARIANTS[variant];
  const dir = workDir();
  const out = join(dir, v.target === 'pino/file' ? 'app.log' : 'audit.db');
  const options =
    v.target === 'pino/file'
      ? { destination: out, mkdir: true }
      : sealogOptions(out, makeKeys(dir), v.extra ?? {});
  let logger;
  let transport;
  try {
    ({ logger, transport } = await loggerFor(v.target, options, { sync: v.sync }));
  } catch (err) {
    const missing = Object.keys(v.extra ?? {}).find((k) => notBuiltYet(err, k));
    if (missing !== undefined) return { notBuilt: missing };
    throw err;
  }
  const records = Array.from({ length: FIXTURE }, (_, i) => auditRecord(i));

  const eld = monitorEventLoopDelay({ resolution: 10 });
  let lagMax = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    lagMax = Math.max(lagMax, now - last - PROBE_MS);
    last = now;
  }, PROBE_MS);
  eld.enable();

  let logged = 0;
  let longest = 0n;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(DURATION_MS) * 1_000_000n;
  for (;;) {
    for (let k = 0; k < YIELD_EVERY; k++) {
      const c0 = process.hrtime.bigint();
      logger.info(records[logged % FIXTURE], AUDIT_MSG);
      const d = process.hrtime.bigint() - c0;
      if (d > longest) longest = d;
      logged++;
    }
    await yieldToLoop();
    if (process.hrtime.bigint() >= end) break;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  eld.disable();
  clearInterval(probe);

  const c0 = process.hrtime.bigint();
  const closed = await endTransport(transport, { timeoutMs: CLOSE_CAP_MS });
  const closeS = Number(process.hrtime.bigint() - c0) / 1e9;
  const peakRss = process.resourceUsage().maxRSS / 1024;
  const counts = v.target === 'pino/file' ? { appRecords: await countLines(out), shed: 0 } : countLedger(out);
  return {
    logged,
    seconds,
    longestMs: Number(longest) / 1e6,
    eldMs: eld.max / 1e6,
    lagMs: lagMax,
    peakRss,
    closed,
    closeS,
    ...accounted(logged, counts),
    gapRecords: counts.gapRecords ?? 0,
    byReason: counts.byReason ?? {},
  };
}

function main() {
  const results = {};
  for (const variant of Object.keys(VARIANTS)) {
    results[variant] = inChild(import.meta.filename, 'child', variant);
  }
  const rows = [];
  const notes = [];
  for (const [variant, v] of Object.entries(VARIANTS)) {
    const r = results[variant];
    if (r.notBuilt) {
      rows.push({ name: v.name, note: `n/a — not built yet (option "${r.notBuilt}" unknown)` });
      continue;
    }
    const row = {
      name: v.name,
      logged: r.logged,
      'logged/s': r.logged / r.seconds,
      'longest call ms': r.longestMs,
      'max ELD ms': r.eldMs,
      'max lag probe ms': r.lagMs,
      'peak RSS MB': r.peakRss,
      'close s': r.closed ? r.closeS : `> ${CLOSE_CAP_MS / 1000} (not closed)`,
      stored: r.stored,
      'gap records': r.gapRecords,
      shed: r.shed,
      unaccounted: r.unaccounted,
      'unparsed rows': r['unparsed rows'],
    };
    const peer = v.peer && results[v.peer];
    if (peer && !peer.notBuilt) {
      row['longest call ×'] = r.longestMs / peer.longestMs;
      row['max ELD ×'] = r.eldMs / peer.eldMs;
      row['peak RSS ×'] = r.peakRss / peer.peakRss;
      row['logged/s ×'] = r.logged / r.seconds / (peer.logged / peer.seconds);
    }
    rows.push(row);
    if (Object.keys(r.byReason).length > 0)
      notes.push(`${v.name}: shed by reason ${JSON.stringify(r.byReason)}`);
    if (!r.closed)
      notes.push(`${v.name}: did not close within ${CLOSE_CAP_MS / 1000} s; counted what was stored then`);
  }
  console.log(`machine: ${machine()}`);
  table(
    `pino, overload: logging flat out for ${DURATION_MS / 1000} s, ${YIELD_EVERY} calls per loop turn; ` +
      '× columns are ratios to the pino/file row with the same sync setting',
    rows,
  );
  for (const n of notes) console.log(`note: ${n}`);
}

if (process.argv[2] === 'child') {
  console.log(JSON.stringify(await child(process.argv[3])));
  process.exit(0); // a worker that did not close in time must not hold the process
} else main();
