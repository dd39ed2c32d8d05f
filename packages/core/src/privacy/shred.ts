// Crypto-shredding: destroying a pseudonymization key so that the pseudonyms
// made under it can never be linked to anyone again (HMAC without its key is
// a random function: nothing left lets one test a guess). The ledger is not
// touched, so every record still verifies. docs/privacy.md "Erasure by
// crypto-shredding" says what this does and does not guarantee.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SealogError } from '../errors.js';
import { sealogEntry } from '../sealog-entry.js';
import type { PendingEntry } from '../store/types.js';
import { MAX_KEY_TEXT, shown } from './key-file.js';
import { checkKeyId, PseudonymKey } from './keys.js';
import { SCRUB_KINDS, scan } from './scan.js';
import { formatTombstone, parseTombstone } from './tombstone.js';

/** Longest shredding reason kept in the ledger (a ticket reference, not a story). */
export const MAX_SHRED_REASON = 200;

export interface ShredResult {
  id: string;
  /** When the key was destroyed (ISO 8601), as its tombstone says. */
  at: string;
  /** True when the file already was this key's tombstone: nothing was written. */
  already: boolean;
}

/**
 * Destroys the pseudonymization key `id` held in the file at `path`: every
 * byte of the file is overwritten in place (the tombstone, then random bytes
 * where the rest of the key text was) and fsynced, then the file is cut to the
 * tombstone alone, mode 0600, and fsynced with its directory. Re-running it on
 * the tombstone of `id` changes nothing; on a shred cut short it finishes it.
 * @throws SealogError E_KEY if the file is not a pseudonymization key (nothing is changed then: a
 *   mistyped path never destroys a checkpoint key or anything else), is another key's tombstone, or
 *   cannot be opened for writing. Messages name the file and never hold its text.
 */
export function shredKeyFile(path: string, id: string, now = Date.now()): ShredResult {
  checkKeyId(id, 'key id', 'E_KEY');
  const full = resolve(path);
  const where = shown(full, 'file');
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the command before fstat refuses it.
    fd = openSync(full, constants.O_RDWR | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const hint =
      code === 'EROFS' ? ' (a key mounted from a secret store is destroyed in that store, not here)' : '';
    throw new SealogError('E_KEY', `cannot open ${where} for writing: ${code}${hint}; nothing was changed`, {
      cause: new Error(code),
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SealogError('E_KEY', `${where} is not a regular file; nothing was changed`);
    if (st.size > MAX_KEY_TEXT) throw notKey(where, 'it is too large to be a key');
    const text = readAll(fd, where);
    let at = new Date(now).toISOString();
    const t = parseTombstone(text);
    if (t.kind === 'tombstone') {
      if (t.tombstone.id !== id) {
        throw new SealogError(
          'E_KEY',
          `${where} is the tombstone of key "${t.tombstone.id}" (destroyed on ${t.tombstone.at}), not of key "${id}"; nothing was changed`,
        );
      }
      return { id, at: t.tombstone.at, already: true };
    }
    if (t.kind === 'damaged') {
      // A shred of this key cut short leaves its exact tombstone line then random bytes: finish it.
      const first = parseTombstone(text.slice(0, text.indexOf('\n') + 1));
      if (first.kind !== 'tombstone' || first.tombstone.id !== id) {
        throw notKey(where, 'it starts like a tombstone of a destroyed key but is not one of this key');
      }
      at = first.tombstone.at;
    } else {
      // Only a file that holds a valid key is destroyed; the key is dropped at once.
      try {
        PseudonymKey.fromText(id, text, where);
      } catch (err) {
        throw notKey(where, (err as Error).message);
      }
    }
    const tomb = Buffer.from(formatTombstone(id, Date.parse(at)), 'utf8');
    // Random, not zeros: a compressing or deduplicating file system may store zeros as a hole
    // and leave the old blocks as they were.
    const fill = Buffer.concat([tomb, randomBytes(Math.max(0, st.size - tomb.length))]);
    writeAll(fd, fill);
    fsyncSync(fd);
    ftruncateSync(fd, tomb.length);
    fchmodSync(fd, 0o600);
    fsyncSync(fd);
    syncDir(dirname(full));
    const back = readAll(fd, where);
    if (back !== tomb.toString('utf8')) {
      throw new SealogError(
        'E_IO',
        `${where} does not read back as the tombstone just written; check the disk`,
      );
    }
    return { id, at, already: false };
  } finally {
    closeSync(fd);
  }
}

function notKey(where: string, why: string): SealogError {
  return new SealogError(
    'E_KEY',
    `${where} is not a pseudonymization key (${why}); nothing was changed: shred destroys only a key file`,
  );
}

function readAll(fd: number, where: string): string {
  const buf = Buffer.alloc(MAX_KEY_TEXT + 1);
  let n = 0;
  for (;;) {
    const r = readSync(fd, buf, n, buf.length - n, n);
    if (r === 0) break;
    n += r;
    if (n > MAX_KEY_TEXT) throw notKey(where, 'it is too large to be a key');
  }
  const text = buf.toString('utf8', 0, n);
  buf.fill(0);
  return text;
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, off);
}

/** The edit is in place (no directory entry changes), so this is belt and braces: best effort. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL); the file itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Checks a shredding reason: it is kept in the ledger for good, so it is short
 * plain text (a ticket reference), never personal data.
 * @throws SealogError E_CONFIG naming `field`; the reason itself is never echoed.
 */
export function checkShredReason(reason: string, field = '--reason'): string {
  // Code points, so an accented name counts as its letters; the cheap bound first.
  const n = reason.length > 4 * MAX_SHRED_REASON ? reason.length : [...reason].length;
  if (reason.trim() === '' || n > MAX_SHRED_REASON) {
    throw new SealogError('E_CONFIG', `${field} must be 1 to ${MAX_SHRED_REASON} characters, got ${n}`);
  }
  if (!reason.isWellFormed() || /[\p{Cc}\p{Cf}\u2028\u2029]/u.test(reason)) {
    throw new SealogError(
      'E_CONFIG',
      `${field} must be one line of plain text: no control, format or line-separator characters`,
    );
  }
  const found = scan(reason, SCRUB_KINDS);
  if (found.length > 0) {
    throw new SealogError(
      'E_CONFIG',
      `${field} holds what looks like personal data or a secret (${[...new Set(found.map((s) => s.kind))].join(', ')}); ` +
        'the ledger keeps the reason for good: give a ticket reference instead',
    );
  }
  return reason;
}

/**
 * The ledger entry that records a shredding (`_sealog` at the top level is
 * sealog's own: a logged record cannot pose as one).
 *   {"_sealog":{"keyShredded":{"at":…,"id":…,"reason":…}},"level":30,"levelLabel":"info","msg":…,"time":…}
 */
export function keyShreddedEntry(r: ShredResult, reason: string | undefined, now: number): PendingEntry {
  return sealogEntry(
    { keyShredded: { at: r.at, id: r.id, ...(reason !== undefined ? { reason } : {}) } },
    `sealog: pseudonym key ${r.id} destroyed on ${r.at}; its pseudonyms can no longer be linked to anyone`,
    now,
  );
}
