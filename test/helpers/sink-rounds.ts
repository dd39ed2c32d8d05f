// A sink writing records in rounds, and the rows it left in the ledger file:
// shared by the writer-side witness and timestamp tests (issue 16).
import Database from 'better-sqlite3';
import { openSink, type SealogError } from '../../packages/core/src/index.js';

/**
 * Writes `rounds` × 50 records, flushing each round and pausing `pauseMs` so
 * seals, witness and TSA requests run beside the writes; then closes the sink.
 */
export async function writeRecords(
  options: Record<string, unknown>,
  rounds: number,
  errors: SealogError[],
  { from = 0, pauseMs = 60 }: { from?: number; pauseMs?: number } = {},
): Promise<void> {
  const sink = await openSink(options, { onError: (e) => errors.push(e) });
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 50; i++) sink.write({ msg: 'audit', round: from + r, i });
    await sink.flush();
    await new Promise((ok) => setTimeout(ok, pauseMs));
  }
  await sink.close();
}

/** Runs `read` on the ledger file, opened read-only. */
export function withDb<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

export const checkpointRows = (path: string) =>
  withDb(
    path,
    (db) =>
      db.prepare('SELECT size, note FROM checkpoints ORDER BY id').all() as { size: number; note: string }[],
  );

export const recordCount = (path: string) =>
  withDb(path, (db) => db.prepare('SELECT count(*) FROM records').pluck().get() as number);
