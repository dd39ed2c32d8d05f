// Real winston loggers writing a real SQLite ledger, read back with the chain
// recomputed. The ledger runs in @sealog/winston's worker thread (dist/worker.js: build first).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { generateKey, isSealogError, LedgerReader, type SealogError } from '../packages/core/src/index.js';
import { SealogTransport } from '../packages/winston/src/index.js';
import { readVerified, runNode, tempDir, WINSTON_DIST, WINSTON_MAIN } from './transport-helpers.js';

const { format } = winston;

function finished(logger: winston.Logger): Promise<void> {
  return new Promise((res) => {
    logger.once('finish', () => res());
    logger.end();
  });
}

// Created once: two runs must log the very same Error objects (stacks differ per call site).
const DISK_ERROR = new Error('disk on fire');
const BARE_ERROR = new Error('bare error');

/** The same log calls, exercising splat, errors, meta, child defaultMeta and a logged Error. */
function logEverything(logger: winston.Logger): void {
  logger.info('plain');
  logger.info('user %s has %d items', 'ann', 3, { extra: { nested: [1, 2] } });
  logger.warn('with meta', { requestId: 'r-1', user: { id: 7, tags: ['a'] } });
  logger.error('failed', DISK_ERROR);
  logger.error(BARE_ERROR);
  logger.child({ component: 'billing' }).info('from a child');
  logger.log({ level: 'debug', message: 'object form', amount: 12.5 });
}

