// The winston shutdown contract with the ledger in a worker thread, one child
// process per exit path (docs/transports.md, "Exit, exceptions and
// rejections"). The worker is unref'd, so none of these apps is kept alive by
// sealog; what was logged before exit must still be in the ledger.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LedgerReader } from '../packages/core/src/index.js';
import { readVerified, runNode, tempDir, WINSTON_DIST, WINSTON_MAIN } from './transport-helpers.js';

const N = 5000;

/** An app that logs N records, then does `tail` (the exit path under test). */
async function runApp(tail: string, opts = '') {
  const dir = tempDir();
  const script = join(dir, 'app.mjs');
  writeFileSync(
    script,
    `import winston from ${JSON.stringify(WINSTON_MAIN)};
import { SealogTransport } from ${JSON.stringify(WINSTON_DIST)};
const logger = winston.createLogger({ transports: [new SealogTransport({ path: process.argv[2]${opts} })] });
for (let i = 0; i < ${N}; i++) logger.info('work', { i });
${tail}
`,
  );
  const path = join(dir, 'audit.db');
  const res = await runNode(script, [path]);
  return { res, path };
}

function expectAllWork(path: string, extra = 0) {
  const r = readVerified(path);
  expect(r).toHaveLength(N + extra);
  expect(r.slice(0, N).every((rec, i) => rec.i === i)).toBe(true);
  return r;
}

describe('@sealog/winston shutdown paths (worker thread, child processes)', () => {
  it("normal exit without logger.end(): the unref'd worker does not hold the app, every record is committed", async () => {
    const { res, path } = await runApp('');
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expectAllWork(path);
  }, 30_000);

  it('process.exit() right after logging (batch not yet posted, worker maybe still starting): every record is committed', async () => {
    const { res, path } = await runApp('process.exit(3);');
    expect(res.code).toBe(3);
    expectAllWork(path);
  }, 30_000);

  it('uncaught exception with handleExceptions: records and the exception are committed, exit code 1', async () => {
    const { res, path } = await runApp(
      "setTimeout(() => { throw new Error('boom'); }, 5);",
      ', handleExceptions: true',
    );
    expect(res.code).toBe(1);
    const r = expectAllWork(path, 1);
    expect(r[N]).toMatchObject({ level: 'error', exception: true });
  }, 30_000);

  it('SIGTERM with the documented handler (end, then exit on finish): committed and sealed by a final checkpoint', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'audit.key');
    const { generateKey } = await import('../packages/core/src/index.js');
    writeFileSync(keyFile, `${generateKey('audit.example/sigterm').privateKey}\n`, { mode: 0o600 });
    const script = join(dir, 'app.mjs');
    writeFileSync(
      script,
      `import winston from ${JSON.stringify(WINSTON_MAIN)};
import { SealogTransport } from ${JSON.stringify(WINSTON_DIST)};
const checkpoint = { keyFile: process.argv[3], everyRecords: 1000000, everyMs: 3600000, heartbeatMs: 3600000 };
const logger = winston.createLogger({ transports: [new SealogTransport({ path: process.argv[2], checkpoint })] });
process.on('SIGTERM', () => {
  logger.on('finish', () => process.exit(0));
  logger.end();
});
for (let i = 0; i < ${N}; i++) logger.info('work', { i });
setInterval(() => {}, 1000); // a server that would run forever
setTimeout(() => console.log('ready'), 50);
`,
    );
    const path = join(dir, 'audit.db');
    const res = await runNode(script, [path, keyFile], (chunk, child) => {
      if (chunk.includes('ready')) child.kill('SIGTERM');
    });
    expect(res.code).toBe(0);
    expectAllWork(path);
    const reader = new LedgerReader(path);
    const sizes = reader.checkpoints().map((c) => c.size);
    reader.close();
    expect(sizes.at(-1)).toBe(N);
  }, 30_000);

  it('a ledger that cannot open: the app still exits normally, the loss is reported with E_IO', async () => {
    const dir = tempDir();
    const script = join(dir, 'app.mjs');
    writeFileSync(
      script,
      `import winston from ${JSON.stringify(WINSTON_MAIN)};
import { SealogTransport } from ${JSON.stringify(WINSTON_DIST)};
const logger = winston.createLogger({ transports: [new SealogTransport({ path: process.argv[2] })] });
logger.info('lost');
`,
    );
    const res = await runNode(script, [join(dir, 'no-such-dir', 'audit.db')]);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('sealog: E_IO');
  }, 30_000);
});
