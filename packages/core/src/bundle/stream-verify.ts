import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SealogError } from '../errors.js';
import { type BoundedLine, boundedLines } from './lines.js';
import { type BundleShape, parseBundleShape } from './parse.js';
import { STREAM_TYPE } from './stream.js';
import { BUNDLE_TYPE, MAX_BUNDLE_ENTRIES } from './types.js';
import { type BundleReport, checkBundleEntry, closeBundle, openBundle, unreadableReport } from './verify.js';
import type { BundleVerifyOptions } from './witnesses.js';

// Verifies a streamed bundle (stream.ts) one line at a time, with the checks
// of verify.ts. Every line is attacker input: each is refused, unread, past
// its bound (the header 64 MiB: the manifest's seq ranges and up to 256
// tokens; a record 4 MiB: a 2 MiB entry in base64 and 64 proof hashes), the
// record count is bounded as in a JSON bundle, and only failed records are
// kept. A dropped or truncated line shows as the manifest disagreeing with the
// records; a reordered one as a seq not above the previous; a changed one as
// a failed proof; a cut inside a line as a last line with no newline.

/** Longest header line (line 1). */
export const MAX_STREAM_HEADER_BYTES = 64 * 1024 * 1024;
/** Longest record line. */
export const MAX_STREAM_LINE_BYTES = 4 * 1024 * 1024;
/** Failed records listed (with their problems) before the rest are only counted. */
const MAX_LISTED_FAILURES = 1000;

const PREFIX = Buffer.from(`{"type":"${STREAM_TYPE}"`);

/** Whether the regular file at `path` starts like a streamed bundle. Never throws. */
export function isStreamFile(path: string): boolean {
  let fd: number | undefined;
  try {
    // A FIFO named like a bundle would block a plain open (test/attacks/reader-fifo.test.ts).
    if (!statSync(path).isFile()) return false;
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return false;
    const head = Buffer.alloc(PREFIX.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(PREFIX);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A line as a JSON value, or undefined when it is not UTF-8 JSON. */
function parseLine(bytes: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(utf8.decode(bytes)) };
  } catch {
    return undefined;
  }
}

/** The header line as a bundle shape (records to come), or why it is unreadable. */
function readHeader(first: IteratorResult<BoundedLine>): { shape: BundleShape } | { error: string } {
  if (first.done) return { error: 'the file is empty' };
  const line = first.value;
  if ('tooLong' in line)
    return { error: `line 1 (the header) is longer than ${MAX_STREAM_HEADER_BYTES} bytes` };
  if (!line.terminated) return { error: 'the file ends inside line 1 (the header): it was truncated' };
  const parsed = parseLine(line.bytes);
  const v = parsed?.value as Record<string, unknown> | undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v.type !== STREAM_TYPE)
    return { error: `line 1 is not the header of a ${STREAM_TYPE} file` };
  if ('entries' in v || 'readme' in v)
    return { error: 'line 1 carries entries or a readme: not a stream header' };
  return parseBundleShape({ ...v, type: BUNDLE_TYPE, entries: [] });
}

/**
 * Verifies the streamed bundle at `path` line by line (see verifyBundle for
 * what is checked). Returns the report and, when the header was readable,
 * its shape (for the TSA check of verifyBundlePath).
 * @throws SealogError E_IO when the file cannot be opened or read.
 */
export function verifyStream(
  path: string,
  options: BundleVerifyOptions = {},
): { report: BundleReport; shape?: BundleShape } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new SealogError('E_IO', `cannot read the bundle ${path}`, { cause: err });
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new SealogError('E_IO', `${path} is not a regular file`);
  }
  try {
    const lines = boundedLines(fd, (n) => (n === 1 ? MAX_STREAM_HEADER_BYTES : MAX_STREAM_LINE_BYTES));
    const header = readHeader(lines.next());
    if ('error' in header) return { report: unreadableReport(header.error, options) };
    const check = openBundle(header.shape, options);
    check.keepFailedOnly = MAX_LISTED_FAILURES;
    const problems = check.report.problems;
    let count = 0;
    let unparsed = 0;
    for (const line of lines) {
      if ('tooLong' in line) {
        problems.push(
          `line ${line.n} is longer than ${MAX_STREAM_LINE_BYTES} bytes: refused unread, checking stopped`,
        );
        break;
      }
      if (!line.terminated) {
        problems.push(`the file ends inside line ${line.n} (no final newline): it was truncated`);
        break;
      }
      if (count >= MAX_BUNDLE_ENTRIES) {
        problems.push(`more than ${MAX_BUNDLE_ENTRIES} records: checking stopped`);
        break;
      }
      count++;
      const parsed = parseLine(line.bytes);
      if (parsed) checkBundleEntry(check, parsed.value);
      else if (++unparsed <= MAX_LISTED_FAILURES) problems.push(`line ${line.n} is not a JSON record`);
    }
    const report = closeBundle(check, count);
    report.records = { total: count, verified: count - unparsed - check.failed };
    return { report, shape: header.shape };
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError('E_IO', `cannot read the bundle ${path}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}
