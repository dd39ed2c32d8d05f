// The overload contract through the real transports (worker threads, a real
// ledger): an app that logs faster than the ledger commits loses nothing
// silently. With `shed` every record is stored or counted by a sealed gap record
// in its place; with `block` (pino: `sync: true`) every record is stored.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { PINO_TARGET, readVerified, tempDir, WINSTON_DIST } from '../transport-helpers.js';
import { checkAccounting, type Logged } from './accounting.js';

const N = 20_000;
const T0 = 1_700_000_000_000;

/** Enough per-record work in the worker (two keyed pseudonyms, a scrub) that a tight loop outruns it. */
function options(dir: string, extra: Record<string, unknown> = {}) {
  const key = join(dir, 'psn.key');
  writeFileSync(key, randomBytes(32).toString('base64'), { mode: 0o600 });
  return {
    path: join(dir, 'a.db'),
    maxQueueBytes: 64 * 1024,
    privacy: {
      pseudonymize: { paths: ['user', 'email'], keys: [{ id: 'k1', file: key }], current: 'k1' },
      scrub: { paths: ['msg'], kinds: ['email'] },
    },
    ...extra,
  };
}

function endPino(transport: ReturnType<typeof pino.transport>): Promise<void> {
  return new Promise((res) => {
    transport.once('close', () => res());
    transport.end();
  });
}

async function logPino(dir: string, extra: Record<string, unknown>, sync: boolean): Promise<Logged[]> {
  const transport = pino.transport({ target: PINO_TARGET, options: options(dir, extra), sync });
  let i = 0;
  const logger = pino({ base: undefined, timestamp: () => `,"time":${T0 + i}` }, transport);
  const logged: Logged[] = [];
  const levels = ['info', 'warn', 'error'] as const;
  for (; i < N; i++) {
    const level = levels[i % 3] as (typeof levels)[number];
    logger[level]({ i, user: `u${i}`, email: `u${i}@example.com` }, 'mail u@example.com');
    logged.push({ i, level: { info: 30, warn: 40, error: 50 }[level], time: T0 + i });
  }
  await endPino(transport);
  return logged;
}

describe('overload through the transports', () => {
  for (const workers of [0, 2]) {
    it(`pino, shed (default), pool of ${workers}: a tight loop far faster than the worker, every record stored or counted in place`, async () => {
      const dir = tempDir();
      const logged = await logPino(dir, { workers }, false);
      const r = checkAccounting(readVerified(join(dir, 'a.db')), logged);
      expect(r.stored + r.shed).toBe(N);
      expect(r.shed).toBeGreaterThan(0); // the bound was reached: this run exercised shedding
    });
  }

  it('pino, block with sync: true: the producer is slowed and every record is stored', async () => {
    const dir = tempDir();
    const logged = await logPino(dir, { overload: 'block' }, true);
    expect(checkAccounting(readVerified(join(dir, 'a.db')), logged)).toEqual({ stored: N, shed: 0, gaps: 0 });
  });

  it('winston, shed: the app thread sheds what does not fit and the gap is sealed in place', async () => {
    const dir = tempDir();
    const { SealogTransport } = (await import(
      WINSTON_DIST
    )) as typeof import('../../packages/winston/src/index.js');
    const transport = new SealogTransport(options(dir));
    const logger = winston.createLogger({ transports: [transport] });
    const logged: Logged[] = [];
    const levels = ['info', 'warn', 'error'] as const;
    for (let i = 0; i < N; i++) {
      const level = levels[i % 3] as (typeof levels)[number];
      const timestamp = new Date(T0 + i).toISOString();
      logger.log({ level, message: 'mail u@example.com', i, user: `u${i}`, timestamp });
      logged.push({ i, level, time: T0 + i });
    }
    await new Promise<void>((res) => {
      logger.once('finish', () => res());
      logger.end();
    });
    const r = checkAccounting(readVerified(join(dir, 'a.db')), logged);
    expect(r.stored + r.shed).toBe(N);
    expect(r.shed).toBeGreaterThan(0);
  });
});
