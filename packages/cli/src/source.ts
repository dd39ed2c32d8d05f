import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPostgresUrl, isSealogError, listSegments, SealogError } from '@sealog/core';

/** Most ledger names listed when a directory is given where a ledger belongs. */
const MAX_LISTED = 5;

/** Names in directory `path`, or [] when it cannot be listed. */
function namesIn(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory(); // through a symlink: the user named it
  } catch {
    return false;
  }
};

const LEDGER_FILE = /\.(db|sqlite3?|ledger)$/i;

/**
 * True when `arg` is a directory to read as a segmented ledger (docs/lifecycle.md,
 * "Reading a segmented ledger"): it holds a `seg-` name. With `orEmpty`, also a
 * directory holding nothing that looks like a ledger file (`tail -f` waits for
 * its first segment); otherwise checkNotDirectory says what such a directory is.
 */
export function isSegmentDirArg(arg: string, orEmpty = false): boolean {
  if (isPostgresUrl(arg) || !isDirectory(arg)) return false;
  const names = namesIn(arg);
  if (names.some((n) => n.startsWith('seg-'))) return true;
  return orEmpty && !names.some((n) => LEDGER_FILE.test(n));
}

/**
 * Refuses a directory given as a ledger (`verify logs/` said "not a regular
 * file (a FIFO, device or directory)"; issue 19, item 9): a segmented ledger is
 * named as one, with the file to give instead (issue 18); any other directory
 * with the ledger-like files in it. Anything else is left to the reader's own checks.
 * @throws SealogError E_IO
 */
export function checkNotDirectory(path: string): void {
  if (!isDirectory(path)) return; // missing or unreadable: the reader says which
  const all = namesIn(path);
  if (all.some((n) => n.startsWith('seg-'))) {
    let newest: string | undefined;
    try {
      newest = listSegments(path).slots.findLast((s) => s.file !== undefined)?.file;
    } catch {
      // not listable: the example below names a file by the format alone
    }
    throw new SealogError(
      'E_IO',
      `${path} is a segmented ledger (a directory of segment files); this command reads one ledger file: give one segment, e.g. ${newest ?? join(path, 'seg-000001.db')}${newest ? ' (the newest)' : ''}`,
    );
  }
  const names = all.filter((n) => LEDGER_FILE.test(n)).sort();
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
