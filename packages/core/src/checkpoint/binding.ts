import { closeSync, constants, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SealogError } from '../errors.js';
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
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SealogError('E_IO', `cannot write ${path} (binds anchor file ${anchorFile} to its ledger)`, {
        cause: err,
      });
    }
  }
  let bound: string;
  try {
    const buf = readFileSync(path);
    bound = buf.subarray(0, MAX_BINDING_BYTES).toString('utf8');
  } catch (err) {
    throw new SealogError('E_IO', `cannot read ${path}`, { cause: err });
  }
  if (bound === line || bound === ledger) return;
  throw new SealogError(
    'E_CONFIG',
    `checkpoint.anchorFile ${anchorFile} already seals another ledger (${JSON.stringify(bound.trim().slice(0, 200))}, see ${path}); ` +
      `give each ledger its own anchorFile and its own key name (one origin per ledger). If this ledger was moved, delete ${path}`,
  );
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
