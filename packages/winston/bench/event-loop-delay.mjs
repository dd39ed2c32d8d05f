// Event-loop delay while logging 100k records through winston: the File
// transport vs SealogTransport, side by side in one run. The app logs in
// chunks of 500 per macrotask (as a busy server would), so the histogram sees
// every stall a transport adds. Run after building: node bench/event-loop-delay.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import winston from 'winston';
import { SealogTransport } from '../dist/index.js';

const N = 100_000;
const CHUNK = 500;
const dir = mkdtempSync(join(tmpdir(), 'sealog-bench-'));

async function measure(name, transport) {
  const logger = winston.createLogger({ format: winston.format.json(), transports: [transport] });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  h.enable();
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) logger.info('request completed', { i: j, user: 'u-42', ms: 12.5 });
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => {
    logger.once('finish', r);
    logger.end();
  });
  h.disable();
  const ms = (ns) => (ns / 1e6).toFixed(2);
  const result = { p50: h.percentile(50), p99: h.percentile(99), max: h.max, total: performance.now() - t0 };
  console.log(
    `${name.padEnd(16)} p50 ${ms(result.p50)} ms  p99 ${ms(result.p99)} ms  max ${ms(result.max)} ms  total ${result.total.toFixed(0)} ms (committed/flushed at finish)`,
  );
  return result;
}

const file = await measure('winston File', new winston.transports.File({ filename: join(dir, 'app.log') }));
const seal = await measure('SealogTransport', new SealogTransport({ path: join(dir, 'audit.db') }));
// Smaller ledger batches: with sealing in the worker thread this should change little on the app's loop.
const small = await measure(
  'sealog batch 100',
  new SealogTransport({ path: join(dir, 'small.db'), batchSize: 100 }),
);
console.log(`ratio sealog(batch 100)/file: p99 ${(small.p99 / file.p99).toFixed(2)}x`);
console.log(
  `ratio sealog/file: p99 ${(seal.p99 / file.p99).toFixed(2)}x  total ${(seal.total / file.total).toFixed(2)}x`,
);
