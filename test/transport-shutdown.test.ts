// One child process per shutdown path, matching docs/transports.md "Shutdown":
// what pino's exit hooks save, what a bare SIGTERM loses, and the handler that
// fixes it. Each child writes a real ledger with a real pino worker thread.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PINO_MAIN, PINO_TARGET, readVerified, runNode, tempDir } from './transport-helpers.js';

const CHILD = `
import pino from ${JSON.stringify(PINO_MAIN)};
const [path, mode] = process.argv.slice(2);
const transport = pino.transport({ target: ${JSON.stringify(PINO_TARGET)}, options: { path } });
const logger = pino(transport);
const log = (from, n) => { for (let i = from; i < from + n; i++) logger.info({ i }, 'work'); };
if (mode === 'sigterm-handler' || mode === 'sigint-handler') {
  // The documented pattern: log if you like, then process.exit(); pino's exit hook does the rest.
  const onSignal = (sig) => { logger.info({ sig }, 'shutting down'); process.exit(0); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
log(0, 100);
if (mode === 'normal') {
  // falls off the end: the event loop empties and the exit hook ends the transport
} else if (mode === 'exit') {
  process.exit(0); // before the worker is even ready
} else if (mode === 'uncaught') {
  setTimeout(() => { throw new Error('boom'); }, 0);
} else {
  logger.flush(() => {
    log(100, 50);
    if (mode === 'sigterm-bare') process.kill(process.pid, 'SIGTERM'); // same tick: 50 still in the main thread
    else { console.log('ready'); setInterval(() => {}, 1000); }
  });
}
`;

async function run(mode: string, signal?: NodeJS.Signals) {
  const dir = tempDir();
  const script = join(dir, 'app.mjs');
  writeFileSync(script, CHILD);
  const path = join(dir, 'audit.db');
  const result = await runNode(script, [path, mode], (chunk, child) => {
    if (signal && chunk.includes('ready')) child.kill(signal);
  });
  return { result, records: readVerified(path) };
}

const ids = (records: Record<string, unknown>[]) => records.filter((r) => r.msg === 'work').map((r) => r.i);
const range = (n: number) => [...Array(n).keys()];

describe('pino shutdown paths (child processes)', () => {
  it('normal exit: everything is committed', async () => {
    const { result, records } = await run('normal');
    expect(result.code).toBe(0);
    expect(ids(records)).toEqual(range(100));
  });

  it('process.exit() right after logging, before the transport is ready: everything is committed', async () => {
    const { result, records } = await run('exit');
    expect(result.code).toBe(0);
    expect(ids(records)).toEqual(range(100));
  });

  it('uncaught exception: records logged before the throw are committed, the app still exits 1', async () => {
    const { result, records } = await run('uncaught');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('boom');
    expect(ids(records)).toEqual(range(100));
  });

  it('SIGTERM with the documented handler: everything, including the shutdown line, is committed', async () => {
    const { result, records } = await run('sigterm-handler', 'SIGTERM');
    expect(result.code).toBe(0);
    expect(ids(records)).toEqual(range(150));
    expect(records.at(-1)).toMatchObject({ msg: 'shutting down', sig: 'SIGTERM' });
  });

  it('SIGINT with the documented handler: everything is committed', async () => {
    const { result, records } = await run('sigint-handler', 'SIGINT');
    expect(result.code).toBe(0);
    expect(ids(records)).toEqual(range(150));
    expect(records.at(-1)).toMatchObject({ msg: 'shutting down', sig: 'SIGINT' });
  });

  it('SIGTERM without a handler: only what was already committed survives (the documented loss)', async () => {
    const { result, records } = await run('sigterm-bare');
    expect(result.signal).toBe('SIGTERM');
    // The 100 flushed records are there and the chain is intact; the 50 logged in the killing tick are not.
    expect(ids(records)).toEqual(range(100));
  });
});
