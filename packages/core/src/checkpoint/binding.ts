import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  openSync,
  realpathSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SealogError } from '../errors.js';
import { readSmallFile } from '../small-file.js';
import { isPostgresUrl, parsePgUrl } from '../store/postgres/url.js';

/**
 * An anchor file serves exactly one ledger: its notes are one tree's heads, and
 * a writer checks them against its rows on open. Two ledgers sealed into one
 * anchor (one options object given to two transports) would read as a rewrite
 * later. So the first writer binds the anchor to its ledger in `<anchor>.ledger`,
 * and a writer of another ledger is refused at startup. See docs/checkpoints.md.
 */
export const BINDING_SUFFIX = '.ledger';
const MAX_BINDING_BYTES = 4096;

/**
 * Binds `anchorFile` to `ledger` (an identity: the ledger file's real path, or a
 * PostgreSQL URL without secrets and its schema), or checks an existing binding.
 * @throws SealogError E_CONFIG when the anchor belongs to another ledger, E_IO.
 */
export function bindAnchor(anchorFile: string, ledger: string): void {
  const path = anchorFile + BINDING_SUFFIX;
  const line = `${ledger}\n`;
  if (createWhole(path, line)) return;
  let bound = readBinding(path);
  // Only a creator on a filesystem without hard links shows an empty file, briefly.
  for (let i = 0; bound === '' && i < 20; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    bound = readBinding(path);
  }
  if (bound === line || bound === ledger) return;
  throw new SealogError(
    'E_CONFIG',
    `checkpoint.anchorFile ${anchorFile} already seals another ledger (${JSON.stringify(bound.trim().slice(0, 200))}, see ${path}); ` +
      `give each ledger its own anchorFile and its own key name (one origin per ledger). If this ledger was moved, delete ${path}`,
  );
}

function readBinding(path: string): string {
  const text = readSmallFile(path, MAX_BINDING_BYTES);
  if (text === undefined)
    throw new SealogError(
      'E_CONFIG',
      `${path} (which binds an anchor file to its ledger) is not a regular file of at most ${MAX_BINDING_BYTES} bytes that can be read; delete it and start again`,
    );
  return text;
}

/**
 * Creates `path` holding `content`, or returns false when it exists. The content
 * is written and synced under a fresh temporary name first and then hard-linked
 * into place, so another writer racing us never reads a half-written binding:
 * the name appears with its whole content or not at all (an O_EXCL create
 * followed by a write let a second writer read "" in between and refuse to start).
 */
function createWhole(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const ioError = (err: unknown) =>
    new SealogError('E_IO', `cannot write ${path} (binds an anchor file to its ledger)`, { cause: err });
  try {
    writeFresh(tmp, content, true);
  } catch (err) {
    throw ioError(err);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links: create in place (the old, racy way).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
      return createInPlace(path, content, ioError);
    throw ioError(err);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // a leftover temporary name is harmless: nothing reads it
    }
  }
}

function createInPlace(path: string, content: string, ioError: (err: unknown) => SealogError): boolean {
  try {
    writeFresh(path, content, false);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(err);
  }
}

/** Creates `path` (never opened as found: O_EXCL, O_NOFOLLOW) holding `content`, synced when `sync`. */
function writeFresh(path: string, content: string, sync: boolean): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    writeSync(fd, content);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** How a binding names a ledger: its file's real path, or its URL without secrets. */
export function ledgerIdentity(path: string): string {
  if (isPostgresUrl(path)) return `postgres ${parsePgUrl(path).display}`;
  let dir = dirname(path);
  try {
    dir = realpathSync(dir);
  } catch {
    // the ledger's directory must exist; opening the ledger reports it
  }
  return `sqlite ${join(dir, basename(path))}`;
}
