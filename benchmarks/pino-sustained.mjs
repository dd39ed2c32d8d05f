// Scenario 2: sustained records/s committed to the ledger over ≥ 1M records
// vs pino/file's rate for the same records, with peak RSS (process-wide: the
// worker thread lives in the same process). Targets: ≥ 150k records/s, < 200 MB.
//
// Three sides, so the cost of sealing alone shows beside the full pipeline:
// pino/file; @sealog/pino with only { path, checkpoint } (chain, Merkle tree,
// SQLite, a signed checkpoint every 1000 records; no privacy); and the full
// pipeline (privacy too). "records/s" is records STORED (counted in the file
// or ledger afterwards, gap records excluded) per second from the first
// logger.info to the transport's close, which waits until all are committed;
// records shed under overload are counted apart, from the gap records.
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
import { endTransport, loggerFor } from './transport.mjs';

const N = scale(1_000_000, 5_000);
const PACED_RATE = 20_000;
const PACED_N = scale(200_000, 2_000);

const SIDES = {
  file: 'pino/file',
  bare: '@sealog/pino, sealing only (no privacy)',
  full: '@sealog/pino (full pipeline)',
  // overload: 'block' + pino's sync: true stores every record, so records/s is the
  // pipeline's own capacity rather than what is left of the worker beside shedding.
  bareBlock: "@sealog/pino, sealing only, overload: 'block', sync: true",
  fullBlock: "@sealog/pino (full pipeline), overload: 'block', sync: true",
};
const BLOCK = new Set(['bareBlock', 'fullBlock']);

function target(side, dir) {
  if (side === 'file') {
    const out = join(dir, 'app.log');
    return { out, target: 'pino/file', options: { destination: out } };
  }
  const out = join(dir, 'audit.db');
  const keys = makeKeys(dir);
  const block = BLOCK.has(side) ? { overload: 'block' } : {};
  const options =
    side === 'bare' || side === 'bareBlock'
      ? { path: out, checkpoint: { keyFile: keys.keyFile, everyRecords: 1000 }, ...block }
      : sealogOptions(out, keys, block);
  return { out, target: '@sealog/pino', options };
}

/** One side in this process (its own peak RSS). */
async function child(side, paced) {
  const dir = workDir();
  const t = target(side, dir);
  const { logger, transport } = await loggerFor(t.target, t.options, { sync: BLOCK.has(side) });
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
  const counts = side === 'file' ? { appRecords: await countLines(t.out) } : countLedger(t.out);
  return {
    name: `${SIDES[side]}, ${paced ? `paced at ${PACED_RATE / 1000}k/s` : 'flat out'}`,
    ...accounted(n, counts),
    seconds: s,
    'records/s': counts.appRecords / s,
    'MB/s on disk': statSync(t.out).size / s / 1e6,
    'peak RSS MB': process.resourceUsage().maxRSS / 1024,
  };
}

function main() {
  const flat = Object.keys(SIDES).map((side) => inChild(import.meta.filename, 'child', side));
  for (const r of flat) r['ratio records/s vs pino/file'] = r['records/s'] / flat[0]['records/s'];
  const paced = ['file', 'full'].map((side) => inChild(import.meta.filename, 'child', side, '--paced'));
  paced[1]['ratio peak RSS vs pino/file'] = paced[1]['peak RSS MB'] / paced[0]['peak RSS MB'];
  console.log(`machine: ${machine()}`);
  table(
    `pino, sustained: ${N} records flat out, ${PACED_N} paced (targets: ≥ 150k records/s, peak RSS < 200 MB)`,
    [...flat, ...paced],
  );
}

if (process.argv[2] === 'child') {
  console.log(JSON.stringify(await child(process.argv[3], process.argv.includes('--paced'))));
} else main();
