import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { LedgerReader, type StoredRecord } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { formatJson, formatLine } from '../format.js';

/** How often `-f` looks for new records. One cheap PRAGMA per tick while idle. */
export const FOLLOW_POLL_MS = 200;

const usage = `usage: sealog tail <ledger> [-n N] [-f] [--json]

Prints the newest records of a ledger, oldest first. Opens the file read-only;
never blocks writers.

  -n, --lines N   how many records to print (default 10)
  -f, --follow    keep printing records as other processes append them
      --json      print each stored entry (the exact hashed JSON) on its own line
`;

export const tail: Command = {
  name: 'tail',
  summary: 'print the newest records (-f to follow)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lines: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one ledger file');
    const n = intOption('lines', values.lines, 10);
    const reader = new LedgerReader(positionals[0]!);
    const print = (r: StoredRecord) =>
      io.out(`${values.json ? formatJson(r.seq, r.entry) : formatLine(r.seq, r.ts, r.entry)}\n`);
    try {
      let next = 0;
      for (const r of reader.last(n)) print(r);
      next = reader.size();
      if (!values.follow) return EXIT_OK;
      // data_version changes only when another connection commits, so idle polling costs one PRAGMA.
      let version = reader.db.pragma('data_version', { simple: true });
      while (!io.signal.aborted) {
        await sleep(FOLLOW_POLL_MS, undefined, { signal: io.signal }).catch(() => undefined);
        const v = reader.db.pragma('data_version', { simple: true });
        if (v === version) continue;
        version = v;
        for (const r of reader.records(next)) {
          print(r);
          next = r.seq + 1;
        }
      }
      return EXIT_OK;
    } finally {
      reader.close();
    }
  },
};
