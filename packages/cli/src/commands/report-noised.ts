import { type NoisedReport, round3 } from '@sealog/core';

// `sealog report --noised FIELD`: sums and means of already-noised values per
// group (core dp/aggregate.ts). The table says what is exact, what the ± is,
// and that no ε was spent; every number a reader needs to judge it is printed.

const pm = (x: number | undefined) => (x === undefined ? '-' : `±${round3(x)}`);
const val = (x: number | undefined) => (x === undefined ? '-' : round3(x));

/** A header and rows as columns padded to their widest cell, two spaces apart. */
export function aligned(cols: string[], rows: string[][]): string[] {
  // A loop, not Math.max(...rows): a spread of more than ~125k groups overflows the stack.
  const w = cols.map((c) => c.length);
  for (const row of rows) for (let i = 0; i < w.length; i++) w[i] = Math.max(w[i]!, row[i]!.length);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(w[i]!))
      .join('  ')
      .trimEnd();
  return [line(cols), ...rows.map(line)];
}

const REASONS: [keyof NoisedReport['rejected'], string][] = [
  ['unreadable', 'unreadable noise marker (not what a writer produces)'],
  ['declarations', 'beyond the first 256 distinct Gaussian declarations'],
  ['offGrid', 'value off its declared grid'],
  ['outOfRange', 'value further outside [lower, upper] than its declared noise reaches (p < 1e-12)'],
  ['overflow', 'value or noise variance too large to sum (overflow)'],
];

/** How many records were left out of every n, and why: forged or broken markers are never summed. */
function rejectedLine(r: NoisedReport): string {
  const why = REASONS.filter(([k]) => r.rejected[k] > 0).map(([k, text]) => `${r.rejected[k]} ${text}`);
  return `${r.invalid} record(s) rejected, in no group's n: ${why.join('; ')}`;
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
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const g of r.groups)
    for (const e of g.epsilonRange ?? []) [lo, hi] = [Math.min(lo, e), Math.max(hi, e)];
  const written =
    hi >= lo
      ? `values were noised when written at ε ${round3(lo)}..${round3(hi)} each`
      : 'no noised value found';
  return [
    `Aggregates of the noised field ${r.field} by ${r.groupBy}: ε spent by this report = 0 (post-processing of stored noised values; ${written})`,
    `exact: ${r.exact[0]}`,
    `95% intervals from each record's declared noise; they cover ${r.exact[1]!.replace(/^the intervals cover /, '')}`,
    'suppressed = values the writer suppressed (unit budget spent), skipped = field missing or not a noise marker; neither is in n',
    'method: exact = the exact lattice quantile of the summed declared noise (pmf convolution); normal+cornish-fisher = noise at least 20 grid steps wide; chebyshev = √20·σ, holds for any noise',
    ...(r.invalid > 0 ? [rejectedLine(r)] : []),
    '',
    ...(rows.length === 0 ? ['no group found'] : aligned(cols, rows)),
    '',
  ].join('\n');
}