describe('@sealog/winston with real loggers', () => {
  it('a Console transport sees a byte-identical info with and without sealog in the list', async () => {
    const seen = async (withSealog: boolean) => {
      const dumps: string[] = [];
      const console = new winston.transports.Console({ level: 'debug' });
      const realLog = console.log!.bind(console);
      console.log = (info: unknown, next: () => void) => {
        dumps.push(inspect(info, { depth: null, showHidden: true }));
        next(); // what Console would print is exactly the dumped info[MESSAGE]
        void realLog;
      };
      const transports: TransportStream[] = [];
      // sealog first, so Console receives the info after sealog has had it.
      if (withSealog) transports.push(new SealogTransport({ path: join(tempDir(), 'a.db'), level: 'debug' }));
      transports.push(console);
      const logger = winston.createLogger({
        level: 'debug',
        format: format.combine(
          format.errors({ stack: true }),
          format.splat(),
          format.metadata({ fillExcept: ['message', 'level', 'stack'] }),
          format.json(),
        ),
        transports,
      });
      logEverything(logger);
      await finished(logger);
      return dumps;
    };
    const without = await seen(false);
    const withSealog = await seen(true);
    expect(without).toHaveLength(7);
    expect(withSealog).toEqual(without);
  });

  it('stores the fields after the logger formats, the uncolorized level, and no formatted line', async () => {
    const path = join(tempDir(), 'audit.db');
    const logger = winston.createLogger({
      level: 'debug',
      format: format.combine(
        format.errors({ stack: true }),
        format.splat(),
        format.colorize(),
        format.json(),
      ),
      transports: [new SealogTransport({ path })],
    });
    const before = Date.now();
    logEverything(logger);
    await finished(logger);
    // No format.timestamp(): the ledger adds the receive time, so every row's time index
    // is authenticated by its entry (docs/verify.md §3a). The rest is exactly the fields.
    const r = readVerified(path).map(({ time, ...rest }) => {
      expect(time as number).toBeGreaterThanOrEqual(before);
      expect(time as number).toBeLessThanOrEqual(Date.now());
      return rest;
    });
    expect(r).toHaveLength(7);
    expect(r[0]).toEqual({ level: 'info', message: 'plain' });
    expect(r[1]).toEqual({ level: 'info', message: 'user ann has 3 items', extra: { nested: [1, 2] } });
    expect(r[2]).toEqual({
      level: 'warn',
      message: 'with meta',
      requestId: 'r-1',
      user: { id: 7, tags: ['a'] },
    });
    expect(r[3]).toMatchObject({ level: 'error', message: 'failed disk on fire' });
    expect(String(r[3]!.stack)).toContain('Error: disk on fire');
    expect(r[4]).toMatchObject({ level: 'error', message: 'bare error' });
    expect(String(r[4]!.stack)).toContain('bare error');
    expect(r[5]).toEqual({ level: 'info', message: 'from a child', component: 'billing' });
    expect(r[6]).toEqual({ level: 'debug', message: 'object form', amount: 12.5 });
  });

  it('snapshots meta at log time: later mutation by the app does not reach the ledger', async () => {
    const path = join(tempDir(), 'audit.db');
    const logger = winston.createLogger({ transports: [new SealogTransport({ path })] });
    const meta = { user: { role: 'reader' } };
    logger.info('granted', meta); // the ledger is still opening: this record waits in memory
    meta.user.role = 'admin';
    await finished(logger);
    expect(readVerified(path)[0]).toMatchObject({ user: { role: 'reader' } });
  });

  it('honours level and silent, and emits logged with the shared info', async () => {
    const dir = tempDir();
    const warnOnly = new SealogTransport({ path: join(dir, 'w.db'), level: 'warn' });
    const silent = new SealogTransport({ path: join(dir, 's.db'), silent: true });
    const logged: unknown[] = [];
    warnOnly.on('logged', (info) => logged.push(info));
    const logger = winston.createLogger({ level: 'debug', transports: [warnOnly, silent] });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    await finished(logger);
    expect(readVerified(join(dir, 'w.db')).map((r) => r.message)).toEqual(['w', 'e']);
    expect(readVerified(join(dir, 's.db'))).toEqual([]);
    expect(logged.map((i) => (i as { message: string }).message)).toEqual(['w', 'e']);
  });

  it('after logger.end() and the logger finish event every record is committed, next to a File transport', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const sealog = new SealogTransport({ path });
    const logger = winston.createLogger({
      format: format.json(),
      transports: [new winston.transports.File({ filename: join(dir, 'app.log') }), sealog],
    });
    for (let i = 0; i < 20_000; i++) logger.info('line', { i });
    await finished(logger);
    // No waiting after finish: the ledger must already hold everything.
    const r = readVerified(path);
    expect(r).toHaveLength(20_000);
    expect(r.every((rec, i) => rec.i === i)).toBe(true);
    expect(sealog.stats).toMatchObject({ committed: 20_000, pending: 0, refused: 0 });
    expect(readFileSync(join(dir, 'app.log'), 'utf8').trim().split('\n')).toHaveLength(20_000);
  });

  it('the logger finish event comes after the final checkpoint covering every record', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const keyFile = join(dir, 'audit.key');
    writeFileSync(keyFile, `${generateKey('audit.example/winston').privateKey}\n`, { mode: 0o600 });
    const checkpoint = { keyFile, everyRecords: 1_000_000, everyMs: 3_600_000, heartbeatMs: 3_600_000 };
    const logger = winston.createLogger({ transports: [new SealogTransport({ path, checkpoint })] });
    for (let i = 0; i < 300; i++) logger.info('x', { i });
    await finished(logger);
    const reader = new LedgerReader(path);
    const sizes = reader.checkpoints().map((c) => c.size);
    reader.close();
    expect(sizes.at(-1)).toBe(300);
  });

  it('logger.close() commits everything before the transport emits closed', async () => {
    const path = join(tempDir(), 'audit.db');
    const sealog = new SealogTransport({ path });
    const logger = winston.createLogger({ transports: [sealog] });
    for (let i = 0; i < 500; i++) logger.info('x', { i });
    const closed = new Promise((res) => sealog.once('closed', res));
    logger.close();
    await closed;
    expect(readVerified(path)).toHaveLength(500);
  });

  it('flush() resolves once everything logged so far is committed', async () => {
    const path = join(tempDir(), 'audit.db');
    const sealog = new SealogTransport({ path, batchSize: 1_000_000, batchDelayMs: 600_000 });
    const logger = winston.createLogger({ transports: [sealog] });
    for (let i = 0; i < 100; i++) logger.info('x', { i });
    await sealog.flush();
    expect(readVerified(path)).toHaveLength(100);
    await finished(logger);
  });

  it('validates options synchronously with E_CONFIG', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isSealogError(err) ? err.code : String(err);
      }
      return 'no error';
    };
    expect(codeOf(() => new SealogTransport({ path: '' }))).toBe('E_CONFIG');
    expect(codeOf(() => new SealogTransport({ path: 'a.db', batchSzie: 10 }))).toBe('E_CONFIG');
    expect(codeOf(() => new SealogTransport(undefined as never))).toBe('E_CONFIG');
  });

  it('a ledger that cannot open: warn + error events with the code, refused records counted, no crash', async () => {
    const path = join(tempDir(), 'missing-dir', 'audit.db');
    const sealog = new SealogTransport({ path });
    const logger = winston.createLogger({ transports: [sealog] });
    const errors: unknown[] = [];
    logger.on('error', (e) => errors.push(e));
    const warned = new Promise<SealogError>((res) => logger.once('warn', res));
    logger.info('lost 1');
    const w = await warned;
    expect(w.code).toBe('E_IO');
    logger.info('lost 2');
    await finished(logger);
    expect(errors).toHaveLength(1);
    expect((errors[0] as SealogError).code).toBe('E_IO');
    expect(sealog.stats.refused).toBe(2);
    expect(existsSync(path)).toBe(false);
  });

  it('a locked ledger: warn event with E_IO while locked, every record committed once released', async () => {
    const path = join(tempDir(), 'audit.db');
    const sealog = new SealogTransport({ path, busyTimeoutMs: 10 });
    const logger = winston.createLogger({ transports: [sealog] });
    logger.info('first');
    await sealog.flush();
    const locker = new Database(path);
    locker.exec('BEGIN EXCLUSIVE');
    const warned = new Promise<SealogError>((res) => sealog.once('warn', res));
    for (let i = 0; i < 10; i++) logger.info('locked', { i });
    expect((await warned).code).toBe('E_IO');
    locker.exec('COMMIT');
    locker.close();
    await finished(logger);
    expect(readVerified(path)).toHaveLength(11);
  });

  it('handleExceptions: the uncaught exception is committed before winston exits the process', async () => {
    const dir = tempDir();
    const script = join(dir, 'app.mjs');
    writeFileSync(
      script,
      `import winston from ${JSON.stringify(WINSTON_MAIN)};
import { SealogTransport } from ${JSON.stringify(WINSTON_DIST)};
const logger = winston.createLogger({ transports: [new SealogTransport({ path: process.argv[2], handleExceptions: true })] });
for (let i = 0; i < 10; i++) logger.info('work', { i });
setTimeout(() => { throw new Error('boom'); }, 5);
`,
    );
    const path = join(dir, 'audit.db');
    const res = await runNode(script, [path]);
    expect(res.code).toBe(1);
    const r = readVerified(path);
    expect(r.slice(0, 10).map((x) => x.i)).toEqual([...Array(10).keys()]);
    expect(r[10]).toMatchObject({ level: 'error', exception: true });
    expect(String(r[10]!.message)).toContain('boom');
  });

  it('100k records in one loop with overload: block: each present exactly once, in order, chain valid', async () => {
    // The default (shed) may count part of a burst in gap records (test/overload); block stores all.
    const path = join(tempDir(), 'audit.db');
    const logger = winston.createLogger({
      format: format.json(),
      transports: [new SealogTransport({ path, overload: 'block' })],
    });
    const N = 100_000;
    for (let i = 0; i < N; i++) logger.info('bulk', { i });
    await finished(logger);
    const r = readVerified(path);
    expect(r).toHaveLength(N);
    r.forEach((rec, i) => {
      if (rec.i !== i) throw new Error(`record ${i} holds i=${String(rec.i)}`);
    });
  });
});
