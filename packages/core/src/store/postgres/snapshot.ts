import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealogError } from '../../errors.js';
import { type StoredRecord, toRecord } from '../reader.js';
import { connectPg, isConnectionError, type PgSession, parsePgUrl, pgError, qualify } from './connect.js';
import { assertPgLedger } from './schema.js';
import { copyPgToSqlite } from './to-sqlite.js';

/** A private SQLite copy of one snapshot of a PostgreSQL ledger, for the read commands. */
export interface PgSnapshot {
  /** The SQLite file to read (in a 0700 temporary directory). */
  path: string;
  /** The ledger URL without its password, for messages. */
  display: string;
  /** Rows copied. */
  records: number;
  /** Deletes the copy. Idempotent. */
  close(): void;
}

/**
 * Copies one REPEATABLE READ snapshot of the ledger at `url` into a temporary
 * SQLite file, so `verify`, `prove`, `export`, `report`, `query` and `tail` read
 * PostgreSQL through the same code (and the same hostile-input handling) as a file.
 * The copy holds what the database holds (privacy transforms ran before storage)
 * and is removed on close() or process exit.
 */
export async function snapshotPg(url: string): Promise<PgSnapshot> {
  const display = parsePgUrl(url).display;
  const dir = mkdtempSync(join(tmpdir(), 'sealog-snapshot-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  const path = join(dir, 'ledger.db');
  try {
    const { records } = await copyPgToSqlite(url, path, { mode: 'snapshot' });
    return {
      path,
      display,
      records,
      close() {
        process.removeListener('exit', remove);
        remove();
      },
    };
  } catch (err) {
    process.removeListener('exit', remove);
    remove();
    throw err;
  }
}

/**
 * Yields records with seq ≥ `fromSeq` as they are committed, polling every
 * `intervalMs`, until `signal` aborts (`sealog tail -f` on PostgreSQL). A lost
 * connection is reopened (the server may be restarting); other errors end it.
 */
export async function* followPg(
  url: string,
  fromSeq: number,
  signal: AbortSignal,
  intervalMs = 250,
): AsyncGenerator<StoredRecord> {
  const target = parsePgUrl(url);
  const sql = `SELECT seq, ts, entry, chain FROM ${qualify(target, 'records')} WHERE seq >= $1 ORDER BY seq LIMIT ${FOLLOW_PAGE}`;
  let s: PgSession | undefined;
  let next = fromSeq;
  try {
    while (!signal.aborted) {
      let rows: Record<string, unknown>[];
      try {
        if (!s || s.broken) {
          s = await connectPg(target, { readOnly: true });
          await assertPgLedger(s);
        }
        rows = (await s.query(sql, [next])).rows;
      } catch (err) {
        // Our own errors (not a ledger) carry no cause; connectPg's carry the driver's.
        const cause = err instanceof SealogError ? err.cause : err;
        if (cause === undefined || !isConnectionError(cause)) throw pgError(target, 'read', err);
        await s?.end();
        s = undefined;
        await sleep(intervalMs, signal);
        continue;
      }
      for (const r of rows) {
        if (typeof r.seq !== 'number') continue; // a hand-edited row; verify reports it
        next = r.seq + 1;
        yield toRecord(r);
      }
      if (rows.length < FOLLOW_PAGE) await sleep(intervalMs, signal);
    }
  } finally {
    await s?.end();
  }
}

const FOLLOW_PAGE = 1000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
