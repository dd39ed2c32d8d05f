import { readSync } from 'node:fs';

// Lines of a file an attacker wrote, read with a bound on each line's length
// that is enforced while reading: readline would buffer a 10 GB line whole.

/** One line (without its "\n"), or the report that line `n` is over its bound (reading stops there). */
export type BoundedLine = { n: number; bytes: Buffer; terminated: boolean } | { n: number; tooLong: true };

/**
 * The lines of the open file `fd`, from its current position, numbered from 1.
 * A line longer than `limit(n)` bytes yields `tooLong` and ends the lines;
 * a last line with no "\n" yields `terminated: false`. Memory: one read
 * buffer plus the current line (at most its bound).
 * @throws the fs error when the file cannot be read.
 */
export function* boundedLines(
  fd: number,
  limit: (n: number) => number,
  chunkBytes = 1 << 20,
): Generator<BoundedLine> {
  const buf = Buffer.allocUnsafe(chunkBytes);
  let parts: Buffer[] = [];
  let len = 0;
  let n = 1;
  for (;;) {
    const got = readSync(fd, buf, 0, buf.length, null);
    if (got === 0) break;
    const view = buf.subarray(0, got);
    let start = 0;
    while (start < got) {
      const nl = view.indexOf(0x0a, start);
      const end = nl === -1 ? got : nl;
      if (len + end - start > limit(n)) {
        yield { n, tooLong: true };
        return;
      }
      parts.push(Buffer.from(view.subarray(start, end))); // a copy: `buf` is read into again
      len += end - start;
      if (nl === -1) break;
      yield { n, bytes: Buffer.concat(parts, len), terminated: true };
      parts = [];
      len = 0;
      n++;
      start = nl + 1;
    }
  }
  if (len > 0) yield { n, bytes: Buffer.concat(parts, len), terminated: false };
}
