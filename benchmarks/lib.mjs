// Shared fixtures and reporting for the benchmarks. Benchmarks measure; they
// never assert timings. This machine is shared and noisy: compare the ratios
// printed within one run, not absolute numbers across runs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateKey, writeKeyFile } from '@sealog/core';

/** Quick mode (seconds): what the test suite runs so the benchmarks cannot rot. */
export const QUICK = process.env.SEALOG_BENCH_QUICK === '1' || process.argv.includes('--quick');

/** `full` records normally, `quick` in quick mode. */
export const scale = (full, quick) => (QUICK ? quick : full);

/** A temp directory removed at exit. */
export function workDir() {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A realistic ~300-byte audit record with nested fields, as an app would log it. */
export function auditRecord(i) {
  return {
    user: { id: `u-${100000 + (i % 5000)}`, email: `user${i % 5000}@example.com`, password: 'hunter2' },
    client: { ip: `203.0.${(i >> 8) & 255}.${i & 255}`, ua: 'Mozilla/5.0 (X11; Linux x86_64)' },
    req: {
      method: 'POST',
      url: '/api/v1/invoices/export',
      headers: { authorization: 'Bearer eyJhbGciOi.x.y', cookie: 'sid=abc' },
    },
    action: 'invoice.export',
    latencyMs: 20 + (i % 500),
  };
}
export const AUDIT_MSG = 'user exported invoices for customer support@example.com';

/** `n` records as pino hands them to a transport: level, time, msg and the audit fields. */
export function loggedRecords(n) {
  return Array.from({ length: n }, (_, i) => ({
    level: 30,
    time: 1_700_000_000_000 + i,
    msg: AUDIT_MSG,
    ...auditRecord(i),
  }));
}

/** Key files for the full pipeline: a pseudonymization key and a checkpoint signing key. */
export function makeKeys(dir) {
  const psnKey = join(dir, 'psn.key');
  writeFileSync(psnKey, randomBytes(32).toString('base64'), { mode: 0o600 });
  const key = generateKey('bench.example/audit');
  const keyFile = join(dir, 'checkpoint.key');
  writeKeyFile(keyFile, key.privateKey);
  return { psnKey, keyFile, verifierKey: key.verifierKey };
}

/** The realistic privacy config: 3 redactions, 2 pseudonyms, 1 IP, 1 noised metric, msg scrubbing. */
export function privacyConfig(psnKey, { noise = true } = {}) {
  const cfg = {
    redact: { paths: ['user.password', 'req.headers.authorization', 'req.headers.cookie'] },
    pseudonymize: { paths: ['user.id', 'user.email'], keys: [{ id: 'k1', file: psnKey }], current: 'k1' },
    generalize: [{ path: 'client.ip', ip: { v4Prefix: 24, v6Prefix: 48 } }],
    scrub: { paths: ['msg'], kinds: ['email', 'ip', 'card', 'token', 'jwt'], replace: 'tag' },
  };
  if (noise) {
    cfg.noise = {
      unit: 'user.id',
      budget: { epsilon: 1000, windowSeconds: 86400 },
      fields: { latencyMs: { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 5000, granularity: 1 } },
    };
  }
  return cfg;
}

/** Full sealog options for a ledger at `path`. */
export function sealogOptions(path, keys, extra = {}) {
  return {
    path,
    privacy: privacyConfig(keys.psnKey),
    checkpoint: { keyFile: keys.keyFile, everyRecords: 1000 },
    ...extra,
  };
}

/** Runs fn repeatedly for about `ms`, returns mean µs per call over `n` inner iterations. */
export function usPer(n, fn) {
  const t0 = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

// Counts print as integers, measurements with 3 significant digits (more when ≥ 100).
const fmt = (v) =>
  typeof v !== 'number'
    ? String(v)
    : Number.isInteger(v) || Math.abs(v) >= 100
      ? v.toFixed(0)
      : v.toPrecision(3);

/** Prints a titled table of rows [{ name, ...metrics }] and returns it for JSON output. */
export function table(title, rows) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = [cols, ...rows.map((r) => cols.map((c) => (r[c] === undefined ? '' : fmt(r[c]))))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => String(row[i]).length)));
  console.log(`\n## ${title}${QUICK ? ' (quick mode)' : ''}\n`);
  for (const [i, row] of cells.entries()) {
    console.log(`| ${row.map((c, j) => String(c).padEnd(widths[j])).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
  return rows;
}

/**
 * Runs `file` with `args` in a fresh process (its own heap, worker threads and
 * peak RSS) and returns the JSON object it printed last on stdout. Quick mode
 * is passed on; stderr goes to ours.
 */
export function inChild(file, ...args) {
  const out = execFileSync(process.execPath, [file, ...args, ...(QUICK ? ['--quick'] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** The median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One line describing the machine, printed with every result. */
export function machine() {
  const c = cpus();
  return `${c.length}× ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}
