import { parseArgs } from 'node:util';
import {
  type DpReport,
  type DpReportOptions,
  dpReport,
  LedgerReader,
  noisedAggregate,
  querySegments,
  type StoredRecord,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { readSegments } from '../segments.js';
import { isSegmentDirArg, LEDGER_ARG, withLedger } from '../source.js';
import { parseTimeArg } from '../time-arg.js';
import { aligned, noisedTable } from './report-noised.js';

const usage = `usage: sealog report <ledger | segment directory> --group-by FIELD --epsilon E [--delta D] [options]
       sealog report <ledger | segment directory> --group-by FIELD --noised FIELD [--groups a,b] [--from T] [--to T] [--json]

Differentially private counts, sums and quantiles per group, safe to share
with people who may not read the logs; or (--noised) sums and means of a field
the writer already noised, with 95% intervals from each record's declared
noise (docs/differential-privacy.md). Opens the file read-only.
A segment directory (seg-000001.db, …) is one report over all its present
segments: a unit's records in several segments count once against its bounds
(its first K groups and R rows per group in ledger order, across segments);
each segment's binding row (row 0, sealog's own) is not counted. A segment
that is missing or cannot be read is said on stderr, and the exit code is 2.

  --group-by FIELD          dotted path of the grouping field (required)
  --count                   noisy row count per group (default when no --sum)
  --sum FIELD               noisy sum of FIELD, clamped to [--lower, --upper]
  --quantiles FIELD         DP quantiles of FIELD per group (exponential mechanism
                            over the grid of [--lower, --upper]), each with the
                            rank error it stays within with >= 95% probability
  --levels 0.5,0.95,0.99    quantile levels (default p50, p95, p99; ε split over them)
  --lower L, --upper U      bounds for --sum and --quantiles (required with either)
  --granularity G           values are snapped to multiples of G (default 1)
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
  --noised FIELD            sums and means of FIELD's stored noised values per
                            group, ± their 95% error (exact lattice sum for
                            narrow noise, Cornish-Fisher for wide, Chebyshev
                            past the work bound); spends no ε, but group
                            names and counts are exact (as in the ledger);
                            values their declared noise cannot explain (off
                            grid, past its 1e-12 tail) are rejected and counted
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

/** The group size from which every level's rank error k is below its distance to the ends of the group. */
const informative = (k: number, levels: number[]) =>
  Math.ceil(Math.max(...levels.map((l) => k / Math.max(1e-9, Math.min(l, 1 - l)))));

const levelName = (l: number) => `p${Number((l * 100).toFixed(2))}`;

function table(r: DpReport): string {
  const p = r.parameters;
  const q = p.quantiles;
  const cols = [
    'group',
    ...(p.count ? [`count ±${p.count.error}`] : []),
    ...(p.sum ? [`sum ±${p.sum.error}`] : []),
    ...(q ? q.levels.map(levelName) : []),
  ];
  const rows = r.groups.map((g) => [
    g.group,
    ...(g.count !== undefined ? [String(g.count)] : []),
    ...(g.sum !== undefined ? [String(g.sum)] : []),
    ...(g.quantiles ?? []).map((x) => String(x.value)),
  ]);
  const sel = p.selection;
  return [
    `DP report by ${r.groupBy}, privacy unit ${r.privacyUnit}: ε spent = ${r.epsilon}, δ = ${r.delta}`,
    `bounds: ${p.maxGroupsPerUnit} group(s) per unit, ${p.maxRowsPerUnit} row(s) per unit per group`,
    ...(p.count || p.sum
      ? [
          '±: the 95% noise bound of each released count/sum (exact discrete Laplace); sums are of clamped values',
        ]
      : []),
    ...(q
      ? [
          `quantiles of ${q.field} on [${q.lower}, ${q.upper}] step ${q.granularity}: exponential mechanism, ε ${q.epsilonEach} per level;`,
          `  with ≥ 95% probability each is within ${q.rankError} record(s) of its rank (level × n records of the group, n not released)`,
          '  of the values as stored: for a field noised at collection, of the noised values, not the true ones',
          `  a level says something only in groups with n well above k/(1 − level) (here ${informative(q.rankError, q.levels)} records)`,
        ]
      : []),
    sel
      ? `groups released when noisy unit count ≥ ${sel.threshold}; about ${r.suppressedGroups} suppressed (noisy, ±${r.suppressedGroupsError})`
      : 'declared groups',
    '',
    ...(sel && rows.length === 0 ? [allSuppressed(r, sel.threshold)] : aligned(cols, rows)),
    '',
  ].join('\n');
}

/**
 * Why the table is empty (issue 19, item 7: a small ledger printed an empty
 * table with no hint). The count of suppressed groups is the noisy one the
 * report already released, so saying it costs no privacy.
 */
export function allSuppressed(r: DpReport, threshold: number): string {
  const units = r.privacyUnit === '(record)' ? 'records' : `distinct ${r.privacyUnit} values`;
  // The count of suppressed groups is noisy and may read 0 while groups were
  // suppressed: the sentence must hold whatever it reads (every group, if any, was).
  return [
    `no group released: every group had fewer than the threshold ${threshold} of ${units} after noise and was suppressed (about ${r.suppressedGroups} such group(s), a noisy count ±${r.suppressedGroupsError});`,
    `with ε=${r.parameters.epsilonPerPart} for selection (of ε=${r.epsilon} in total) and δ=${r.delta} the threshold is ${threshold}.`,
    'A larger --epsilon or --delta, a longer time range, or declared groups (--groups a,b,c: no threshold) release them.',
  ].join('\n');
}

export const report: Command = {
  name: 'report',
  summary: 'differentially private counts/sums/quantiles per group; sums and means of noised fields',
  usage,
  async run(argv, io) {
    const { values: v, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'group-by': { type: 'string' },
        count: { type: 'boolean' },
        sum: { type: 'string' },
        quantiles: { type: 'string' },
        levels: { type: 'string' },
        noised: { type: 'string' },
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
    const arg = positionals[0]!;
    const now = Date.now();
    const print = <R>(r: R, text: (r: R) => string) => io.out(v.json ? `${JSON.stringify(r)}\n` : text(r));
    if (v.noised !== undefined) {
      const dpOnly = DP_FLAGS.filter((f) => v[f] !== undefined);
      if (dpOnly.length > 0)
        throw new UsageError(
          `--noised reads values already noised and spends no ε: run it without --${dpOnly.join(', --')} (those make a separate DP report)`,
        );
      const field = v.noised;
      const options = {
        groupBy,
        field,
        groups: v.groups?.split(','),
        from: time('from', v.from, now),
        to: time('to', v.to, now),
      };
      return withRecords(arg, io, (records) => print(noisedAggregate(records, options), noisedTable));
    }
    const epsilon = num('epsilon', v.epsilon);
    if (epsilon === undefined) throw new UsageError('--epsilon is required');
    const lower = num('lower', v.lower);
    const upper = num('upper', v.upper);
    const g = num('granularity', v.granularity);
    const bounded = (flag: string, field: string) => {
      if (lower === undefined || upper === undefined)
        throw new UsageError(`--${flag} needs --lower and --upper`);
      return { field, lower, upper, ...(g !== undefined ? { granularity: g } : {}) };
    };
    const sum = v.sum !== undefined ? bounded('sum', v.sum) : undefined;
    const quantiles =
      v.quantiles !== undefined
        ? { ...bounded('quantiles', v.quantiles), ...(v.levels ? { levels: levels(v.levels) } : {}) }
        : undefined;
    if (v.levels !== undefined && !quantiles) throw new UsageError('--levels goes with --quantiles FIELD');
    // Checked here, not only in dpReport, to say what to pass (issue 19, item 7).
    if (v.delta === undefined && v.groups === undefined)
      throw new UsageError(
        '--delta D is needed to choose which groups to release (e.g. --delta 1e-6, well below 1 / the number of units); or declare the groups with --groups a,b,c',
      );
    const options: DpReportOptions = {
      groupBy,
      count: v.count,
      sum,
      quantiles,
      epsilon,
      delta: num('delta', v.delta),
      unit: v.unit,
      maxGroupsPerUnit: num('max-groups-per-unit', v['max-groups-per-unit']),
      maxRowsPerUnit: num('max-rows-per-unit', v['max-rows-per-unit']),
      groups: v.groups?.split(','),
      from: time('from', v.from, now),
      to: time('to', v.to, now),
    };
    return withRecords(arg, io, (records) => print(dpReport(records, options), table));
  },
};

/** Flags of a DP report that --noised (no ε) does not take. */
const DP_FLAGS = [
  'epsilon',
  'delta',
  'count',
  'sum',
  'quantiles',
  'levels',
  'lower',
  'upper',
  'granularity',
  'unit',
  'max-groups-per-unit',
  'max-rows-per-unit',
] as const;

/** --levels 0.5,0.95: each a number in [0, 1] (4 decimals at most is checked by the report). */
function levels(v: string): number[] {
  return v.split(',').map((x) => {
    const n = num('levels', x);
    if (n === undefined || n < 0 || n > 1)
      throw new UsageError(`--levels takes numbers in [0, 1] like 0.5,0.95,0.99, got "${x}"`);
    return n;
  });
}

/** Runs `report` over a ledger file or URL, or over every present segment of a directory. */
function withRecords(arg: string, io: Io, report: (records: Iterable<StoredRecord>) => void) {
  if (isSegmentDirArg(arg)) return reportSegments(arg, report, io);
  return withLedger(arg, (path) => {
    const reader = new LedgerReader(path);
    try {
      report(reader.records());
      return EXIT_OK;
    } finally {
      reader.close();
    }
  });
}

/**
 * One report over every present segment of `dir`: the records of all segments
 * go through one dpReport, so contribution bounding (per unit, in ledger order)
 * spans segments. Summing per-segment reports would let a unit contribute up
 * to its bounds once per segment, and spend ε once per segment. Row 0 of each
 * segment is its binding (openSegment checked it), not an application record.
 */
function reportSegments(dir: string, report: (records: Iterable<StoredRecord>) => void, io: Io) {
  return readSegments(dir, io, 'report', (notice) => report(querySegments(dir, { seqFrom: 1 }, notice)));
}
