// Scenario 3: winston throughput and event-loop blocking (p99 delay from
// perf_hooks.monitorEventLoopDelay) with SealogTransport vs winston's File
// transport. Targets: ≥ 1.0× File's throughput, p99 delay no worse than File's.
// SealogTransport runs the full pipeline (lib.mjs sealogOptions: 3 redactions,
// 2 pseudonyms, 1 generalized IP, 1 noised metric, msg scrubbing, checkpoints
// every 1000 records). records/s is N over the time to the logger's `finish`,
// which for SealogTransport comes after every record is committed and sealed;
// the stored and shed columns are counted in the files afterwards.
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SealogTransport } from '@sealog/winston';
import winston from 'winston';
import { accounted, countLedger, countLines } from './accounting.mjs';
import { AUDIT_MSG, auditRecord, machine, makeKeys, scale, sealogOptions, table, workDir } from './lib.mjs';

const N = scale(200_000, 3_000);
const CHUNK = 500; // records per event-loop turn, as a busy server would log them
const dir = workDir();
const keys = makeKeys(dir);

async function run(name, transport, count) {
  const logger = winston.createLogger({
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < Math.min(N, i + CHUNK); j++) logger.info(AUDIT_MSG, auditRecord(j));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((resolve) => {
    logger.on('finish', resolve);
    logger.end();
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  h.disable();
  const counts = await count();
  return {
    name,
    ...accounted(N, counts),
    'records/s': N / s,
    'stored/s': (counts.appRecords ?? 0) / s,
    'p99 loop delay ms': h.percentile(99) / 1e6,
    'max loop delay ms': h.max / 1e6,
  };
}

const log = join(dir, 'app.log');
const db = join(dir, 'audit.db');
const file = await run('winston File', new winston.transports.File({ filename: log }), async () => ({
  appRecords: await countLines(log),
}));
const sealog = await run(
  'SealogTransport (full pipeline)',
  new SealogTransport(sealogOptions(db, keys)),
  () => countLedger(db),
);
// overload: 'block' stores every record (the app thread waits instead): its
// stored/s is the pipeline's own capacity beside File's.
const blockDb = join(dir, 'audit-block.db');
const blocked = await run(
  "SealogTransport (full pipeline), overload: 'block'",
  new SealogTransport(sealogOptions(blockDb, keys, { overload: 'block' })),
  () => countLedger(blockDb),
);
for (const r of [sealog, blocked]) {
  r['throughput ratio'] = r['records/s'] / file['records/s'];
  r['stored/s ratio'] = r['stored/s'] / file['stored/s'];
  r['p99 ratio'] = r['p99 loop delay ms'] / file['p99 loop delay ms'];
}
console.log(`machine: ${machine()}`);
table(
  `winston: ${N} records in chunks of ${CHUNK} per loop turn (targets: throughput ratio ≥ 1.0, p99 ratio ≤ 1.0)`,
  [file, sealog, blocked],
);
