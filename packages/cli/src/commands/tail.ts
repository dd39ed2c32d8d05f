import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LedgerReader, queryRecords } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE } from '../filters.js';
import { OUTPUT_OPTIONS, OUTPUT_USAGE, printer } from '../output.js';

/** How often `-f` looks for new records. One cheap PRAGMA per tick while idle. */
export const FOLLOW_POLL_MS = 200;

const usage = `usage: sealog tail <ledger> [-n N] [-f] [filters] [--json | --csv]

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
    if (positionals.length !== 1) throw new UsageError('expected exactly one ledger file');
    const n = intOption('lines', values.lines, 10);
    const query = buildQuery(values);
    const reader = new LedgerReader(positionals[0]!);
    try {
      const print = printer(values, io.out);
      // Bound every scan by a size read first, so a record appended mid-scan is neither lost nor printed twice.
      let next = reader.size();
      const upTo = (end: number) => Math.min(end, query.seqTo ?? Number.MAX_SAFE_INTEGER);
      // Newest first until n matches, then print oldest first.
      const newest = [...queryRecords(reader, { ...query, seqTo: upTo(next) }, 'desc', n)].reverse();
      for (const r of newest) print(r);
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
