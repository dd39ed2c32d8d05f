// Scenario 1: main-thread cost per logger.info with @sealog/pino (full
// pipeline in the worker: 3 redactions, 2 pseudonyms, 1 noised metric, chain,
// SQLite WAL, checkpoints every 1000 records) vs pino/file. Target ≤ 1.2×.
import { join } from 'node:path';
import { AUDIT_MSG, auditRecord, machine, makeKeys, scale, sealogOptions, table, workDir } from './lib.mjs';
import { endTransport, loggerFor } from './transport.mjs';

const N = scale(200_000, 3_000);
const dir = workDir();
const keys = makeKeys(dir);
const records = Array.from({ length: N }, (_, i) => auditRecord(i));

async function run(name, target, options) {
  const { logger, transport } = await loggerFor(target, options);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) logger.info(records[i], AUDIT_MSG);
  const calls = Number(process.hrtime.bigint() - t0) / 1000;
  await endTransport(transport);
  const total = Number(process.hrtime.bigint() - t0) / 1000;
  return { name, 'main-thread µs/call': calls / N, 'end-to-end µs/record': total / N };
}

const file = await run('pino/file', 'pino/file', { destination: join(dir, 'app.log'), mkdir: true });
const sealog = await run(
  '@sealog/pino (full pipeline)',
  '@sealog/pino',
  sealogOptions(join(dir, 'audit.db'), keys),
);
sealog['ratio (main thread)'] = sealog['main-thread µs/call'] / file['main-thread µs/call'];
sealog['ratio (end-to-end)'] = sealog['end-to-end µs/record'] / file['end-to-end µs/record'];
console.log(`machine: ${machine()}`);
table(`pino, app side: ${N} logger.info calls (target: main-thread ratio ≤ 1.2)`, [file, sealog]);
