// `sealog backup` (issue 18 §3). Copying the files of a live ledger loses
// records: committed transactions sit in `audit.db-wal` until a checkpoint
// copies them into `audit.db`, and a copy of `audit.db` alone opens as an
// older, shorter ledger that still verifies (a user's `cp` kept 4 of 28
// records and `verify` said "intact"). So a backup reads one snapshot through
// SQLite (the online backup API, inside one read transaction) or PostgreSQL
// (one REPEATABLE READ transaction), writes it as a single self-contained file,
// and checks the copy against what the snapshot held before it is trusted.

import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdtempSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { isSealogError, SealogError } from '../errors.js';
import type { VerifyOptions, VerifyReport } from '../verify/types.js';
import { verifyLedger } from '../verify/verify.js';
import { type LedgerFacts, readFacts, sameFacts } from './backup-facts.js';
import { checkWritableLocation, ioError, openReadOnly } from './open.js';
import { isPostgresUrl, parsePgUrl } from './postgres/url.js';

export type { LedgerFacts };

/** Pages copied per step of SQLite's backup (4 MiB at the default 4 KiB page). */
const PAGES_PER_STEP = 1024;

export interface BackupProgress {
  /** Pages (SQLite) or records (PostgreSQL) copied so far. */
  done: number;
  /** Pages in the snapshot (SQLite); unknown for PostgreSQL. */
  total?: number;
  unit: 'pages' | 'records';
}

export interface BackupOptions {
  /** How the copy is verified (the same options as verifyLedger). */
  verify: VerifyOptions;
  /** Called after each step of the copy. */
  onProgress?: (p: BackupProgress) => void;
  /** Aborts the copy; nothing is left at `dest`. */
  signal?: AbortSignal;
}

export interface BackupResult {
  /** What the source held in the snapshot that was copied. */
  source: LedgerFacts;
  /** What the copy holds (equal to `source` in every field the source reports). */
  copy: LedgerFacts;
  /** Size of the copy in bytes. */
  bytes: number;
  /** The copy's verification; `ok: false` means the copy (kept at `dest`) does not verify. */
  report: VerifyReport;
}

/**
 * Copies the ledger at `source` (a file, or a `postgres://` URL) into the new
 * file `dest`: one consistent snapshot, WAL included, as a rollback-journal
 * SQLite file a reader opens alone. Writers are never blocked. The copy is
 * written in a private temporary directory beside `dest`, compared with the
 * snapshot's facts, fsynced and linked into place (never over an existing file), then
 * verified; a copy that does not verify is kept (it is evidence) and the report says why.
 * @throws SealogError E_IO (dest exists or is the source, unwritable directory,
 *   the copy differs from the snapshot, aborted; nothing is left at dest),
 *   E_NOT_LEDGER (source is not a ledger), E_KEY / E_CONFIG (verify options).
 */
