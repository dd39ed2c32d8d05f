// Scenario 1: main-thread cost per logger.info with @sealog/pino (full
// pipeline in the worker: 3 redactions, 2 pseudonyms, 1 noised metric, chain,
// SQLite WAL, checkpoints every 1000 records) vs pino/file, in two loop styles:
//   sync:  one synchronous loop of N calls;
//   yield: batches of YIELD_EVERY calls with `await setImmediate` between
//          them, the way a server logs while handling requests. Issue 15
//          measured 6.00 vs 4.07 µs (1.40×) in this style.
// "main-thread µs/call" is the time spent inside the logging loops only (not
// the turns yielded to the worker), per call. Every run is its own process;
// the styles and sides alternate, REPEATS times, and the median is reported.
// Target: main-thread ratio ≤ 1.2. Measures; asserts nothing.
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { countLedger, countLines } from './accounting.mjs';
import {
  AUDIT_MSG,
  auditRecord,
  inChild,
  machine,
  makeKeys,
  median,
  scale,
  sealogOptions,
  table,
  workDir,
} from './lib.mjs';
import { endTransport, loggerFor } from './transport.mjs';

const N = scale(200_000, 3_000);
const YIELD_EVERY = 100;
const REPEATS = scale(3, 1);
const STYLES = {
  sync: 'one synchronous loop',
  yield: `${YIELD_EVERY} calls, then await setImmediate`,
};

/** One side in this process: logs N records in `style`, ends the transport, counts what was stored. */
async function child(side, style) {
  const dir = workDir();
  const out = join(dir, side === 'file' ? 'app.log' : 'audit.db');
  const options = side === 'file' ? { destination: out, mkdir: true } : sealogOptions(out, makeKeys(dir));
  const { logger, transport } = await loggerFor(side === 'file' ? 'pino/file' : '@sealog/pino', options);
  const records = Array.from({ length: N }, (_, i) => auditRecord(i));
  let inCalls = 0n;
  const t0 = process.hrtime.bigint();
  if (style === 'sync') {
    for (let i = 0; i < N; i++) logger.info(records[i], AUDIT_MSG);
    inCalls = process.hrtime.bigint() - t0;
  } else {
    for (let i = 0; i < N; i += YIELD_EVERY) {
      const b0 = process.hrtime.bigint();
      for (let j = i; j < Math.min(N, i + YIELD_EVERY); j++) logger.info(records[j], AUDIT_MSG);
      inCalls += process.hrtime.bigint() - b0;
      await yieldToLoop();
    }
  }
  await endTransport(transport);
  const total = Number(process.hrtime.bigint() - t0) / 1000;
  const stored = side === 'file' ? await countLines(out) : countLedger(out).appRecords;
  return { mainUs: Number(inCalls) / 1000 / N, e2eUs: total / N, stored };
}

async function main() {
  const runs = {};
  for (let r = 0; r < REPEATS; r++) {
    for (const style of Object.keys(STYLES)) {
      for (const side of ['file', 'sealog']) {
        const key = `${style}/${side}`;
        runs[key] = [...(runs[key] ?? []), inChild(import.meta.filename, 'child', side, style)];
      }
    }
  }
  const rows = [];
  for (const [style, how] of Object.entries(STYLES)) {
    const m = (side, k) => median(runs[`${style}/${side}`].map((x) => x[k]));
    const row = (side, name) => ({
      name: `${name}, ${style}: ${how}`,
      'main-thread µs/call': m(side, 'mainUs'),
      'end-to-end µs/record': m(side, 'e2eUs'),
      stored: Math.min(...runs[`${style}/${side}`].map((x) => x.stored)),
    });
    const file = row('file', 'pino/file');
    const sealog = row('sealog', '@sealog/pino (full pipeline)');
    sealog['ratio (main thread)'] = sealog['main-thread µs/call'] / file['main-thread µs/call'];
    sealog['ratio (end-to-end)'] = sealog['end-to-end µs/record'] / file['end-to-end µs/record'];
    rows.push(file, sealog);
  }
  console.log(`machine: ${machine()}`);
  table(
    `pino, app side: ${N} logger.info calls per run, median of ${REPEATS} (target: main-thread ratio ≤ 1.2)`,
    rows,
  );
}

if (process.argv[2] === 'child') console.log(JSON.stringify(await child(process.argv[3], process.argv[4])));
else await main();
