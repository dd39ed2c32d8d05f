import { type NoisedReport, round3 } from '@sealog/core';

// `sealog report --noised FIELD`: sums and means of already-noised values per
// group (core dp/aggregate.ts). The table says what is exact, what the ± is,
// and that no ε was spent; every number a reader needs to judge it is printed.

const pm = (x: number | undefined) => (x === undefined ? '-' : `±${round3(x)}`);
const val = (x: number | undefined) => (x === undefined ? '-' : round3(x));

/** A header and rows as columns padded to their widest cell, two spaces apart. */
export function aligned(cols: string[], rows: string[][]): string[] {
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), ...rows.map(line)];
}

/** The text form of a noised-aggregate report. */
export function noisedTable(r: NoisedReport): string {
  const cols = ['group', 'n', 'sum', '95%', 'mean', '95%', 'method', 'suppressed', 'skipped'];
  const rows = r.groups.map((g) => [
    g.group,
    String(g.n),
    g.n ? val(g.sum) : '-',
    g.n ? pm(g.sumError) : '-',
    val(g.mean),
    pm(g.meanError),
    g.method,
    String(g.suppressed),
    String(g.skipped),
  ]);
  const epsilons = r.groups.flatMap((g) => g.epsilonRange ?? []);
  const written = epsilons.length
    ? `values were noised when written at ε ${round3(Math.min(...epsilons))}..${round3(Math.max(...epsilons))} each`
    : 'no noised value found';
  return [
    `Aggregates of the noised field ${r.field} by ${r.groupBy}: ε spent by this report = 0 (post-processing of stored noised values; ${written})`,
    `exact: ${r.exact[0]}`,
    `95% intervals from each record's declared noise; they cover ${r.exact[1]!.replace(/^the intervals cover /, '')}`,
    'suppressed = values the writer suppressed (unit budget spent), skipped = field missing or not a noise marker; neither is in n',
    ...(r.invalid > 0 ? [`${r.invalid} record(s) with an unreadable noise marker were left out`] : []),
    '',
    ...(rows.length === 0 ? ['no group found'] : aligned(cols, rows)),
    '',
  ].join('\n');
}
