import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SealogError } from '../errors.js';

// The output directory of `sealog tiles`. Everything already in it is attacker
// input: its files may be forged, truncated, huge, FIFOs, or symlinks pointing
// out of the directory, and its subdirectories may be symlinks too. So:
// - no path component below the root is followed if it is a symlink (a
//   symlinked `tile/0` would make us write elsewhere);
// - existing files are opened O_NOFOLLOW | O_NONBLOCK (a FIFO never blocks
//   us), must be regular, and are read only up to the length we expect;
// - every write goes to a fresh O_EXCL temp file beside the target, is
//   fsync'd, then renamed over it, so a static server serves the old bytes
//   or the new ones, never a torn file (and rename replaces a planted
//   symlink instead of writing through it).

/** What put() found at the path before it wrote. */
export type PutOutcome = 'written' | 'unchanged' | 'replaced';

function tampered(path: string, what: string): SealogError {
  return new SealogError(
    'E_TAMPER',
    `${path} ${what}; the tiles directory was changed by someone other than \`sealog tiles\`. Published tiles never change, so investigate, then remove the directory and publish again`,
  );
}

function io(path: string, action: string, err: unknown): SealogError {
  return new SealogError('E_IO', `could not ${action} ${path}: ${(err as Error).message}`, { cause: err });
}

/** A directory of tiles written only through atomic renames. */
export class TileDir {
  readonly root: string;
  /** Directories known to be real directories (not symlinks) below the root. */
  readonly #checked = new Set<string>();
  /** Directories an entry was renamed into since the last sync(). */
  readonly #dirty = new Set<string>();

  /**
   * The root is created on the first write, so a run that publishes nothing
   * leaves no trace. It is the user's choice and may be a symlink; below it nothing is followed.
   * @throws SealogError E_IO when `root` exists and is not a directory.
   */
  constructor(root: string) {
    this.root = root;
    let isDir: boolean | undefined;
    try {
      isDir = statSync(root).isDirectory();
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw io(root, 'inspect', err);
    }
    if (isDir === false) throw new SealogError('E_IO', `${root} exists and is not a directory`);
  }

  /**
   * Checks each directory of `rel` below the root, refusing symlinks and
   * files in their place; creates missing ones when `create`, else returns
   * undefined at the first missing one.
   */
  #dir(rel: string, create: boolean): string | undefined {
    const full = rel === '.' ? this.root : join(this.root, rel);
    if (this.#checked.has(rel)) return full;
    if (rel !== '.' && this.#dir(dirname(rel), create) === undefined) return undefined;
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      // The root may be a symlink the user chose: stat it; lstat everything below.
      st = rel === '.' ? statSync(full) : lstatSync(full);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw io(full, 'inspect', err);
    }
    if (st === undefined) {
      if (!create) return undefined;
      try {
        mkdirSync(full, { recursive: rel === '.' });
      } catch (err) {
        throw io(full, 'create directory', err);
      }
      this.#dirty.add(dirname(full));
    } else if (!st.isDirectory() || st.isSymbolicLink()) {
      throw tampered(full, 'should be a directory but is a symlink or file');
    }
    this.#checked.add(rel);
    return full;
  }

  /**
   * The bytes at `rel` if it holds a regular file of at most `limit` bytes;
   * undefined when absent; `null` when present but longer than `limit`.
   * @throws SealogError E_TAMPER for a symlink, FIFO, device or directory; E_IO otherwise.
   */
  read(rel: string, limit: number): Buffer | undefined | null {
    const dir = this.#dir(dirname(rel), false);
    if (dir === undefined) return undefined;
    const full = join(dir, basename(rel));
    let fd: number;
    try {
      fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP' || code === 'EMLINK') throw tampered(full, 'is a symlink');
      throw io(full, 'open', err);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw tampered(full, 'is not a regular file');
      if (st.size > limit) return null;
      const buf = Buffer.alloc(st.size);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, got);
        if (n === 0) break; // shrank while reading: compare what we have
        got += n;
      }
      return buf.subarray(0, got);
    } catch (err) {
      throw err instanceof SealogError ? err : io(full, 'read', err);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Makes `rel` hold exactly `bytes`. An identical file is left alone. A
   * different one is replaced only when `mutable`; for an immutable resource
   * (every tile and bundle: tlog-tiles §"Merkle Tree", "This endpoint is
   * immutable") a difference means the directory or the ledger's history
   * changed since it was published, and that is reported, not papered over.
   * @throws SealogError E_TAMPER (immutable file differs, or a symlink/special file in the way), E_IO.
   */
  put(rel: string, bytes: Buffer, mutable = false): PutOutcome {
    const existing = this.read(rel, bytes.length);
    if (existing?.equals(bytes)) return 'unchanged';
    if (existing !== undefined && !mutable) {
      throw tampered(join(this.root, rel), 'differs from the tile derived from the ledger');
    }
    this.#write(rel, bytes);
    return existing === undefined ? 'written' : 'replaced';
  }

  #write(rel: string, bytes: Buffer): void {
    const dir = this.#dir(dirname(rel), true)!;
    const full = join(dir, basename(rel));
    // A dot name no tlog-tiles path uses, unique per call; O_EXCL never follows a planted symlink.
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number | undefined;
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(tmp, full);
      this.#dirty.add(dir);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // already renamed or never created
      }
      throw io(full, 'write', err);
    }
  }

  /**
   * fsyncs every directory an entry was created or renamed in, so the
   * renames are durable before the checkpoint that needs them is written.
   * @throws SealogError E_IO.
   */
  sync(): void {
    for (const d of this.#dirty) {
      let fd: number | undefined;
      try {
        fd = openSync(d, constants.O_RDONLY | constants.O_DIRECTORY);
        fsyncSync(fd);
      } catch (err) {
        // Some platforms (Windows) cannot open or fsync a directory; renames are what they are there.
        const code = (err as { code?: string }).code;
        if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw io(d, 'sync', err);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    this.#dirty.clear();
  }
}
