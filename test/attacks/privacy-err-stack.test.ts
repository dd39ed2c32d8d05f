import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { tempDir } from '../helpers/tmp.js';
import { PINO_TARGET, readVerified, WINSTON_DIST } from '../transport-helpers.js';

// Finding 9a of issue 14: the documented GDPR config scrubs `err.message`, but
// an Error repeats its message in `stack` (and pino folds causes into both),
// so the raw address reached the ledger file (pino) and its WAL (winston).
// Real pino (the transport in its worker thread) and real winston loggers; the
// raw bytes of every file of the ledger are searched.

const ADDRESS = 'alice.smith.9a@example.org';
const CAUSE_ADDRESS = 'bob.jones.9a@example.net';
const NESTED_ADDRESS = 'carol.white.9a@example.com';

/** The documented GDPR config (docs/privacy.md), with a fresh key file. */
function gdprPrivacy(dir: string) {
  const keyFile = join(dir, 'psn.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  return {
    pseudonymize: { paths: ['user.id'], keys: [{ id: 'k2025', file: keyFile }], current: 'k2025' },
    scrub: { paths: ['msg', 'err.message'], replace: 'pseudonym' },
  };
}

/** Errors as apps throw them: an address in the message, in a cause, in an AggregateError member. */
function errors(): Error[] {
  return [
    new Error(`login failed for ${ADDRESS}`),
    new Error('could not reach the mailbox', { cause: new Error(`bounce from ${CAUSE_ADDRESS}`) }),
    new AggregateError([new Error(`quota for ${NESTED_ADDRESS}`)], `2 deliveries failed, one to ${ADDRESS}`),
  ];
}

/** Every byte of the ledger's files (db, -wal, -shm, anything beside them). */
function ledgerBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith('audit.db'))
      .flatMap((f) => {
        try {
          return [readFileSync(join(dir, f))];
        } catch (err) {
          // SQLite's transient journals (e.g. -top-journal) can go between readdir and read
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
      }),
  );
}

function expectNoAddress(bytes: Buffer): void {
  for (const a of [ADDRESS, CAUSE_ADDRESS, NESTED_ADDRESS]) {
    expect(bytes.includes(a), `${a} found in the ledger files`).toBe(false);
    expect(bytes.includes(Buffer.from(a, 'utf16le')), `${a} (UTF-16) found`).toBe(false);
  }
}

describe('attack: an address in an error message leaks through the stack', () => {
  it('pino (worker thread): neither the .db nor its WAL holds the address', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const transport = pino.transport({ target: PINO_TARGET, options: { path, privacy: gdprPrivacy(dir) } });
    const logger = pino(transport);
    for (const err of errors()) logger.error({ err, user: { id: 'u-1' } }, 'request failed');
    await new Promise<void>((res, rej) => logger.flush((e) => (e ? rej(e) : res())));
    expectNoAddress(ledgerBytes(dir)); // while running: the WAL holds the commits
    await new Promise<void>((res) => {
      transport.once('close', () => res());
      transport.end();
    });
    expectNoAddress(ledgerBytes(dir));
    const stored = readVerified(path);
    expect(stored).toHaveLength(3);
    const err = stored[0]!.err as { message: string; stack: string };
    expect(err.message).toMatch(/^login failed for psn:k2025:/);
    expect(err.stack).toMatch(/^Error: login failed for psn:k2025:.*\n\s+at /); // frames are kept
  });

  it('winston: neither the .db nor its WAL holds the address', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const { SealogTransport } = (await import(
      WINSTON_DIST
    )) as typeof import('../../packages/winston/src/index.js');
    const sealog = new SealogTransport({ path, privacy: gdprPrivacy(dir) });
    const logger = winston.createLogger({ transports: [sealog] });
    for (const err of errors()) logger.error('request failed', { err, user: { id: 'u-1' } });
    // logger.error(err) with format.errors(): winston stores message and stack at the top.
    const top = winston.createLogger({
      format: winston.format.errors({ stack: true }),
      transports: [new SealogTransport({ path: join(dir, 'audit.db-top'), privacy: topPrivacy(dir) })],
    });
    top.error(new Error(`login failed for ${ADDRESS}`));
    await sealog.flush();
    expectNoAddress(ledgerBytes(dir));
    await Promise.all(
      [logger, top].map(
        (l) =>
          new Promise<void>((res) => {
            l.on('finish', () => res());
            l.end();
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    expectNoAddress(ledgerBytes(dir));
    expect(existsSync(path)).toBe(true);
    const stored = readVerified(path);
    expect(stored).toHaveLength(3);
    expect((stored[0]!.err as { stack: string }).stack).toMatch(
      /^Error: login failed for psn:k2025:.*\n\s+at /,
    );
    const cause = (stored[1]!.err as { cause: { message: string; stack: string } }).cause;
    expect(cause.message).toMatch(/^bounce from psn:k2025:/);
  });
});

/** winston's message key is `message`: the same config with that path. */
function topPrivacy(dir: string) {
  const p = gdprPrivacy(dir);
  return { ...p, scrub: { ...p.scrub, paths: ['message'] } };
}
