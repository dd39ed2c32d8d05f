import type { BudgetSummary } from '@sealog/core';
import { escapeTerminal } from '../format.js';
import type { NoiseConfig } from './dp.js';

// `sealog dp budget` as text. Units and every other stored value are escaped
// (escapeTerminal): a hand-edited unit must not clear the operator's screen or
// forge table lines. At most MAX_SHOWN rows per table are printed: a busy
// ledger holds a row per unit and window, hundreds of thousands of lines no
// one reads in a terminal; the rest are counted, with the flags (--unit,
// --json) that show them. Overspending and hostile rows are always stated.

/** Rows printed per table; the rest are counted. */
export const MAX_SHOWN = 1000;

type Entry = BudgetSummary['windows'][number];

const num = (x: number | undefined, digits: number) =>
  x === undefined ? '-' : String(Number(x.toFixed(digits)));

/** Aligned columns; widths in a loop (a spread of a huge array overflows the stack). */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, r[i]!.length);
  const pad = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [pad(head), ...rows.map(pad)].join('\n');
}

/** The first MAX_SHOWN entries as rows, and a line counting the rest. */
function shown<T>(all: T[], row: (e: T) => string[], what: string): { rows: string[][]; more: string } {
  const rows = all.slice(0, MAX_SHOWN).map(row);
  const rest = all.length - rows.length;
  return {
    rows,
    more:
      rest > 0
        ? `\n… ${rest} more ${what} not shown: use --unit <pseudonym> for one unit, or --json for all`
        : '',
  };
}

/** What is left, or how far over the limit the spending went. */
const left = (s: Entry['epsilon'], digits: number) =>
  s?.overspent && s.limit !== undefined
    ? `OVER by ${num(s.spent - s.limit, digits)}`
    : num(s?.remaining, digits);

const cols = (e: Entry) => [
  num(e.epsilon?.spent, 6),
  left(e.epsilon, 6),
  num(e.rho?.spent, 9),
  left(e.rho, 9),
  e.rho?.epsilon === undefined ? '-' : `${num(e.rho.epsilon, 4)} (δ ${e.rho.delta})`,
];
const money = ['ε spent', 'ε left', 'ρ spent', 'ρ left', 'ρ as ε'];
/** Widest unit cell: a pseudonym (psn:<key id ≤ 32>:<digest ≤ 64>) fits; a longer, hand-written one is cut. */
const UNIT_CELL = 101;
function unitCell(u: string): string {
  if (!u) return '(no unit)';
  const e = escapeTerminal(u);
  return e.length > UNIT_CELL ? `${e.slice(0, UNIT_CELL)}…` : e;
}

/** Why no lifetime row is shown: the configured cap, no cap, or unknown without --config. */
function noLifetime(config: NoiseConfig | undefined, forUnit: boolean): string {
  const life = config?.budget.lifetime;
  if (!config)
    return 'no lifetime budgets stored (they are kept only under a budget.lifetime cap; give --config to see it)';
  if (!life) return 'no lifetime budgets stored (no budget.lifetime cap configured)';
  const caps = [
    ...(life.epsilon !== undefined ? [`ε at ${life.epsilon}`] : []),
    ...(life.gaussian ? [`ρ at ${num(life.gaussian.rho, 9)}`] : []),
  ];
  return `${forUnit ? 'no lifetime budget stored for this unit' : 'no lifetime budgets stored'} (budget.lifetime caps ${caps.join(', ')})`;
}

/** Hostile rows: the count, the ones listed, each with what writers do with it. */
function hostileText(s: BudgetSummary): string {
  const lines = s.hostile.map((h) => {
    const at = [
      h.table,
      ...(h.unit !== undefined ? [`unit ${unitCell(h.unit)}`] : []),
      ...(h.window !== undefined ? [`window ${h.window}`] : []),
    ].join(' ');
    return `  ${at}: ${h.reason}; ${h.effect}`;
  });
  const rest = s.skipped - s.hostile.length;
  if (rest > 0) lines.push(`  … and ${rest} more`);
  return `\n${s.skipped} hostile row(s) not shown as spending (hand-edited?):\n${lines.join('\n')}`;
}

/**
 * The summary as tables: windows, lifetimes, reservations; then overspending
 * and hostile rows. `config` (when given) says whether a lifetime cap is
 * configured; `forUnit` when the rows were read for one --unit.
 */
export function budgetText(s: BudgetSummary, config?: NoiseConfig, forUnit = false): string {
  const out: string[] = [];
  if (s.windows.length === 0) out.push(`no window budgets stored${forUnit ? ' for this unit' : ''}`);
  else {
    const w = shown(
      s.windows,
      (e) => [unitCell(e.unit), String(e.window), e.start ?? '-', ...cols(e)],
      'window rows',
    );
    out.push(table(['unit', 'window', 'start', ...money], w.rows) + w.more);
  }
  out.push('');
  if (s.lifetime.length === 0) out.push(noLifetime(config, forUnit));
  else {
    const l = shown(s.lifetime, (e) => [unitCell(e.unit), ...cols(e)], 'lifetime rows');
    out.push(`lifetime:\n${table(['unit', ...money], l.rows)}${l.more}`);
  }
  if (s.reservations.length > 0) {
    const r = shown(
      s.reservations,
      (e) => [
        String(e.window),
        e.start ?? '-',
        e.currency === 'rho' ? 'ρ' : 'ε',
        String(e.writers),
        num(e.reserved, 9),
      ],
      'reservation rows',
    );
    out.push(
      `\nreserved by writers out of every unit's window budget (given back when they close):\n${table(['window', 'start', 'budget', 'writers', 'reserved'], r.rows)}${r.more}`,
    );
  }
  if (s.overspent > 0)
    out.push(
      `\n${s.overspent} budget(s) spent more than their limit (OVER): the limit was lowered since, the table was edited, or a bug overspent`,
    );
  if (s.skipped > 0) out.push(hostileText(s));
  if (s.truncated) out.push('\nonly the first 1000000 rows were read');
  return `${out.join('\n')}\n`;
}
