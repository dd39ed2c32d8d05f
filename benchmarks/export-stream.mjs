// Scenario: `sealog export` of a large ledger as one JSON bundle (the whole
// bundle built as one string, then written) beside the streamed JSON Lines
// form (`--format jsonl`, written as it is proved), and `sealog verify-bundle`
// of each (the JSON bundle is read and parsed whole, the stream line by line).
// Each run is the real CLI (packages/cli/dist/bin.js) in a process of its own,
// measured by /usr/bin/time: wall time and peak RSS. Issue 19 item 10: 300k
// records made one 389 MB JSON string in 23.5 s. Measures; asserts nothing.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ledgerKey, makeLedger } from './lib/ledger.mjs';
import { machine, scale, table, workDir } from './lib.mjs';

const N = scale(Number(process.env.SEALOG_BENCH_EXPORT_RECORDS ?? 100_000), 5_000);
/** --max-old-space-size of the capped runs (MiB). */
const CAP = 64;
const dir = workDir();
const { signer, keyFile } = ledgerKey(dir);

/**
 * Runs the CLI under /usr/bin/time: seconds and peak RSS (MiB). With `heapMiB`,
 * under --max-old-space-size: a run that needs more live heap fails (`failed`).
 */
function measured(args, heapMiB) {
  const node = heapMiB ? [`--max-old-space-size=${heapMiB}`] : [];
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, ...node, CLI, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 2 ** 20,
  });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (heapMiB && r.status !== 0)
    return { failed: /heap out of memory/.test(r.stderr) ? 'out of memory' : `exit ${r.status}` };
  if (r.status !== 0 || !m) throw new Error(`sealog ${args[0]} failed (${r.status}): ${r.stderr}`);
  return { s: Number(m[1]), rssMiB: Number(m[2]) / 1024 };
}

/** One table row: a measured CLI run and the size of the file it wrote. */
function row(name, args, file, heapMiB) {
  const r = measured(args, heapMiB);
  if (r.failed) return { name, failed: r.failed };
  const sizeMiB = file ? statSync(file).size / 2 ** 20 : undefined;
  return { name, s: r.s, 'records/s': N / r.s, 'peak RSS MiB': r.rssMiB, 'file MiB': sizeMiB };
}

const ledger = join(dir, 'audit.db');
makeLedger(ledger, N, signer);
const json = join(dir, 'bundle.json');
const jsonl = join(dir, 'bundle.jsonl');
const rows = [
  row(
    'export, one JSON bundle (--out bundle.json)',
    ['export', ledger, '--key-file', keyFile, '--out', json],
    json,
  ),
  row(
    'export, streamed (--format jsonl)',
    ['export', ledger, '--key-file', keyFile, '--out', jsonl, '--format', 'jsonl'],
    jsonl,
  ),
  row('verify-bundle, JSON bundle', ['verify-bundle', json, '--key-file', keyFile]),
  row('verify-bundle, streamed', ['verify-bundle', jsonl, '--key-file', keyFile]),
  // What each keeps alive, not what the collector has yet to return: the same exports on a small heap.
  row(
    `export, one JSON bundle, heap capped at ${CAP} MiB`,
    ['export', ledger, '--key-file', keyFile, '--out', join(dir, 'capped.json')],
    undefined,
    CAP,
  ),
  row(
    `export, streamed, heap capped at ${CAP} MiB`,
    ['export', ledger, '--key-file', keyFile, '--out', join(dir, 'capped.jsonl')],
    undefined,
    CAP,
  ),
];
table(`export of ${N} records: one JSON string vs streamed JSON Lines (${machine()})`, rows);
const [one, streamed] = rows;
console.log(
  `\nstreamed / one string: time ×${(streamed.s / one.s).toFixed(2)}, peak RSS ×${(streamed['peak RSS MiB'] / one['peak RSS MiB']).toFixed(2)}`,
);
