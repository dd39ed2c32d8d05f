import { type CheckpointKey, type HoldSummary, isPostgresUrl, type VerifyReport } from '@sealog/core';
import { EXIT_FAIL, EXIT_OK, type Io } from '../command.js';
import { escapeTerminal } from '../format.js';

// `sealog hold add|release|list postgres://…` (docs/lifecycle.md "Legal hold on
// a PostgreSQL ledger"): the same statements as on a segment directory, in the
// ledger's one table, covering a range of record times. hold.ts parses the flags.

/** Places (`scope` given) or releases a hold; prints the statement, reports on stderr. */
export async function placePg(
  url: string,
  signer: CheckpointKey,
  a: { keys: string[]; now: number; reason: string; id?: string; scope?: { from: number; to: number } },
  io: Io,
): Promise<number> {
  const { holdPg } = await import('@sealog/core/postgres');
  const r = await holdPg(url, { signer, ...a });
  io.out(r.statement);
  io.err(
    `${a.scope ? 'placed' : 'released'} legal hold ${r.id}; recorded at row ${r.seq} and sealed at size ${r.size}\n`,
  );
  return EXIT_OK;
}

/** One hold, one line (as for a segment directory; a PostgreSQL hold names a row, not a segment). */
export function holdLine(h: HoldSummary): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const scope =
    'segment' in h.scope
      ? `segment ${h.scope.segment}`
      : `records ${iso(h.scope.from)} to ${iso(h.scope.to)}`;
  const state = h.active ? 'ACTIVE' : `released ${h.released ? iso(h.released.time) : ''}`;
  return `${escapeTerminal(h.id)}  ${state}  ${scope}  placed ${iso(h.time)}  reason ${escapeTerminal(JSON.stringify(h.reason))}${h.sealed ? '' : '  (not yet sealed)'}\n`;
}

/** The holds section `sealog verify postgres://…` prints. */
function formatPgHolds(r: { holds: HoldSummary[]; problems: { seq: number; message: string }[] }): string {
  let out = r.holds.length > 0 ? '\nlegal holds:\n' : '';
  for (const h of r.holds) out += `  row ${h.at.seq}: ${holdLine(h)}`;
  if (r.problems.length > 0) out += '\nhold statements that count for nothing:\n';
  for (const p of r.problems) out += `  row ${p.seq}: ${escapeTerminal(p.message)}\n`;
  return out;
}

/** `sealog hold list postgres://…`: exit 1 when a hold statement is forged or malformed (an unsealed one is only reported). */
export async function listPg(url: string, keys: string[], json: boolean, io: Io): Promise<number> {
  const { verifiedPgHolds } = await import('@sealog/core/postgres');
  const r = await verifiedPgHolds(url, keys);
  if (json) io.out(`${JSON.stringify({ holds: r.holds, problems: r.problems }, null, 2)}\n`);
  else {
    for (const h of r.holds) io.out(holdLine(h));
    if (r.holds.length === 0) io.out('no legal hold\n');
  }
  for (const p of r.problems) io.err(`row ${p.seq}: ${escapeTerminal(p.message)}\n`);
  return r.problems.some((p) => p.kind === 'forged') ? EXIT_FAIL : EXIT_OK;
}

/**
 * For `sealog verify postgres://…`: the holds of the verified snapshot at `path`
 * (undefined for any other ledger, or with no key). A forged or malformed hold statement fails
 * the verdict, as a `bad-statement` does in a segment directory.
 */
export async function pgHoldsSection(
  arg: string,
  path: string,
  report: VerifyReport,
  keys: readonly string[],
): Promise<{ json: object; text: string; failed: boolean } | undefined> {
  // Without a key (--chain-only) no statement can be judged: nothing to list.
  if (!isPostgresUrl(arg) || keys.length === 0) return undefined;
  const { readPgHoldsFile } = await import('@sealog/core/postgres');
  const r = readPgHoldsFile(path, report, keys);
  const forged = r.problems.filter((p) => p.kind === 'forged').length;
  const failed = forged > 0;
  return {
    json: { ...(failed ? { ok: false } : {}), holds: r.holds, holdProblems: r.problems },
    text:
      formatPgHolds(r) +
      (failed ? `\nFAILED: ${forged} hold statement(s) forged or malformed (listed above)\n` : ''),
    failed,
  };
}
