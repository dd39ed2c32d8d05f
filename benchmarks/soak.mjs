// Soak (docs/reliability.md): minutes of sustained writes through the real
// pino transport (worker thread, full privacy + checkpoint pipeline) while a
// `sealog tail -f` follows the file and `sealog verify` runs periodically.
// Samples RSS and open fds of this process (the pino worker thread lives in
// it), the WAL size and progress every few seconds, then prints the samples
// and a verdict: memory flat, no fd growth, WAL bounded (checkpointing works
// while readers are open), tail saw every record, every verify passed.
// Not in the test command. Usage:
//   node benchmarks/soak.mjs [--seconds 180] [--rate 20000] [--every 5]
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LedgerReader } from '@sealog/core';
import pino from 'pino';
import { AUDIT_MSG, auditRecord, machine, makeKeys, sealogOptions, workDir } from './lib.mjs';
import { endTransport } from './transport.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    rate: { type: 'string', default: '20000' },
    every: { type: 'string', default: '5' },
    'verify-every': { type: 'string', default: '30' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const SAMPLE_S = Number(values.every);
const VERIFY_S = Number(values['verify-every']);
const CLI = join(import.meta.dirname, '..', 'packages', 'cli', 'dist', 'bin.js');

const dir = workDir();
const keys = makeKeys(dir);
const path = join(dir, 'soak.db');
const transport = pino.transport({ target: '@sealog/pino', options: sealogOptions(path, keys) });
const logger = pino({ base: { pid: process.pid, hostname: 'soak' } }, transport);
logger.info({ n: -1 }, 'soak start'); // creates the ledger before the readers open it
await new Promise((r) => setTimeout(r, 2000));

// tail -f from the first record, counting lines (one record per line with --json).
const tail = spawn(process.execPath, [CLI, 'tail', path, '-f', '-n', '0', '--json'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tailLines = 0;
let tailFirstN; // "soak start" (n -1) may or may not be committed before tail starts with -n 0
let tailLastN;
let tailOrderOk = true;
let tailBuf = '';
tail.stdout.setEncoding('utf8').on('data', (d) => {
  tailBuf += d;
  const lines = tailBuf.split('\n');
  tailBuf = lines.pop();
  for (const l of lines) {
    tailLines++;
    const n = JSON.parse(l).n;
    tailFirstN ??= n;
    if (tailLastN !== undefined && n !== tailLastN + 1) tailOrderOk = false;
    tailLastN = n;
  }
});

function runVerify() {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const v = spawn(process.execPath, [CLI, 'verify', path, '--key', keys.verifierKey, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    v.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    v.on('close', (code) => {
      let kinds = [];
      let size = 0;
      try {
        const r = JSON.parse(out);
        kinds = [...new Set(r.findings.map((f) => f.kind))];
        size = r.size;
      } catch {
        kinds = ['unparsable-output'];
      }
      resolve({ code, size, kinds, ms: Date.now() - t0 });
    });
  });
}

const reader = new LedgerReader(path); // a reader held open for the whole run
const fdCount = () => readdirSync('/proc/self/fd').length;
const walSize = () => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
const samples = [];
const verifies = [];
let written = 0;
const t0 = Date.now();
const sample = () =>
  samples.push({
    t: Math.round((Date.now() - t0) / 1000),
    written,
    committed: reader.size(),
    tailed: tailLines,
    rssMB: +(process.memoryUsage().rss / 1048576).toFixed(1),
    heapMB: +(process.memoryUsage().heapUsed / 1048576).toFixed(1),
    fds: fdCount(),
    walMB: +(walSize() / 1048576).toFixed(2),
  });

const sampler = setInterval(sample, SAMPLE_S * 1000);
let verifying = false;
const verifier = setInterval(async () => {
  if (verifying) return;
  verifying = true;
  verifies.push(await runVerify());
  verifying = false;
}, VERIFY_S * 1000);

// Paced writer: every 10 ms, catch up to RATE records/s.
await new Promise((resolve) => {
  const tick = setInterval(() => {
    const elapsed = (Date.now() - t0) / 1000;
    if (elapsed >= SECONDS) {
      clearInterval(tick);
      resolve();
      return;
    }
    const due = Math.floor(elapsed * RATE);
    while (written < due) {
      logger.info({ ...auditRecord(written), n: written }, AUDIT_MSG);
      written++;
    }
  }, 10);
});
clearInterval(sampler);
clearInterval(verifier);
await endTransport(transport);
sample();
while (verifying) await new Promise((r) => setTimeout(r, 100));
verifies.push(await runVerify());
const deadline = Date.now() + 60_000;
while (tailLastN !== written - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
tail.kill('SIGINT');
reader.close();

console.log(`machine: ${machine()}`);
console.log(`soak: ${SECONDS} s at ${RATE} records/s target, sample every ${SAMPLE_S} s`);
console.table(samples);
console.table(verifies);
const steady = samples.filter((s) => s.t >= Math.min(60, SECONDS / 3));
const first = steady[0] ?? samples[0];
const last = samples.at(-1);
const maxOf = (k) => Math.max(...samples.map((s) => s[k]));
const verdict = {
  records: written,
  'achieved records/s': Math.round(written / SECONDS),
  'committed at end': last.committed,
  'tail -f lines': tailLines,
  'tail in order, once each': tailOrderOk && tailLastN === written - 1 && tailLines === written - tailFirstN,
  'RSS MB after warm-up → end (max)': `${first.rssMB} → ${last.rssMB} (${maxOf('rssMB')})`,
  'fds after warm-up → end (max)': `${first.fds} → ${last.fds} (${maxOf('fds')})`,
  'WAL MB max': maxOf('walMB'),
  'verify runs / all exit 0 with at most an unsealed tail': `${verifies.length} / ${verifies.every((v) => v.code === 0 && v.kinds.every((k) => k === 'unsealed'))}`,
};
console.table(verdict);
