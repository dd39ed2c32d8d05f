// The README demo. An app that already logs with pino gets an audit ledger by
// adding one transport target; then `sealog tail` shows what was sealed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main as sealog } from '@sealog/cli';
import pino from 'pino';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '.data');
const ledgerPath = join(data, 'audit.db');
rmSync(data, { recursive: true, force: true });
mkdirSync(data, { recursive: true });

// A pseudonymization key: in production a secret file or env var, rotated by key id.
const psnKey = join(data, 'psn-2026.key');
writeFileSync(psnKey, randomBytes(32).toString('base64'), { mode: 0o600 });

const run = async (argv, out = (t) => process.stdout.write(t)) =>
  sealog(argv, { out, err: (t) => process.stderr.write(t), signal: new AbortController().signal });

// A checkpoint signing key: `sealog keygen` prints the public verifier keys an auditor needs.
const keyFile = join(data, 'audit.key');
let verifierKeys = '';
await run(['keygen', '--name', 'demo.example/audit', '--out', keyFile], (t) => {
  verifierKeys += t;
});

// A witness (C2SP tlog-witness): in production another party on another host.
// It cosigns each checkpoint only if it extends what it cosigned before, so a
// history rewritten later, even with the stolen log key, gets no cosignature.
const witnessKeyFile = join(data, 'witness.key');
let witnessKey = '';
await run(['witness', 'keygen', '--name', 'witness.demo.example/w1', '--out', witnessKeyFile], (t) => {
  witnessKey += t;
});
witnessKey = witnessKey.trim();
writeFileSync(
  join(data, 'witness.json'),
  JSON.stringify({
    keyFile: witnessKeyFile,
    stateFile: join(data, 'witness.db'),
    listen: '127.0.0.1:0',
    logs: [{ origin: 'demo.example/audit', key: verifierKeys.split('\n')[0] }],
  }),
);
const witness = await startWitness(join(data, 'witness.json'));

const transport = pino.transport({
  targets: [
    // What the app had before: its own log file (raw, as always: sealog does not touch other targets).
    { target: 'pino/file', options: { destination: join(data, 'app.log') } },
    // The one entry sealog adds.
    {
      target: '@sealog/pino',
      options: {
        path: ledgerPath,
        privacy: {
          redact: { paths: ['req.headers.authorization', 'user.password'] },
          pseudonymize: {
            paths: ['user.email', 'user.id'],
            keys: [{ id: 'k2026', file: psnKey }],
            current: 'k2026',
          },
          generalize: [{ path: 'client.ip', ip: { v4Prefix: 24, v6Prefix: 48 } }],
          scrub: { paths: ['msg'], kinds: ['email', 'ip', 'card', 'token', 'jwt'], replace: 'tag' },
          // Differential privacy on a metric: clamped to [0, 500], discrete Laplace noise, ε budget per user per day.
          // One stored refund is within ±749 of the truth (95%), the mean of 1000 refunds within ±21.9
          // (`sealog dp plan`, docs/differential-privacy.md "Planning"): read aggregates, not single values.
          noise: {
            unit: 'user.id',
            budget: { epsilon: 10, windowSeconds: 86400 },
            fields: { amount: { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 0.5 } },
          },
        },
        // Signed checkpoints (also written on close), copied to an anchor file kept elsewhere in production.
        // Each checkpoint is also sent to the witness, and its cosignature stored beside it.
        checkpoint: {
          keyFile,
          anchorFile: join(data, 'anchor.txt'),
          everyMs: 200, // seal soon after the first records (default: every 1000 records or 60 s)
          witnesses: [{ url: witness.url, key: witnessKey }],
        },
      },
    },
  ],
});
transport.on('error', (err) => {
  console.error('sealog transport failed:', err.message);
  process.exitCode = 1;
});
const logger = pino(transport);

const users = [
  { id: 'u-1001', email: 'alice@example.com', role: 'admin' },
  { id: 'u-1002', email: 'bob@example.org', role: 'analyst' },
];
logger.info({ user: users[0], client: { ip: '203.0.113.57' }, action: 'login' }, 'user logged in');
logger.info(
  {
    user: { ...users[1], password: 'hunter2' },
    client: { ip: '2001:db8:85a3::8a2e:370:7334' },
    action: 'login',
  },
  'user logged in',
);
logger.warn(
  { user: users[1], action: 'export', resource: 'invoices', rows: 1200 },
  'bulk export of invoices',
);
logger.info(
  {
    user: users[0],
    action: 'role.change',
    target: 'u-1002',
    req: { headers: { authorization: 'Bearer abc.def' } },
  },
  'role changed by alice@example.com from 198.51.100.4',
);
logger.error(
  { user: users[1], action: 'payment.refund', amount: 129.5 },
  'refund to card 4111 1111 1111 1111 failed',
);

// The witness cosigns in the background; a verifier that requires it needs its
// cosignature on a checkpoint that covers every record. The demo waits for one
// (it shows up in the anchor file) before shutting down.
await waitFor(() => {
  const anchor = join(data, 'anchor.txt');
  return existsSync(anchor) && readFileSync(anchor, 'utf8').includes('\n— witness.demo.example/w1 ');
}, 20_000);

// Shutdown: end the transport and wait for its worker to commit, checkpoint and close.
// pino unrefs the worker thread, so hold the event loop open while waiting.
const keepAlive = setInterval(() => {}, 1000);
await new Promise((resolve) => transport.once('close', resolve).end());
clearInterval(keepAlive);

console.log(`--- sealog tail ${ledgerPath} (what the ledger holds) ---`);
let code = await run(['tail', ledgerPath, '-n', '10']);

const keyArgs = verifierKeys
  .split('\n')
  .filter(Boolean)
  .flatMap((k) => ['--key', k]);
console.log(
  '\n--- sealog verify --strict --witness (chain, Merkle roots, signed checkpoints, anchor, witness) ---',
);
code ||= await run([
  'verify',
  ledgerPath,
  ...keyArgs,
  '--checkpoint',
  join(data, 'anchor.txt'),
  '--witness',
  witnessKey,
  '--strict',
]);
witness.child.kill('SIGTERM');
if (!existsSync(ledgerPath) || code !== 0) process.exitCode = 1;

/** Polls `done` every 50 ms for up to `ms`. */
async function waitFor(done, ms) {
  for (const end = Date.now() + ms; !done() && Date.now() < end; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `sealog witness serve` and resolves with its URL once it listens. */
function startWitness(config) {
  const bin = join(dirname(fileURLToPath(import.meta.resolve('@sealog/cli'))), 'bin.js');
  const child = spawn(process.execPath, [bin, 'witness', 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (c) => reject(new Error(`the witness exited (${c})`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^(http:\/\/\S+)\n/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
  });
}
