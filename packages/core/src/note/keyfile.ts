import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { SealogError } from '../errors.js';
import { type Ed25519Signer, parseSignerKey } from './keys.js';

/** A key file is one key string and a newline; anything much bigger is not a key file. */
const MAX_KEY_FILE_BYTES = 4096;

function ioError(what: string, err: unknown): SealogError {
  // `cause` is the fs error (path and errno only); never key content.
  return new SealogError('E_IO', what, { cause: err });
}

/**
 * Writes a private key string to a new file with mode 0600 and fsyncs it.
 * O_EXCL: an existing file is never overwritten (that would destroy a key whose
 * checkpoints are already out there).
 * @throws SealogError E_KEY if the file exists or the string is not a valid private key; E_IO otherwise.
 */
export function writeKeyFile(path: string, privateKey: string): void {
  parseSignerKey(privateKey); // refuse to write something we could not load back
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SealogError('E_KEY', `${path} already exists; refusing to overwrite a key file`, {
        cause: err,
      });
    }
    throw ioError(`cannot create key file ${path}`, err);
  }
  try {
    writeSync(fd, `${privateKey}\n`);
    fsyncSync(fd);
  } catch (err) {
    throw ioError(`cannot write key file ${path}`, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a private key file written by {@link writeKeyFile} / `sealog keygen`.
 * Checks, in order: it is a regular file, not readable or writable by group
 * or others (on POSIX; like ssh, we refuse rather than warn), at most 4 KiB,
 * a valid private key string, and — when `expectName` is given — named so.
 * @throws SealogError E_KEY (unsafe mode, malformed, wrong name), E_IO (cannot read).
 *   Messages name the path, never the key.
 */
export function loadSignerKeyFile(path: string, options: { expectName?: string } = {}): Ed25519Signer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new SealogError('E_KEY', `key file ${path} does not exist; create it with \`sealog keygen\``, {
        cause: err,
      });
    throw ioError(`cannot open key file ${path}`, err);
  }
  let text: string;
  try {
    const st = fstatSync(fd); // fstat on the open fd: no swap between check and read
    if (!st.isFile()) throw new SealogError('E_KEY', `key file ${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new SealogError(
        'E_KEY',
        `key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      );
    }
    if (st.size > MAX_KEY_FILE_BYTES)
      throw new SealogError('E_KEY', `key file ${path} is too large to be a key`);
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_KEY_FILE_BYTES) throw new SealogError('E_KEY', `key file ${path} is too large to be a key`);
    }
    text = buf.toString('utf8', 0, n);
    buf.fill(0);
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw ioError(`cannot read key file ${path}`, err);
  } finally {
    closeSync(fd);
  }
  let signer: Ed25519Signer;
  try {
    signer = parseSignerKey(text);
  } catch (err) {
    throw new SealogError('E_KEY', `key file ${path}: ${(err as Error).message}`);
  }
  if (options.expectName !== undefined && signer.name !== options.expectName) {
    throw new SealogError(
      'E_KEY',
      `key file ${path} holds key ${JSON.stringify(signer.name)}, expected ${JSON.stringify(options.expectName)} (the ledger origin)`,
    );
  }
  return signer;
}
