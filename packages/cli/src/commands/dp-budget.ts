import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type BudgetSummary,
  isPostgresUrl,
  parsePgUrl,
  readSqliteBudgets,
  summarizeBudgets,
} from '@sealog/core';
import { EXIT_OK, type Io, UsageError } from '../command.js';
import { type NoiseConfig, readNoiseConfig } from './dp.js';

// `sealog dp budget`: what each unit has spent of its budgets, per window and
// over its lifetime (issue 20, item 4). Units are shown as stored: the noise
// unit is pseudonymized before a budget row is written, so these are
// `psn:<kid>:<digest>` pseudonyms, never raw identifiers.

export const budgetUsage = `usage: sealog dp budget <ledger> [--config <config.json>] [--unit <pseudonym>] [--delta <δ>] [--json]

Shows, per privacy unit (as its stored pseudonym) and budget window, the ε
(Laplace fields) and ρ (Gaussian fields under budget.gaussian, zCDP) spent,
and per unit what it spent over its lifetime. <ledger> is a SQLite ledger
file, a segment directory (its budgets.db) or a postgres:// URL; it is read
only. Spent amounts include leases running writers hold and give back on close.

  --config <file>   the noise configuration (as for dp plan): adds each
                    budget's limit, what remains, and window start times
  --unit <psn>      only this unit, given as its stored pseudonym (as listed
                    without --unit); a raw identifier is refused
  --delta <δ>       also state spent ρ as (ε, δ)-DP at this δ (default: the
                    δ of budget.gaussian when given as an (ε, δ) target)
  --json            print JSON
`;

/** The SQLite file holding a local ledger's budgets: the file, or a segment directory's budgets.db. */
function budgetFile(path: string): string {
  try {
    // A segment directory keeps budgets for all its segments in budgets.db (segments/segment.ts).
    return lstatSync(path).isDirectory() ? join(path, 'budgets.db') : path;
  } catch {
    return path; // reported as unreadable by the reader
  }
}

/**
 * The form budget rows store a unit in: its pseudonym `psn:<key id>:<base64url digest>`
 * (privacy/pseudonymize.ts, key ids as privacy/keys.ts KEY_ID_PATTERN).
 */
const PSEUDONYM = /^psn:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{1,64}$/;

const num = (x: number | undefined, digits: number) =>
  x === undefined ? '-' : String(Number(x.toFixed(digits)));

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

/**
 * The summary as two tables: windows, then lifetimes. `config` (when given) says whether
 * a lifetime cap is configured; `forUnit` when the rows were read for one --unit.
 */
export function budgetText(s: BudgetSummary, config?: NoiseConfig, forUnit = false): string {
  const pad = (cells: string[], widths: number[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const table = (head: string[], rows: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    return [pad(head, widths), ...rows.map((r) => pad(r, widths))].join('\n');
  };
  const cols = (e: BudgetSummary['windows'][number]) => [
    num(e.epsilon?.spent, 6),
    num(e.epsilon?.remaining, 6),
    num(e.rho?.spent, 9),
    num(e.rho?.remaining, 9),
    e.rho?.epsilon === undefined ? '-' : `${num(e.rho.epsilon, 4)} (δ ${e.rho.delta})`,
  ];
  const money = ['ε spent', 'ε left', 'ρ spent', 'ρ left', 'ρ as ε'];
  const out: string[] = [];
  out.push(
    s.windows.length === 0
      ? `no window budgets stored${forUnit ? ' for this unit' : ''}`
      : table(
          ['unit', 'window', 'start', ...money],
          s.windows.map((e) => [e.unit || '(no unit)', String(e.window), e.start ?? '-', ...cols(e)]),
        ),
  );
  out.push('');
  out.push(
    s.lifetime.length === 0
      ? noLifetime(config, forUnit)
      : `lifetime:\n${table(
          ['unit', ...money],
          s.lifetime.map((e) => [e.unit || '(no unit)', ...cols(e)]),
        )}`,
  );
  if (s.skipped > 0) out.push(`\n${s.skipped} row(s) of the wrong shape skipped (hand-edited?)`);
  if (s.truncated) out.push('\nonly the first 1000000 rows were read');
  return `${out.join('\n')}\n`;
}

export async function budget(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      config: { type: 'string' },
      unit: { type: 'string' },
      delta: { type: 'string' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('expected one argument: the ledger (file, segment directory or postgres:// URL)');
  let delta: number | undefined;
  if (values.delta !== undefined) {
    delta = Number(values.delta);
    if (!(delta > 0 && delta < 1))
      throw new UsageError(`--delta must be a number in (0, 1), got "${values.delta}"`);
  }
  // Budget rows hold pseudonyms; a raw identifier would silently match nothing, and without
  // the key it cannot be pseudonymized here. It is not repeated: it may be personal data.
  if (values.unit !== undefined && !PSEUDONYM.test(values.unit))
    throw new UsageError(
      "--unit must be a unit's pseudonym as stored (psn:<key id>:<digest>), not a raw identifier: " +
        'run sealog dp budget <ledger> without --unit to see the stored pseudonyms',
    );
  const config = values.config === undefined ? undefined : readNoiseConfig(values.config);
  const ledger = positionals[0]!;
  let rows: Awaited<ReturnType<typeof readSqliteBudgets>>;
  if (isPostgresUrl(ledger)) {
    const { readPgBudgets } = await import('@sealog/core/postgres');
    rows = await readPgBudgets(parsePgUrl(ledger), values.unit);
  } else {
    rows = readSqliteBudgets(budgetFile(ledger), values.unit);
  }
  const summary = summarizeBudgets(rows, config, delta);
  if (values.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
  else io.out(budgetText(summary, config, values.unit !== undefined));
  if (!config && !values.json)
    io.err('sealog dp: give --config <config.json> to see limits and what remains\n');
  return EXIT_OK;
}
