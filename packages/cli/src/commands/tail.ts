import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  checkedTime,
  inTimeRange,
  isPostgresUrl,
  LedgerReader,
  queryRecords,
  type RecordQuery,
  type StoredRecord,
} from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE } from '../filters.js';
import { OUTPUT_OPTIONS, OUTPUT_USAGE, printer } from '../output.js';
import { LEDGER_ARG, withLedger } from '../source.js';

/** How often `-f` looks for new records. One cheap PRAGMA per tick while idle. */
export const FOLLOW_POLL_MS = 200;

const usage = `usage: sealog tail <ledger | postgres://…> [-n N] [-f] [filters] [--json | --csv]

Prints the newest matching records of a ledger, oldest first. Opens the file
read-only; never blocks writers.

  -n, --lines N   how many records to print (default 10)
  -f, --follow    keep printing matching records as any process appends them

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
        ...FILTER_OPTIONS,
        ...OUTPUT_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const n = intOption('lines', values.lines, 10);
    const query = buildQuery(values);
    const print = printer(values, io.out);
    const arg = positionals[0]!;
    const upTo = (end: number) => Math.min(end, query.seqTo ?? Number.MAX_SAFE_INTEGER);
    if (isPostgresUrl(arg)) {
      const next = await withLedger(arg, (path) => {
        const snapshot = new LedgerReader(path);
        try {
          return printNewest(snapshot, n, query, print);
        } finally {
          snapshot.close();
        }
      });
      if (values.follow) await followPostgres(arg, next, query, print, io.signal);
      return EXIT_OK;
    }
    const reader = new LedgerReader(arg);
    try {
      let next = printNewest(reader, n, query, print);
      if (!values.follow) return EXIT_OK;
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
