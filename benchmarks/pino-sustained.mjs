// Scenario 2: sustained records/s committed to the ledger over ≥ 1M records
// vs pino/file's rate for the same records, with peak RSS (process-wide: the
// worker thread lives in the same process). Targets: ≥ 150k records/s, < 200 MB.
//
// Two loads. "flat out": one synchronous loop logs every record as fast as
// pino serialises them, faster than either worker drains; pino's thread-stream
// then keeps the overflow as a string in the app's thread (up to V8's maximum
// string length, after which logger.info blocks until the worker catches up),
// so peak RSS there measures pino's buffer, the same for both sides. "paced":
// the app logs at PACED_RATE records/s in 10 ms slices, below both workers'
// capacity, which is what a service does; peak RSS then shows what the
// transport itself holds.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_MSG, auditRecord, machine, makeKeys, scale, sealogOptions, table, workDir } from './lib.mjs';
import { endTransport, loggerFor } from './transport.mjs';

const N = scale(1_000_000, 5_000);
const dir = workDir();
const keys = makeKeys(dir);
const which = process.argv[2];
const PACED_RATE = 20_000;
const PACED_N = scale(200_000, 2_000);

async function run(name, target, options, out, paced) {
  const { logger, transport } = await loggerFor(target, options);
  const n = paced ? PACED_N : N;
  const t0 = process.hrtime.bigint();
  if (paced) {
    const slice = PACED_RATE / 100; // records per 10 ms
    for (let i = 0; i < n; i += slice) {
      for (let j = i; j < Math.min(n, i + slice); j++) logger.info(auditRecord(j), AUDIT_MSG);
      const due = Number(t0) / 1e6 + ((i + slice) / PACED_RATE) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Number(process.hrtime.bigint()) / 1e6)));
    }
  } else {
    for (let i = 0; i < n; i++) logger.info(auditRecord(i), AUDIT_MSG);
  }
  await endTransport(transport);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = statSync(out).size;
  return {
    name: `${name}, ${paced ? `paced at ${PACED_RATE / 1000}k/s` : 'flat out'}`,
    records: n,
    seconds: s,
    'records/s': n / s,
    'MB/s on disk': bytes / s / 1e6,
    'peak RSS MB': process.resourceUsage().maxRSS / 1024,
  };
}

// Each side runs in its own process (see run.mjs) so peak RSS is its own.
const paced = process.argv.includes('--paced');
if (which === 'file') {
  const out = join(dir, 'app.log');
  console.log(JSON.stringify(await run('pino/file', 'pino/file', { destination: out }, out, paced)));
} else if (which === 'sealog') {
  const out = join(dir, 'audit.db');
  const options = sealogOptions(out, keys);
  console.log(JSON.stringify(await run('@sealog/pino (full pipeline)', '@sealog/pino', options, out, paced)));
} else {
  const { execFileSync } = await import('node:child_process');
  const side = (w, ...more) =>
    JSON.parse(
      execFileSync(process.execPath, [import.meta.filename, w, ...process.argv.slice(2), ...more], {
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .pop(),
    );
  const file = side('file');
  const sealog = side('sealog');
  sealog['ratio records/s'] = sealog['records/s'] / file['records/s'];
  const pacedFile = side('file', '--paced');
  const pacedSealog = side('sealog', '--paced');
  console.log(`machine: ${machine()}`);
  table(
    `pino, sustained: ${N} records flat out, ${PACED_N} paced (targets: ≥ 150k records/s, peak RSS < 200 MB)`,
    [file, sealog, pacedFile, pacedSealog],
  );
}
