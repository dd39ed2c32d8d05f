import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SealogError } from '../errors.js';
import { FORMAT_ID, REQUIRED_TABLES, SCHEMA_VERSION } from './schema.js';

/** Wraps a better-sqlite3 / fs failure in a SealogError that says what to do. */
export function ioError(path: string, action: string, err: unknown): SealogError {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new SealogError(
      'E_NOT_LEDGER',
      `${path} is not a SQLite database (or is damaged); point sealog at a ledger file it created, or a new path`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new SealogError(
      'E_IO',
      `the database stayed locked by another process while trying to ${action} ${path}; raise busyTimeoutMs or stop the other writer`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_FULL') {
    return new SealogError(
      'E_IO',
      `disk full while trying to ${action} ${path}; free space, records are kept and retried`,
      {
        cause: err,
      },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new SealogError('E_IO', `could not ${action} ${path}: ${detail}`, { cause: err });
}

/** Fails early with a clear message when the ledger's directory is missing or unwritable. */
export function checkWritableLocation(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    throw new SealogError('E_IO', `directory ${dir} for ledger ${path} does not exist; create it first`);
  }
  if (!statSync(dir).isDirectory())
    throw new SealogError('E_IO', `${dir} is not a directory (ledger path ${path})`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new SealogError('E_IO', `directory ${dir} is not writable by this process; fix its permissions`, {
      cause: err,
    });
  }
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw new SealogError('E_IO', `${path} exists and is not a regular file`);
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new SealogError('E_IO', `ledger ${path} is not readable and writable by this process`, {
        cause: err,
      });
    }
  }
}

/**
 * Checks that `db` holds a sealog ledger of a version we understand. Every value
 * read here comes from a file an attacker may have crafted: nothing is trusted.
 */
export function assertLedger(db: Database.Database, path: string): void {
  let tables: Set<string>;
  try {
    const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: unknown;
    }[];
    tables = new Set(rows.map((r) => String(r.name)));
  } catch (err) {
    throw ioError(path, 'read the schema of', err);
  }
  const missing = REQUIRED_TABLES.filter((t) => !tables.has(t));
  if (missing.length > 0) {
    throw new SealogError(
      'E_NOT_LEDGER',
      `${path} is a SQLite database but not a sealog ledger (missing ${missing.join(', ')}); use another path`,
    );
  }
  let format: unknown;
  let version: unknown;
  try {
    format = (db.prepare("SELECT value FROM sealog_meta WHERE key = 'format'").get() as { value?: unknown })
      ?.value;
    version = (db.prepare('SELECT max(version) AS v FROM sealog_schema').get() as { v?: unknown })?.v;
  } catch (err) {
    throw ioError(path, 'read the metadata of', err);
  }
  if (format !== FORMAT_ID) {
    throw new SealogError(
      'E_NOT_LEDGER',
      `${path} is not marked as a sealog ledger (format ${String(format)})`,
    );
  }
  if (typeof version !== 'number' || version > SCHEMA_VERSION) {
    throw new SealogError(
      'E_NOT_LEDGER',
      `${path} has ledger schema version ${String(version)}; this sealog reads up to ${SCHEMA_VERSION}, upgrade sealog`,
    );
  }
}

/**
 * Refuses a ledger path, or a -wal/-shm/-journal file beside it, that is not a
 * regular file. Issue 14, finding 8: SQLite opening a FIFO blocks in open(2)
 * for ever (no signal handler can run); a device or directory is never a ledger.
 * @throws SealogError E_IO naming the file.
 */
export function assertRegularFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(file);
    } catch (err) {
      if (file === path) throw ioError(path, 'open', err);
      continue; // an absent side file is normal
    }
    if (!st.isFile()) {
      throw new SealogError(
        'E_IO',
        `${file} is not a regular file (a FIFO, device or directory); point sealog at a ledger file`,
      );
    }
  }
}

/** Opens a ledger read-only for readers (tail, verify, prove). Never blocks writers (WAL). */
export function openReadOnly(path: string): Database.Database {
  if (!existsSync(path)) throw new SealogError('E_IO', `ledger ${path} does not exist`);
  assertRegularFiles(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw ioError(path, 'open', err);
  }
  try {
    assertLedger(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
