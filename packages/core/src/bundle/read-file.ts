import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_BUNDLE_BYTES } from './types.js';

/**
 * A regular file's bytes, read whole through one fd; undefined when it is larger
 * than {@link MAX_BUNDLE_BYTES} (checked on the open fd, before reading).
 * @throws the fs error when it cannot be opened or read.
 */
export function readBounded(file: string): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_BUNDLE_BYTES) return undefined;
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
