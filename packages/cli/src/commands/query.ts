import { parseArgs } from 'node:util';
import { LedgerReader, queryRecords } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE } from '../filters.js';
import { OUTPUT_OPTIONS, OUTPUT_USAGE, printer, useColor } from '../output.js';
import { LEDGER_ARG, withLedger } from '../source.js';

const usage = `usage: sealog query <ledger> [filters] [--limit N] [-o short|json|cat|csv]

Prints every matching record, oldest first. A time range (--since/--from/--to)
uses the time index, so it does not scan the whole ledger. Read-only.

      --limit N       stop after N matches

${FILTER_USAGE}
${OUTPUT_USAGE}`;

export const query: Command = {
  name: 'query',
  summary: 'print every record matching filters (time, level, fields, text, seq)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { limit: { type: 'string' }, ...FILTER_OPTIONS, ...OUTPUT_OPTIONS },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : intOption('limit', values.limit, 0);
    const q = buildQuery(values);
    return withLedger(positionals[0]!, (path) => {
      const reader = new LedgerReader(path);
      try {
        const print = printer(values, io.out, useColor());
        for (const r of queryRecords(reader, q, 'asc', limit)) print(r);
        return EXIT_OK;
      } finally {
        reader.close();
      }
    });
  },
};
