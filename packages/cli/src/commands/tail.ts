import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  checkedTime,
  inTimeRange,
  isPostgresUrl,
  isSealogError,
  LedgerReader,
  queryRecords,
  type RecordQuery,
  type StoredRecord,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, intOption, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE, segmentOnlyFor } from '../filters.js';
import { OUTPUT_OPTIONS, OUTPUT_USAGE, printer, useColor } from '../output.js';
import { SEGMENTS_USAGE } from '../segments.js';
import { checkNotDirectory, isSegmentDirArg, LEDGER_ARG, withLedger } from '../source.js';
import { tailSegments } from './tail-segments.js';

/** How often `-f` looks for new records. One cheap PRAGMA per tick while idle. */
export const FOLLOW_POLL_MS = 200;
/**
 * How long `-f` lets a ledger that has just appeared be "not a ledger yet": a
 * writer creates the file, switches it to WAL, then creates its tables.
 */
export const APPEAR_GRACE_MS = 5000;

const usage = `usage: sealog tail <ledger | segment directory | postgres://…> [-n N] [-f] [filters] [-o short|json|cat|csv]

Prints the newest matching records of a ledger, oldest first. Opens the file
read-only; never blocks writers.

  -n, --lines N   how many records to print (default 10)
  -f, --follow    keep printing matching records as any process appends them;
                  a ledger file that does not exist yet is waited for (like
                  tail -F), with one line on stderr saying so; Ctrl-C stops.
                  A segment directory is followed across rotation: when a
                  newer segment file appears, the rest of the current one is
                  printed, then the new one's records; an empty or missing
                  directory is waited for
  -F, --follow-name  the same as -f (which already waits for a missing ledger, as tail -F does)

${SEGMENTS_USAGE}
${FILTER_USAGE}
${OUTPUT_USAGE}`;

export const tail: Command = {
  name: 'tail',
  summary: 'print the newest records (-f to follow), with filters',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lines: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
        'follow-name': { type: 'boolean', short: 'F' },
        ...FILTER_OPTIONS,
        ...OUTPUT_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const n = intOption('lines', values.lines, 10);
    const follow = values.follow === true || values['follow-name'] === true;
    const query = buildQuery(values);
    const arg = positionals[0]!;
    const timing = { pollMs: FOLLOW_POLL_MS, graceMs: APPEAR_GRACE_MS };
    const segmented = isSegmentDirArg(arg, follow);
    // Only a segment directory has segments; a missing path being followed may become one.
    const mayAppear = follow && !isPostgresUrl(arg) && fileSize(arg) === undefined;
    if (!segmented && !mayAppear) segmentOnlyFor(values, false);
    if (segmented) {
      const print = printer(values, io.out, useColor(), true);
      return tailSegments(arg, n, query, print, io, follow ? { timing, told: false } : undefined);
    }
    const upTo = (end: number) => Math.min(end, query.seqTo ?? Number.MAX_SAFE_INTEGER);
    if (isPostgresUrl(arg)) {
      const print = printer(values, io.out, useColor());
      const next = await withLedger(arg, (path) => {
        const snapshot = new LedgerReader(path);
        try {
          return printNewest(snapshot, n, query, print);
        } finally {
          snapshot.close();
        }
      });
      if (follow) await followPostgres(arg, next, query, print, io.signal);
      return EXIT_OK;
    }
    checkNotDirectory(arg);
    const reader = follow ? await waitForLedger(arg, io) : new LedgerReader(arg);
    if (reader === undefined) return EXIT_OK; // Ctrl-C while waiting
    if (!(reader instanceof LedgerReader)) {
      // What appeared is a directory: a segmented ledger's first segment is on its way.
      const print = printer(values, io.out, useColor(), true);
      return tailSegments(arg, n, query, print, io, { timing, told: reader.told });
    }
    segmentOnlyFor(values, false);
    const print = printer(values, io.out, useColor());
    try {
      let next = printNewest(reader, n, query, print);
      if (!follow) return EXIT_OK;
      // data_version changes only when another connection commits, so idle polling costs one PRAGMA.
      let version = reader.db.pragma('data_version', { simple: true });
      while (!io.signal.aborted) {
        await sleep(FOLLOW_POLL_MS, undefined, { signal: io.signal }).catch(() => undefined);
        const v = reader.db.pragma('data_version', { simple: true });
        if (v === version) continue;
        version = v;
        const end = reader.size();
        const from = Math.max(next, query.seqFrom ?? 0);
        for (const r of queryRecords(reader, { ...query, seqFrom: from, seqTo: upTo(end) })) print(r);
        next = end;
      }
      return EXIT_OK;
    } finally {
      reader.close();
    }
  },
};

