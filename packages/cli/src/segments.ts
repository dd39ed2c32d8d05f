// What `tail`, `query`, `report` and `export` share when the ledger is a
// segment directory (issue 18; docs/lifecycle.md "Reading a segmented ledger").

import { listSegments, type NoticeSink, SealogError, type SegmentNotice } from '@sealog/core';
import { EXIT_OK, EXIT_USAGE, type Io } from './command.js';
import { escapeTerminal } from './format.js';

export const SEGMENTS_USAGE = `A segment directory (seg-000001.db, seg-000002.db, …, as a rotating writer
keeps them) is read as one ledger: its segments in index order, each record
once, shown as #segment:seq (json/csv: "seq", "segment" and "position", the
record's place in the whole history). Row 0 of each segment is sealog's own
binding entry, shown like other _sealog entries. Pruned segments (tombstones)
are passed over; a segment that is missing or cannot be read, and names that
are not segment files, are said on stderr, the rest is still read, and the
exit code is then 2. Reading is not verifying: use \`sealog verify <dir>\`.
`;

/** One stderr line per notice; names in it come from a directory listing, so they are escaped. */
export function noticePrinter(io: Io, command: string): NoticeSink & { incomplete: () => boolean } {
  let incomplete = false;
  const sink = (n: SegmentNotice) => {
    if (n.kind !== 'ignored') incomplete = true;
    io.err(`sealog ${command}: warning: ${escapeTerminal(n.message)}\n`);
  };
  return Object.assign(sink, { incomplete: () => incomplete });
}

/**
 * Refuses a segment directory with no segment file to read.
 * @throws SealogError E_IO naming the directory
 */
export function checkHasSegments(dir: string): void {
  const { slots } = listSegments(dir);
  if (slots.some((s) => s.file !== undefined)) return;
  const pruned = slots.length > 0 ? ` (${slots.length} pruned segment(s): only tombstones are left)` : '';
  throw new SealogError(
    'E_IO',
    `${dir} holds no segment file to read${pruned}; a segmented ledger is a directory of seg-000001.db, seg-000002.db, …`,
  );
}

/**
 * Runs `read` over segment directory `dir`, printing what it skips on stderr.
 * @returns EXIT_OK, or 2 when a segment was missing or could not be read (the
 *   output is then incomplete, like grep's exit code for an unreadable file).
 */
export async function readSegments(
  dir: string,
  io: Io,
  command: string,
  read: (notice: NoticeSink) => void | Promise<void>,
): Promise<number> {
  checkHasSegments(dir);
  const notice = noticePrinter(io, command);
  await read(notice);
  return notice.incomplete() ? EXIT_USAGE : EXIT_OK;
}
