// @sealog/winston with a postgres:// path: the worker thread opens PgStore, and
// what the logger acknowledged on 'finish' is in PostgreSQL, chained.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import { chainHash, leafHash } from '../../packages/core/src/index.js';
import { SealogTransport } from '../../packages/winston/src/index.js';
import { createTestDatabase, psql } from '../helpers/postgres.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase('winston');
});
afterAll(async () => {
  await db.drop();
});

describe('@sealog/winston on PostgreSQL', () => {
  it('two loggers in one process append to one chain; everything logged is stored once', async () => {
    const url = `${db.url}?schema=win`;
    const loggers = [0, 1].map(() =>
      winston.createLogger({
        format: winston.format.json(),
        transports: [new SealogTransport({ path: url })],
      }),
    );
    for (let i = 0; i < 600; i++) loggers[i % 2]!.info('event', { i });
    await Promise.all(
      loggers.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.once('finish', () => resolve());
            l.end();
          }),
      ),
    );
    const rows = await psql<{ seq: string; entry: Buffer; chain: Buffer }>(
      db.url,
      'SELECT seq, entry, chain FROM win.records ORDER BY seq',
    );
    expect(rows.map((r) => JSON.parse(r.entry.toString()).i).sort((a, b) => a - b)).toEqual([
      ...Array(600).keys(),
    ]);
    let chain = Buffer.alloc(32);
    rows.forEach((r, k) => {
      expect(Number(r.seq)).toBe(k);
      chain = chainHash(chain, leafHash(r.entry));
      expect(r.chain.equals(chain)).toBe(true);
    });
  });
});
