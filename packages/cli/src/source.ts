import { isPostgresUrl, isSealogError } from '@sealog/core';

/**
 * Runs a read command on a ledger named by a file path or a `postgres://` URL.
 * A PostgreSQL ledger is read from a private SQLite copy of one snapshot (see
 * snapshotPg), so every read command shares one code path and one set of
 * hostile-input checks. `display` is what messages may show: never a password.
 */
export async function withLedger<T>(
  arg: string,
  run: (path: string, display: string) => T | Promise<T>,
): Promise<T> {
  if (!isPostgresUrl(arg)) return run(arg, arg);
  const { snapshotPg } = await import('@sealog/core/postgres');
  const snap = await snapshotPg(arg);
  try {
    return await run(snap.path, snap.display);
  } catch (err) {
    // Errors name the file they read; the user named the database.
    if (isSealogError(err)) err.message = err.message.replaceAll(snap.path, snap.display);
    throw err;
  } finally {
    snap.close();
  }
}

/** The one positional every ledger command takes. */
export const LEDGER_ARG = 'expected exactly one ledger (a file, or a postgres:// URL)';