/** Size of the file at `path`, or undefined when there is none. */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Opens the ledger for `tail -f`, first waiting for it to appear (issue 19,
 * item 5: started before the app, tail exited 2 where `tail -F` and
 * `journalctl -f` wait). An empty file counts as not there yet. Returns
 * undefined if the signal fires first, and `{ told }` when what appeared is a
 * segment directory (issue 18: a rotating writer creates the directory first).
 * @throws what LedgerReader throws for a file that is there but not a ledger
 *   (at once if it was there from the start, else after APPEAR_GRACE_MS).
 */
async function waitForLedger(path: string, io: Io): Promise<LedgerReader | { told: boolean } | undefined> {
  let waited = false;
  let appeared: number | undefined;
  while (!io.signal.aborted) {
    if (waited && isSegmentDirArg(path, true)) return { told: true };
    const size = fileSize(path);
    if (size !== undefined && size > 0) {
      try {
        return new LedgerReader(path);
      } catch (err) {
        if (!waited || !isSealogError(err) || err.code !== 'E_NOT_LEDGER') throw err;
        appeared ??= Date.now();
        if (Date.now() - appeared > APPEAR_GRACE_MS) throw err;
      }
    } else if (!waited) {
      io.err(`sealog tail: waiting for ${path} to appear (Ctrl-C to stop)\n`);
      waited = true;
    }
    await sleep(FOLLOW_POLL_MS, undefined, { signal: io.signal }).catch(() => undefined);
  }
  return undefined;
}

/**
 * Prints the newest `n` matches, oldest first. Returns the size the
 * scan was bounded by (read first, so a record appended mid-scan is neither lost nor
 * printed twice): following resumes there.
 */
function printNewest(
  reader: LedgerReader,
  n: number,
  query: RecordQuery,
  print: (r: StoredRecord) => void,
): number {
  const size = reader.size();
  const seqTo = Math.min(size, query.seqTo ?? Number.MAX_SAFE_INTEGER);
  const newest = [...queryRecords(reader, { ...query, seqTo }, 'desc', n)].reverse();
  for (const r of newest) print(r);
  return size;
}

/** `tail -f` on PostgreSQL: polls for rows past `next`, applying the same filters as queryRecords. */
async function followPostgres(
  url: string,
  next: number,
  q: RecordQuery,
  print: (r: StoredRecord) => void,
  signal: AbortSignal,
): Promise<void> {
  const { followPg } = await import('@sealog/core/postgres');
  const timed = q.tsFrom !== undefined || q.tsTo !== undefined;
  for await (const r of followPg(url, Math.max(next, q.seqFrom ?? 0), signal, FOLLOW_POLL_MS)) {
    if (q.seqTo !== undefined && r.seq >= q.seqTo) return;
    // The entry's own time decides, as in queryRecords; an edited ts index fails loudly.
    if (timed && !inTimeRange(checkedTime('ledger', r.seq, r.ts, r.entry), q.tsFrom, q.tsTo)) continue;
    if (q.match && !q.match(r)) continue;
    print(r);
  }
}
