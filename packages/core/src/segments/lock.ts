import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { isSegmentDir } from './layout.js';

// One maintenance command at a time per segment directory: `sealog prune`,
// `hold add/release` and `erase` each verify the directory, decide from what
// they saw, then write. Two at once would each act on a state the other is
// changing (two prunes appending two statements for the same segments, a hold
// placed on a segment a prune already planned to remove).
//
// The lock is SQLite's own exclusive lock (BEGIN EXCLUSIVE, busy timeout 0)
// on `sealog.lock`, an empty file that is never written: SQLite takes POSIX
// advisory locks on it, which the kernel drops when the holding process ends,
// however it ends (SIGKILL, OOM kill, crash). So a dead holder never leaves a
// stale lock to be guessed at from a pid and a host name, and nobody ever has
// to delete the file by hand. An O_EXCL lock file would survive SIGKILL and
// need exactly that guess. Caveat: advisory locks on network file systems
// (NFS without a lock manager) may not hold; keep segment directories local.
//
// `sealog.lock.owner` says who holds it (command, pid, host, time), for the
// refusal message only: it is never used to decide anything.

/** File name of the lock, beside the segments (not named `seg-…`, so never a stray). */
export const LOCK_FILE = 'sealog.lock';
const OWNER_FILE = 'sealog.lock.owner';
/** Bytes of the owner file read into an error message: it is attacker input. */
const MAX_OWNER_BYTES = 256;

export interface DirLock {
  /** Ends the lock (idempotent). */
  release(): void;
}

/**
 * Takes the directory's exclusive maintenance lock for `command`, or fails at once.
 * @throws SealogError E_IO naming the holder when another process holds it, or
 *   when `sealog.lock` is not a regular file.
 */
export function lockSegmentDir(dir: string, command: string): DirLock {
  if (!isSegmentDir(dir))
    throw new SealogError('E_IO', `${dir} is not a directory of segments (seg-000001.db, …)`);
  const path = join(dir, LOCK_FILE);
  try {
    // Created empty and private if missing; never follow a link planted under the name.
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new SealogError('E_IO', `cannot create the lock file ${path}: ${(err as Error).message}`, {
        cause: err,
      });
  }
  if (!lstatSync(path).isFile())
    throw new SealogError(
      'E_IO',
      `${path} is not a regular file (a link or directory); remove it: sealog creates it as an empty file`,
    );
  const db = new Database(path, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY')
      throw new SealogError('E_IO', `cannot lock ${path}: ${(err as Error).message}`, { cause: err });
    throw new SealogError(
      'E_IO',
      `another sealog prune, hold or erase is working on ${dir}${holder(dir)}; nothing was changed: wait for it to finish, then run this command again (the lock on ${path} ends when that process exits, even if it is killed: never delete the file)`,
    );
  }
  writeOwner(dir, command);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // The owner file goes first, while we still hold the lock: the next holder writes its own.
      rmSync(join(dir, OWNER_FILE), { force: true });
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

// Whoever can write the directory may plant anything under the owner file's
// names (a link to a file of ours, a FIFO): the temporary file is created
// fresh (O_EXCL, O_NOFOLLOW), never opened as found, and the owner file is
// read only if it is a regular file, without blocking (red-team review).
const CREATE_FRESH = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const READ_FOUND = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function writeOwner(dir: string, command: string): void {
  const tmp = join(dir, `.${OWNER_FILE}.${process.pid}`);
  let fd: number | undefined;
  try {
    rmSync(tmp, { force: true }); // unlinks a planted link or FIFO itself, never its target
    fd = openSync(tmp, CREATE_FRESH, 0o600);
    writeSync(fd, `${command} pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, join(dir, OWNER_FILE));
  } catch {
    // Informational only: the lock holds without it (a directory planted as `tmp` stays).
    if (fd !== undefined) closeSync(fd);
    try {
      rmSync(tmp, { force: true });
    } catch {}
  }
}

/** ` (held by <owner>)`, from the owner file: bounded, printable ASCII only. */
function holder(dir: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, OWNER_FILE), READ_FOUND);
    if (!fstatSync(fd).isFile()) return '';
    const buf = Buffer.alloc(MAX_OWNER_BYTES);
    const n = readSync(fd, buf, 0, MAX_OWNER_BYTES, 0);
    const text = buf
      .subarray(0, n)
      .toString('latin1')
      .split('\n')[0]!
      .replace(/[^\x20-\x7e]/g, '?');
    return text === '' ? '' : ` (held by ${text})`;
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
