import { parseArgs } from 'node:util';
import { type DpReport, type DpReportOptions, dpReport, LedgerReader, querySegments } from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { readSegments } from '../segments.js';
import { isSegmentDirArg, LEDGER_ARG, withLedger } from '../source.js';
import { parseTimeArg } from '../time-arg.js';

const usage = `usage: sealog report <ledger | segment directory> --group-by FIELD --epsilon E [--delta D] [options]

Differentially private counts and sums per group, safe to share with people
who may not read the logs (docs/differential-privacy.md). Opens the file read-only.
A segment directory (seg-000001.db, …) is one report over all its present
segments: a unit's records in several segments count once against its bounds
(its first K groups and R rows per group in ledger order, across segments);
each segment's binding row (row 0, sealog's own) is not counted. A segment
that is missing or cannot be read is said on stderr, and the exit code is 2.

  --group-by FIELD          dotted path of the grouping field (required)
  --count                   noisy row count per group (default when no --sum)
  --sum FIELD               noisy sum of FIELD, clamped to [--lower, --upper]
  --lower L, --upper U      clamping bounds for --sum (required with --sum)
  --granularity G           --sum values are snapped to multiples of G (default 1)
  --epsilon E               total ε of the report (required)
  --delta D                 δ for selecting groups not declared with --groups
                            (required without --groups; e.g. 1e-6)
  --groups a,b,c            declared groups: no selection, no δ needed
  --unit FIELD              privacy unit (e.g. user.id); default: each record
  --max-groups-per-unit K   groups one unit may contribute to (default 1)
  --max-rows-per-unit R     rows one unit may contribute to each group (default 1)
  --from T, --to T          time range [from, to) by record time; T as for
                            \`sealog query\`: 2026-01-31T12:00:00Z, 2026-01-31
                            (no zone = UTC), yesterday, "2 hours ago", ...
  --json                    machine-readable output`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

/** The same time forms as query/tail (time-arg.ts): no zone is UTC, a bare number is refused. */
function time(name: string, v: string | undefined, now: number): number | undefined {
  return v === undefined ? undefined : parseTimeArg(name, v, now);
}

function table(r: DpReport): string {
  const cols = ['group', ...(r.parameters.count ? ['count'] : []), ...(r.parameters.sum ? ['sum'] : [])];
  const rows = r.groups.map((g) => [
    g.group,
    ...(g.count !== undefined ? [String(g.count)] : []),
    ...(g.sum !== undefined ? [String(g.sum)] : []),
  ]);
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  const sel = r.parameters.selection;
  return [
    `DP report by ${r.groupBy}, privacy unit ${r.privacyUnit}: ε = ${r.epsilon}, δ = ${r.delta}`,
    `bounds: ${r.parameters.maxGroupsPerUnit} group(s) per unit, ${r.parameters.maxRowsPerUnit} row(s) per unit per group`,
    sel
      ? `groups released when noisy unit count ≥ ${sel.threshold}; about ${r.suppressedGroups} suppressed (noisy)`
      : 'declared groups',
    '',
    ...(sel && rows.length === 0 ? [allSuppressed(r, sel.threshold)] : [line(cols), ...rows.map(line)]),
    '',
  ].join('\n');
}

/**
 * Why the table is empty (issue 19, item 7: a small ledger printed an empty
 * table with no hint). The count of suppressed groups is the noisy one the
 * report already released, so saying it costs no privacy.
 */
function allSuppressed(r: DpReport, threshold: number): string {
  const units = r.privacyUnit === '(record)' ? 'records' : `distinct ${r.privacyUnit} values`;
  const who = r.suppressedGroups > 0 ? `about ${r.suppressedGroups} group(s) (a noisy count)` : 'no group';
  return [
    `no group released: ${who} had fewer than the threshold ${threshold} of ${units} after noise and were suppressed;`,
    `with ε=${r.parameters.epsilonPerPart} for selection (of ε=${r.epsilon} in total) and δ=${r.delta} the threshold is ${threshold}.`,
    'A larger --epsilon or --delta, a longer time range, or declared groups (--groups a,b,c: no threshold) release them.',
  ].join('\n');
}

export const report: Command = {
  name: 'report',
  summary: 'differentially private counts/sums per group',
  usage,
  async run(argv, io) {
    const { values: v, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'group-by': { type: 'string' },
        count: { type: 'boolean' },
        sum: { type: 'string' },
        lower: { type: 'string' },
        upper: { type: 'string' },
        granularity: { type: 'string' },
        epsilon: { type: 'string' },
        delta: { type: 'string' },
        groups: { type: 'string' },
        unit: { type: 'string' },
        'max-groups-per-unit': { type: 'string' },
        'max-rows-per-unit': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const groupBy = v['group-by'];
    if (!groupBy) throw new UsageError('--group-by is required');
    const epsilon = num('epsilon', v.epsilon);
    if (epsilon === undefined) throw new UsageError('--epsilon is required');
    let sum: { field: string; lower: number; upper: number; granularity?: number } | undefined;
    if (v.sum !== undefined) {
      const lower = num('lower', v.lower);
      const upper = num('upper', v.upper);
      if (lower === undefined || upper === undefined) throw new UsageError('--sum needs --lower and --upper');
      sum = { field: v.sum, lower, upper };
      const g = num('granularity', v.granularity);
      if (g !== undefined) sum.granularity = g;
    }
    // Checked here, not only in dpReport, to say what to pass (issue 19, item 7).
    if (v.delta === undefined && v.groups === undefined)
      throw new UsageError(
        '--delta D is needed to choose which groups to release (e.g. --delta 1e-6, well below 1 / the number of units); or declare the groups with --groups a,b,c',
      );
    const now = Date.now();
    const options: DpReportOptions = {
      groupBy,
      count: v.count,
      sum,
      epsilon,
      delta: num('delta', v.delta),
      unit: v.unit,
      maxGroupsPerUnit: num('max-groups-per-unit', v['max-groups-per-unit']),
      maxRowsPerUnit: num('max-rows-per-unit', v['max-rows-per-unit']),
      groups: v.groups?.split(','),
      from: time('from', v.from, now),
      to: time('to', v.to, now),
    };
    const show = (r: DpReport) => io.out(v.json ? `${JSON.stringify(r)}\n` : table(r));
    const arg = positionals[0]!;
    if (isSegmentDirArg(arg)) return reportSegments(arg, options, show, io);
    return withLedger(arg, (path) => {
      const reader = new LedgerReader(path);
      try {
        show(dpReport(reader.records(), options));
        return EXIT_OK;
      } finally {
        reader.close();
      }
    });
  },
};

/**
 * One report over every present segment of `dir`: the records of all segments
 * go through one dpReport, so contribution bounding (per unit, in ledger order)
 * spans segments. Summing per-segment reports would let a unit contribute up
 * to its bounds once per segment, and spend ε once per segment. Row 0 of each
 * segment is its binding (openSegment checked it), not an application record.
 */
function reportSegments(dir: string, options: DpReportOptions, show: (r: DpReport) => void, io: Io) {
  return readSegments(dir, io, 'report', (notice) => {
    const records = querySegments(dir, { seqFrom: 1 }, notice);
    show(dpReport(records, options));
  });
}