export async function backupLedger(
  source: string,
  dest: string,
  options: BackupOptions,
): Promise<BackupResult> {
  checkDest(source, dest);
  // A private (0700) directory beside dest: the copy is unreadable to others while it is
  // written, and on the same file system, so it can be linked into place.
  const tempDir = mkdtempTemp(dest);
  const temp = join(tempDir, 'ledger.db');
  let facts: LedgerFacts;
  let copy: LedgerFacts;
  try {
    facts = isPostgresUrl(source)
      ? await copyPg(source, temp, options)
      : await copySqlite(source, temp, options);
    selfContained(temp, isPostgresUrl(source) ? 0o600 : statSync(source).mode & 0o777);
    copy = readCopy(temp);
    const diff = sameFacts(facts, copy);
    if (diff.length > 0) {
      throw new SealogError(
        'E_IO',
        `the copy does not hold what ${shown(source)} held when the backup began (${diff.join('; ')}); nothing was written to ${dest}: run the backup again`,
      );
    }
    publish(temp, dest);
  } catch (err) {
    throw isSealogError(err) ? err : ioError(dest, 'write the backup', err);
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
  const report = verifyLedger(dest, options.verify);
  return { source: facts, copy, bytes: statSync(dest).size, report };
}

function mkdtempTemp(dest: string): string {
  try {
    return mkdtempSync(join(dirname(dest), `.${basename(dest)}.sealog-backup-`));
  } catch (err) {
    throw ioError(dirname(dest), 'create a temporary directory in', err);
  }
}

/** A URL without its password, a path as given. */
function shown(source: string): string {
  return isPostgresUrl(source) ? parsePgUrl(source).display : source;
}

/**
 * Refuses a destination that exists (even a dangling symlink), is the source
 * or one of its side files, or lies in a missing or unwritable directory.
 */
function checkDest(source: string, dest: string): void {
  if (!isPostgresUrl(source)) {
    const src = realOrResolved(source);
    const dst = join(realOrResolved(dirname(dest)), basename(dest));
    for (const side of ['', '-wal', '-shm', '-journal']) {
      if (dst === src + side) {
        throw new SealogError(
          'E_IO',
          `${dest} is ${side === '' ? 'the ledger itself' : `the ledger's ${side.slice(1)} file`}; back up into a new file`,
        );
      }
    }
  }
  if (present(dest))
    throw new SealogError('E_IO', `${dest} already exists; backup never overwrites: give a new file`);
  checkWritableLocation(dest);
}

/** True when anything, even a dangling symlink, is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * SQLite: the online backup API run on a read-only connection that holds one
 * read transaction from the facts to the last page. Without it, each commit of
 * another process between two steps restarts the copy (a busy writer starves it
 * for ever, measured); with it, every step reads the same snapshot, and the WAL
 * only grows until the copy ends (readers never block writers).
 */
async function copySqlite(source: string, temp: string, options: BackupOptions): Promise<LedgerFacts> {
  const db = openReadOnly(source);
  try {
    db.exec('BEGIN');
    const facts = readFacts(db, source); // first read: the snapshot starts here
    await db.backup(temp, {
      progress: ({ totalPages, remainingPages }) => {
        if (options.signal?.aborted) throw new SealogError('E_IO', 'backup interrupted; nothing was written');
        options.onProgress?.({ done: totalPages - remainingPages, total: totalPages, unit: 'pages' });
        return PAGES_PER_STEP;
      },
    });
    db.exec('COMMIT');
    return facts;
  } catch (err) {
    throw isSealogError(err) ? err : ioError(source, 'back up', err);
  } finally {
    db.close();
  }
}

/**
 * PostgreSQL: copyPgToSqlite reads one REPEATABLE READ READ ONLY snapshot,
 * as `sealog verify` on a URL does, damage included (the verifier reports it).
 * Its counts are the rows it read in that snapshot.
 */
async function copyPg(url: string, temp: string, options: BackupOptions): Promise<LedgerFacts> {
  const { copyPgToSqlite } = await import('./postgres/to-sqlite.js');
  if (options.signal?.aborted) throw new SealogError('E_IO', 'backup interrupted; nothing was written');
  try {
    const r = await copyPgToSqlite(url, temp, {
      mode: 'snapshot',
      onProgress: (done) => options.onProgress?.({ done, unit: 'records' }),
    });
    return { records: r.records, checkpoints: r.checkpoints };
  } catch (err) {
    // Messages name the file written; the user named dest.
    if (isSealogError(err)) err.message = err.message.replaceAll(temp, 'the backup');
    throw err;
  }
}

/**
 * Folds any WAL into the file and switches it to a rollback journal, so the
 * copy is one file: a reader opens it alone (no -wal or -shm to carry along),
 * and a writer that opens it later switches it back to WAL. Then fsyncs it.
 */
function selfContained(temp: string, mode: number): void {
  const db = new Database(temp, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  rmSync(`${temp}-journal`, { force: true });
  chmodSync(temp, mode); // never more readable than the source
  fsyncPath(temp, 'r+');
}

function readCopy(temp: string): LedgerFacts {
  const db = openReadOnly(temp);
  try {
    db.exec('BEGIN');
    return readFacts(db, temp);
  } finally {
    db.close();
  }
}

/**
 * Links the finished copy into place, so an existing file at `dest` (one made
 * since the check) is never replaced, then fsyncs the directory so the name
 * survives a power cut. Where hard links are not supported, a rename after the
 * existence check.
 */
function publish(temp: string, dest: string): void {
  try {
    linkSync(temp, dest);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST')
      throw new SealogError('E_IO', `${dest} already exists; backup never overwrites: give a new file`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') {
      throw ioError(dest, 'create', err);
    }
    if (present(dest))
      throw new SealogError('E_IO', `${dest} already exists; backup never overwrites: give a new file`);
    renameSync(temp, dest);
  }
  try {
    fsyncPath(dirname(dest), 'r');
  } catch (err) {
    // Some platforms cannot fsync a directory; the file itself is synced.
    const code = (err as { code?: string }).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw ioError(dirname(dest), 'sync', err);
  }
}

function fsyncPath(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
