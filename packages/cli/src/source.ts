import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPostgresUrl, isSealogError, SealogError } from '@sealog/core';

/** Most ledger names listed when a directory is given where a ledger belongs. */
const MAX_LISTED = 5;

/**
 * Refuses a directory given as a ledger, naming the ledger-like files in it
 * (`verify logs/` said "not a regular file (a FIFO, device or directory)";
 * issue 19, item 9). Anything else is left to the reader's own checks.
 * @throws SealogError E_IO
 */
export function checkNotDirectory(path: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return; // missing or unreadable: the reader says which
  }
  if (!isDir) return;
  let names: string[] = [];
  try {
    names = readdirSync(path)
      .filter((n) => /\.(db|sqlite3?|ledger)$/i.test(n))
      .sort();
  } catch {
    // not listable: no suggestion
  }
  const shown = names.slice(0, MAX_LISTED).map((n) => join(path, n));
  const more = names.length > MAX_LISTED ? `, … (${names.length} in all)` : '';
  throw new SealogError(
    'E_IO',
    `${path} is a directory, not a ledger file${shown.length > 0 ? `; give the ledger file in it: ${shown.join(', ')}${more}` : ''}`,
  );
}

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
  if (!isPostgresUrl(arg)) {
    checkNotDirectory(arg);
    return run(arg, arg);
  }
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
