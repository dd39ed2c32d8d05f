import { parseArgs } from 'node:util';
import { LedgerReader, queryRecords, querySegments } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE, segmentOnlyFor } from '../filters.js';
import { OUTPUT_OPTIONS, OUTPUT_USAGE, printer, useColor } from '../output.js';
import { readSegments, SEGMENTS_USAGE } from '../segments.js';
import { isSegmentDirArg, LEDGER_ARG, withLedger } from '../source.js';

const usage = `usage: sealog query <ledger | segment directory> [filters] [--limit N] [-o short|json|cat|csv]

Prints every matching record, oldest first. A time range (--since/--from/--to)
uses the time index, so it does not scan the whole ledger. Read-only.

      --limit N       stop after N matches

${SEGMENTS_USAGE}
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
    const arg = positionals[0]!;
    const segmented = isSegmentDirArg(arg);
    segmentOnlyFor(values, segmented);
    if (segmented) {
      const print = printer(values, io.out, useColor(), true);
      return readSegments(arg, io, 'query', (notice) => {
        for (const r of querySegments(arg, q, notice, 'asc', limit)) print(r);
      });
    }
    return withLedger(arg, (path) => {
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
