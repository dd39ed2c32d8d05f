import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SealogError } from '../errors.js';

/**
 * The anchor file: signed checkpoint notes appended one after another, each
 * followed by one empty line:
 *
 *     <origin>\n<size>\n<root>\n\n— <sig line>\n— <sig line>\n\n<next note>…
 *
 * A checkpoint body has no empty lines (tlog-checkpoint §"Note text") and
 * signature lines are never empty, so inside a checkpoint note the only empty
 * line is the body/signature separator; the empty line *after* a signature
 * line ends the note. Plain text, so it can be tailed, rsynced, or posted to a
 * witness note by note. See docs/checkpoints.md.
 */
export const ANCHOR_NOTE_SEPARATOR = '\n';

/**
 * Appends one note to the anchor file (created 0644 if absent) with a single
 * O_APPEND write, then fsyncs it (and the directory on creation) so an
 * acknowledged checkpoint survives power loss.
 * @throws SealogError E_IO naming the path.
 */
export function appendAnchor(path: string, note: string): void {
  let created = false;
  let fd: number;
  try {
    try {
      fd = openSync(
        path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL,
        0o644,
      );
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fd = openSync(path, constants.O_RDWR | constants.O_APPEND);
    }
    try {
      // A note torn by an earlier failed write (a full disk) must not swallow this one:
      // unless the file ends in a complete note, start with blank lines, which end any
      // note in progress for every reader (splitAnchorNotes).
      const text = (created || endsWithNote(fd) ? '' : TORN_SEPARATOR) + note + ANCHOR_NOTE_SEPARATOR;
      writeAll(fd, Buffer.from(text, 'utf8'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(dirname(path));
  } catch (err) {
    throw new SealogError('E_IO', `cannot append the checkpoint to anchor file ${path}`, { cause: err });
  }
}

/**
 * {@link appendAnchor} with the open, write and fsyncs on libuv's thread pool:
 * the writer's sealer uses it so an anchor fsync (a millisecond or more per
 * checkpoint) never holds the thread that takes the app's records. Same
 * format, same durability: it resolves only after the note is on disk.
 * @throws SealogError E_IO naming the path.
 */
export async function appendAnchorAsync(path: string, note: string): Promise<void> {
  try {
    await appendDurably(path, (tail) =>
      tail === undefined || endsWithNoteText(tail)
        ? note + ANCHOR_NOTE_SEPARATOR
        : TORN_SEPARATOR + note + ANCHOR_NOTE_SEPARATOR,
    );
  } catch (err) {
    throw new SealogError('E_IO', `cannot append the checkpoint to anchor file ${path}`, { cause: err });
  }
}

/**
 * Appends `text(tail)` to `path` (created 0644 if absent; `tail` is the last
 * 4 KiB of the file, undefined when it was just created) with O_APPEND writes
 * until every byte is written, then fsyncs the file, and the directory on
 * creation. All on libuv's thread pool. Shared by the anchor file and its
 * token file (anchor-timestamps.ts).
 * @throws the fs error (callers wrap it).
 */
export async function appendDurably(path: string, text: (tail: string | undefined) => string): Promise<void> {
  let created = false;
  let fh: FileHandle;
  try {
    fh = await open(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL,
      0o644,
    );
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    fh = await open(path, constants.O_RDWR | constants.O_APPEND);
  }
  try {
    const buf = Buffer.from(text(created ? undefined : await readTail(fh)), 'utf8');
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done);
      if (bytesWritten <= 0) throw new Error(`short write: ${done} of ${buf.length} bytes`);
      done += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (created && process.platform !== 'win32') {
    const dir = await open(dirname(path), constants.O_RDONLY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** The last (up to) TAIL_BYTES of an open file. */
async function readTail(fh: FileHandle): Promise<string> {
  const { size } = await fh.stat();
  const len = Math.min(size, TAIL_BYTES);
  const buf = Buffer.alloc(len);
  await fh.read(buf, 0, len, size - len);
  return buf.toString('utf8');
}

/** Blank lines that end whatever note came before (two empty lines never occur inside one). */
const TORN_SEPARATOR = '\n\n\n';

/** Writes every byte or throws: a short write (disk full) is an error, never a success. */
function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done);
    if (n <= 0) throw new Error(`short write: ${done} of ${buf.length} bytes`);
    done += n;
  }
}

const TAIL_BYTES = 4096;

/** True when the file ends in a whole note: a signature line followed by an empty line. */
function endsWithNote(fd: number): boolean {
  const size = fstatSync(fd).size;
  const len = Math.min(size, TAIL_BYTES);
  const buf = Buffer.alloc(len);
  readSync(fd, buf, 0, len, size - len);
  return endsWithNoteText(buf.toString('utf8'));
}

/** An empty file, or text ending in a signature line followed by an empty line. */
function endsWithNoteText(tail: string): boolean {
  return tail === '' || /(?:^|\n)\u2014 [^\n]*\n\n$/.test(tail);
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Splits anchor-file text into candidate notes without judging them: each is
 * returned verbatim (with its final newline) for the caller to verify, so a
 * damaged note is reported by the verifier rather than hiding its neighbours.
 * A note ends at the first empty line that follows a signature line ("— …"),
 * or at an empty line that follows another one (never inside a note: a torn
 * note's end, see appendAnchor); a truncated last note is returned as it is.
 * Never throws.
 */
export function splitAnchorNotes(text: string): string[] {
  const { notes, rest } = splitAnchorText(text);
  return rest.trim() !== '' ? [...notes, rest] : notes;
}

/**
 * {@link splitAnchorNotes}, with the ended notes apart from the text after the
 * last of them (`rest`, a note still being written or torn): an incremental
 * reader consumes `text.length - rest.length` characters and reads `rest` again.
 */
export function splitAnchorText(text: string): { notes: string[]; rest: string } {
  const notes: string[] = [];
  let start = 0;
  let inSignatures = false;
  let lastEmpty = false;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    if (line === '' && pos === start) {
      start = nl + 1; // tolerate extra empty lines between notes
    } else if (line === '' && (inSignatures || lastEmpty)) {
      notes.push(text.slice(start, pos));
      start = nl + 1;
      inSignatures = false;
    } else if (line.startsWith('\u2014 ')) {
      inSignatures = true;
    }
    lastEmpty = line === '' && nl < text.length;
    pos = nl + 1;
  }
  return { notes, rest: text.slice(Math.min(start, text.length)) };
}
