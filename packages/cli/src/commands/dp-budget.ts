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
import { readNoiseConfig } from './dp.js';
import { budgetText } from './dp-budget-text.js';

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
Text shows at most 1000 rows per table (the rest are counted: use --unit or
--json); rows no writer leaves are listed as hostile, with what writers do
with them; spending over a limit is marked OVER (overspent in JSON).

  --config <file>   the noise configuration (as for dp plan): adds each
                    budget's limit, what remains, and window start times
  --unit <psn>      only this unit, given as its stored pseudonym (as listed
                    without --unit); a raw identifier is refused
  --delta <δ>       also state spent ρ as (ε, δ)-DP at this δ (default: the
                    δ of budget.gaussian when given as an (ε, δ) target)
  --json            print JSON
`;

/** Output is written in pieces of about this many characters. */
const CHUNK = 1 << 20;

/**
 * The summary as `JSON.stringify(summary, null, 2)` would print it, written in
 * pieces: a million rows print hundreds of MB of JSON, never held as one string.
 */
export function writeJson(summary: BudgetSummary, io: Pick<Io, 'out'>): void {
  let buf = '';
  const put = (t: string) => {
    buf += t;
    if (buf.length >= CHUNK) {
      io.out(buf);
      buf = '';
    }
  };
  const indent = (v: unknown, by: string) => JSON.stringify(v, null, 2).replaceAll('\n', `\n${by}`);
  const entries = Object.entries(summary).filter(([, v]) => v !== undefined);
  put('{\n');
  entries.forEach(([k, v], i) => {
    put(`  ${JSON.stringify(k)}: `);
    if (Array.isArray(v) && v.length > 0) {
      put('[\n');
      for (let j = 0; j < v.length; j++) put(`    ${indent(v[j], '    ')}${j < v.length - 1 ? ',' : ''}\n`);
      put('  ]');
    } else put(indent(v, '  '));
    put(i < entries.length - 1 ? ',\n' : '\n');
  });
  put('}\n');
  io.out(buf);
}

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
  // The rows are not kept past the summary: a million of them weigh hundreds of MB.
  const summary = summarizeBudgets(
    isPostgresUrl(ledger)
      ? await (await import('@sealog/core/postgres')).readPgBudgets(parsePgUrl(ledger), values.unit)
      : readSqliteBudgets(budgetFile(ledger), values.unit),
    config,
    delta,
  );
  if (values.json) writeJson(summary, io);
  else io.out(budgetText(summary, config, values.unit !== undefined));
  if (!config && !values.json)
    io.err('sealog dp: give --config <config.json> to see limits and what remains\n');
  return EXIT_OK;
}
