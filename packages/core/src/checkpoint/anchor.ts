import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
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
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
    }
    try {
      writeSync(fd, note + ANCHOR_NOTE_SEPARATOR);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(dirname(path));
  } catch (err) {
    throw new SealogError('E_IO', `cannot append the checkpoint to anchor file ${path}`, { cause: err });
  }
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
 * A note ends at the first empty line that follows a signature line
 * ("— …"); a truncated last note is returned as it is. Never throws.
 */
export function splitAnchorNotes(text: string): string[] {
  const notes: string[] = [];
  let start = 0;
  let inSignatures = false;
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    if (line === '' && pos === start) {
      start = nl + 1; // tolerate extra empty lines between notes
    } else if (line === '' && inSignatures) {
      notes.push(text.slice(start, pos));
      start = nl + 1;
      inSignatures = false;
    } else if (line.startsWith('\u2014 ')) {
      inSignatures = true;
    }
    pos = nl + 1;
  }
  if (start < text.length && text.slice(start).trim() !== '') notes.push(text.slice(start));
  return notes;
}
