// Real pino worker threads writing a real SQLite ledger, then the ledger read
// back and its chain recomputed. Needs `npx turbo run build` first: the worker
// imports packages/pino/dist.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { generateKey, LedgerReader } from '../packages/core/src/index.js';
import { PINO_TARGET, ROOT, readVerified, tempDir } from './transport-helpers.js';

const pinoRequire = createRequire(join(ROOT, 'packages/pino/package.json'));
const PRETTY = pinoRequire.resolve('pino-pretty');
const ABSTRACT = pinoRequire.resolve('pino-abstract-transport');

type Transport = ReturnType<typeof pino.transport>;

function end(transport: Transport): Promise<void> {
  return new Promise((res) => {
    transport.once('close', () => res());
    transport.end();
  });
}

describe('@sealog/pino in a real worker thread', () => {
  it('stores custom levels with their label and the messageKey field as msg, in order', async () => {
    const path = join(tempDir(), 'audit.db');
    const transport = pino.transport({ target: PINO_TARGET, options: { path } });
    const logger = pino(
      { customLevels: { audit: 35 }, messageKey: 'message', base: undefined, level: 'trace' },
      transport,
    );
    for (let i = 0; i < 300; i++) (i % 2 ? logger.audit : logger.warn).call(logger, { i }, 'event %d', i);
    await end(transport);
    const records = readVerified(path);
    expect(records.map((r) => r.i)).toEqual([...Array(300).keys()]);
    expect(records[0]).toMatchObject({ level: 40, levelLabel: 'warn', msg: 'event 0', i: 0 });
    expect(records[1]).toMatchObject({ level: 35, levelLabel: 'audit', msg: 'event 1' });
    expect(records[1]).not.toHaveProperty('message');
  });

  it('turns a label emitted by formatters.level back into the number, keeping the label', async () => {
    const path = join(tempDir(), 'audit.db');
    const transport = pino.transport({ target: PINO_TARGET, options: { path } });
    const logger = pino({ formatters: { level: (label) => ({ level: label }) } }, transport);
    logger.error('bad');
    await end(transport);
    expect(readVerified(path)).toEqual([
      expect.objectContaining({ level: 50, levelLabel: 'error', msg: 'bad' }),
    ]);
  });

  it('runs inside transport.targets next to pino/file and pino-pretty; each gets every record', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const transport = pino.transport({
      targets: [
        { target: 'pino/file', options: { destination: join(dir, 'app.log') }, level: 'debug' },
        { target: PRETTY, options: { destination: join(dir, 'pretty.log'), colorize: false } },
        { target: PINO_TARGET, options: { path }, level: 'info' },
      ],
    });
    const logger = pino({ level: 'debug' }, transport);
    for (let i = 0; i < 200; i++) logger.info({ i }, 'multi');
    logger.debug('below the sealog target level');
    await end(transport);
    const records = readVerified(path);
    expect(records.map((r) => r.i)).toEqual([...Array(200).keys()]);
    expect(readFileSync(join(dir, 'app.log'), 'utf8').trim().split('\n')).toHaveLength(201);
    expect(readFileSync(join(dir, 'pretty.log'), 'utf8')).toContain('multi');
  });

  it('runs as the last step of a transport.pipeline', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const upper = join(dir, 'upper.mjs');
    writeFileSync(
      upper,
      `import build from ${JSON.stringify(ABSTRACT)};
import { Transform } from 'node:stream';
export default () => build((source) => source.pipe(new Transform({ objectMode: true,
  transform(o, _e, cb) { cb(null, JSON.stringify({ ...o, msg: String(o.msg).toUpperCase() }) + '\\n'); } })),
  { enablePipelining: true });
`,
    );
    const transport = pino.transport({
      pipeline: [{ target: upper }, { target: PINO_TARGET, options: { path } }],
    });
    const logger = pino(transport);
    for (let i = 0; i < 50; i++) logger.info({ i }, 'piped');
    await end(transport);
    const records = readVerified(path);
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.msg === 'PIPED')).toBe(true);
  });

  it('fails at startup with the E_CONFIG message for a bad option, before any log line', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      target: PINO_TARGET,
      options: { path: join(dir, 'a.db'), batchSize: 0 },
    });
    const err = await new Promise<Error>((res) => transport.once('error', res));
    expect(err.message).toMatch(
      /^sealog E_CONFIG: option "batchSize" must be an integer from 1 to \d+, got 0/,
    );
    const unknown = pino.transport({ target: PINO_TARGET, options: { path: join(dir, 'b.db'), pathh: 'x' } });
    const err2 = await new Promise<Error>((res) => unknown.once('error', res));
    expect(err2.message).toMatch(/^sealog E_CONFIG: unknown sealog option "pathh"/);
  });

  it('logger.flush(cb) reaches the ledger: records are committed when the callback runs', async () => {
    const path = join(tempDir(), 'audit.db');
    // Without flush these would wait 10 minutes for their batch.
    const options = { path, batchSize: 1_000_000, batchDelayMs: 600_000 };
    const transport = pino.transport({ target: PINO_TARGET, options });
    const logger = pino(transport);
    for (let i = 0; i < 100; i++) logger.info({ i }, 'flushed');
    await new Promise<void>((res, rej) => logger.flush((err) => (err ? rej(err) : res())));
    expect(readVerified(path)).toHaveLength(100);
    await end(transport);
  });

  it('takes function-valued settings from a wrapper module', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const wrapper = join(dir, 'my-sealog.mjs');
    writeFileSync(
      wrapper,
      `import { createTransport } from ${JSON.stringify(PINO_TARGET)};
export default (options) => createTransport(options, { map: (r) => ({ ...r, tenant: 'acme' }) });
`,
    );
    const transport = pino.transport({ target: wrapper, options: { path } });
    pino(transport).info('wrapped');
    await end(transport);
    expect(readVerified(path)).toEqual([expect.objectContaining({ msg: 'wrapped', tenant: 'acme' })]);
  });

  it('reports a locked ledger as a sealogError event with E_IO and commits once the lock is gone', async () => {
    const path = join(tempDir(), 'audit.db');
    const transport = pino.transport({ target: PINO_TARGET, options: { path, busyTimeoutMs: 10 } });
    const logger = pino(transport);
    logger.info('opened');
    await new Promise<void>((res, rej) => logger.flush((e) => (e ? rej(e) : res())));
    const locker = new Database(path);
    locker.exec('BEGIN EXCLUSIVE');
    const event = new Promise<{ code: string; message: string }>((res) => transport.once('sealogError', res));
    for (let i = 0; i < 20; i++) logger.info({ i }, 'while locked');
    const e = await event;
    expect(e.code).toBe('E_IO');
    expect(e.message).toMatch(/locked/);
    locker.exec('COMMIT');
    locker.close();
    await new Promise<void>((res, rej) => logger.flush((err) => (err ? rej(err) : res())));
    await end(transport);
    expect(readVerified(path)).toHaveLength(21);
  });

  it('close commits everything and writes the final checkpoint covering it', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const keyFile = join(dir, 'audit.key');
    writeFileSync(keyFile, `${generateKey('audit.example/pino').privateKey}\n`, { mode: 0o600 });
    // No periodic checkpoint can fire during the test: only the one written on close.
    const checkpoint = { keyFile, everyRecords: 1_000_000, everyMs: 3_600_000, heartbeatMs: 3_600_000 };
    const transport = pino.transport({ target: PINO_TARGET, options: { path, checkpoint } });
    const logger = pino(transport);
    for (let i = 0; i < 250; i++) logger.info({ i }, 'sealed');
    await end(transport);
    expect(readVerified(path)).toHaveLength(250);
    const reader = new LedgerReader(path);
    const cps = reader.checkpoints();
    reader.close();
    expect(cps.at(-1)?.size).toBe(250);
    expect(cps.at(-1)?.note).toContain('audit.example/pino\n250\n');
  });

  it('fails at startup with E_KEY when the checkpoint key file is missing', async () => {
    const dir = tempDir();
    const checkpoint = { keyFile: join(dir, 'nope.key') };
    const transport = pino.transport({
      target: PINO_TARGET,
      options: { path: join(dir, 'a.db'), checkpoint },
    });
    const err = await new Promise<Error>((res) => transport.once('error', res));
    expect(err.message).toMatch(/^sealog E_KEY: /);
  });

  it('100k records in one loop with overload: block and sync: true: each present exactly once, in order, chain valid', async () => {
    // The default (shed) would count much of a 100k burst in gap records (test/overload); block stores all.
    const path = join(tempDir(), 'audit.db');
    const transport = pino.transport({
      target: PINO_TARGET,
      options: { path, overload: 'block' },
      sync: true,
    });
    const logger = pino(transport);
    const N = 100_000;
    for (let i = 0; i < N; i++) logger.info({ i }, 'bulk');
    await end(transport);
    const records = readVerified(path);
    expect(records).toHaveLength(N);
    records.forEach((r, i) => {
      if (r.i !== i) throw new Error(`record ${i} holds i=${String(r.i)}`);
    });
    const reader = new LedgerReader(path);
    expect(reader.size()).toBe(N);
    reader.close();
  });
});
