import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The text of a small regular file, or undefined when it is missing, not a
 * regular file, larger than `maxBytes` or unreadable. Opened without following
 * a symlink and without blocking, so a FIFO or device planted at the path (by
 * whoever can write its directory) neither hangs the caller nor feeds it
 * without end. Never throws.
 */
export function readSmallFile(path: string, maxBytes: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
