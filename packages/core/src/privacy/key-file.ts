// Reading and judging pseudonymization key material. A pseudonym key gets the
// checks a checkpoint key file gets (note/keyfile.ts): a regular file, not
// accessible by group or others, small; and its bytes must look random. An
// all-zero key file of mode 0644 was accepted, and its pseudonyms were a
// public HMAC anyone could recompute (issue 14, finding 9c). No message here
// ever contains key material: not the bytes, not the text, not a "path" that
// is really key text pasted into `file`.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { SealogError } from '../errors.js';

/** Longest key text accepted (a key file is tiny; anything large is a mistake). */
export const MAX_KEY_TEXT = 4096;
/** Fewest distinct byte values a key may have: 32 random bytes have ~30, a pattern has few. */
export const MIN_DISTINCT_BYTES = 16;

const CREATE_HINT = 'create one with: umask 077; openssl rand -base64 32 > psn.key';

const MIXED = (run: string) => /[0-9]/.test(run) && /[a-z]/.test(run) && /[A-Z]/.test(run);

/**
 * True when `s` could hold key text: a hex run of 16+ bytes, a base64 run of
 * 15+ bytes (random base64 mixes digits, lower and upper case), or a whole
 * value that is base64 with slashes. Such a value is never printed: a user
 * who pastes the key itself where a path or variable name belongs must not
 * find it in a log. Ordinary paths (`/etc/sealog/psn-2025.key`) are shown.
 */
export function looksLikeKeyText(s: string): boolean {
  const t = s.trim();
  if (/[0-9a-fA-F]{32,}/.test(t)) return true;
  if (/^[A-Za-z0-9+/_-]{20,}={0,2}$/.test(t) && MIXED(t)) return true;
  return (t.match(/[A-Za-z0-9+_=-]{20,}/g) ?? []).some(MIXED);
}

/** How a message names a configured path or variable: as given, unless it may be a key. */
export function shown(value: string, what: string): string {
  return looksLikeKeyText(value) ? `${what} (not shown: it looks like key text)` : `${what} ${value}`;
}

/**
 * Reads a key file with the checkpoint key file's checks, on one open fd (no
 * swap between check and read).
 * @throws SealogError E_KEY naming the key id and (when it is no key text) the path.
 */
export function readKeyFile(path: string, id: string): string {
  const where = shown(path, 'file');
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    // Only the errno code: Node's message repeats the path, which may be pasted key text.
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new SealogError(
      'E_KEY',
      `cannot read pseudonymization key "${id}" from ${where}: ${code === 'ENOENT' ? 'it does not exist' : code}; ` +
        `"file" must be the path of a key file (${CREATE_HINT}), never the key itself`,
      { cause: new Error(code) },
    );
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new SealogError('E_KEY', `pseudonymization key "${id}": ${where} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new SealogError(
        'E_KEY',
        `pseudonymization key "${id}": ${where} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); ` +
          `anyone who can read it can re-identify every pseudonym. Run: chmod 600 ${looksLikeKeyText(path) ? '<file>' : path}`,
      );
    }
    if (st.size > MAX_KEY_TEXT)
      throw new SealogError('E_KEY', `pseudonymization key "${id}": ${where} is too large to be a key`);
    const buf = Buffer.alloc(MAX_KEY_TEXT + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_KEY_TEXT)
        throw new SealogError('E_KEY', `pseudonymization key "${id}": ${where} is too large to be a key`);
    }
    const text = buf.toString('utf8', 0, n);
    buf.fill(0);
    return text;
  } catch (err) {
    if (err instanceof SealogError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new SealogError('E_KEY', `cannot read pseudonymization key "${id}" from ${where}: ${code}`, {
      cause: new Error(code),
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses key bytes that are too short or plainly not random (all zero, one
 * repeated byte, a short repeated pattern).
 * @throws SealogError E_KEY; the message gives lengths and counts, never bytes.
 */
export function checkKeyStrength(bytes: Uint8Array, id: string, source: string, minBytes: number): void {
  if (bytes.length < minBytes) {
    throw new SealogError(
      'E_KEY',
      `pseudonymization key "${id}" from ${source} is ${bytes.length} bytes; at least ${minBytes} random bytes are required (${CREATE_HINT})`,
    );
  }
  const distinct = new Set(bytes).size;
  if (distinct < MIN_DISTINCT_BYTES) {
    throw new SealogError(
      'E_KEY',
      `pseudonymization key "${id}" from ${source} is not random (${distinct} distinct byte values in ${bytes.length} bytes); ` +
        `its pseudonyms could be recomputed by anyone. Replace it (${CREATE_HINT})`,
    );
  }
}
