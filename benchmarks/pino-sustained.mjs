// Scenario 2: sustained records/s committed to the ledger over ≥ 1M records
// vs pino/file's rate for the same records, with peak RSS (process-wide: the
// worker thread lives in the same process). Targets: ≥ 150k records/s, < 200 MB.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_MSG, auditRecord, machine, makeKeys, scale, sealogOptions, table, workDir } from './lib.mjs';
import { endTransport, loggerFor } from './transport.mjs';

const N = scale(1_000_000, 5_000);
const dir = workDir();
const keys = makeKeys(dir);
const which = process.argv[2];

async function run(name, target, options, out) {
  const { logger, transport } = await loggerFor(target, options);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) logger.info(auditRecord(i), AUDIT_MSG);
  await endTransport(transport);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = statSync(out).size;
  return {
    name,
    records: N,
    seconds: s,
    'records/s': N / s,
    'MB/s on disk': bytes / s / 1e6,
    'peak RSS MB': process.resourceUsage().maxRSS / 1024,
  };
}

// Each side runs in its own process (see run.mjs) so peak RSS is its own.
if (which === 'file') {
  const out = join(dir, 'app.log');
  console.log(JSON.stringify(await run('pino/file', 'pino/file', { destination: out }, out)));
} else if (which === 'sealog') {
  const out = join(dir, 'audit.db');
  console.log(
    JSON.stringify(await run('@sealog/pino (full pipeline)', '@sealog/pino', sealogOptions(out, keys), out)),
  );
} else {
  const { execFileSync } = await import('node:child_process');
  const side = (w) =>
    JSON.parse(
      execFileSync(process.execPath, [import.meta.filename, w, ...process.argv.slice(2)], {
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .pop(),
    );
  const file = side('file');
  const sealog = side('sealog');
  sealog['ratio records/s'] = sealog['records/s'] / file['records/s'];
  console.log(`machine: ${machine()}`);
  table(`pino, sustained: ${N} records committed (targets: ≥ 150k records/s, peak RSS < 200 MB)`, [
    file,
    sealog,
  ]);
}
