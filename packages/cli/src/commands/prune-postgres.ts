import type { CheckpointKey } from '@sealog/core';
import { EXIT_OK, type Io } from '../command.js';
import { formatDuration } from './verify-segments.js';

// `sealog prune postgres://…`: removes the due prefix of a PostgreSQL ledger's
// rows, keeping a tombstone (docs/lifecycle.md "PostgreSQL ledgers"). prune.ts
// parses and checks the shared flags, then hands over here.

export interface PgPruneArgs {
  url: string;
  signer: CheckpointKey;
  keys: string[];
  cutoff: number;
  now: number;
  retention: number;
  reason: string;
  dryRun: boolean;
  json: boolean;
}

export async function prunePostgres(a: PgPruneArgs, io: Io): Promise<number> {
  const { lockPgHolds, prunePg } = await import('@sealog/core/postgres');
  // One at a time with sealog hold: a hold placed between the plan and the cut would not stop it.
  const lock = a.dryRun ? undefined : await lockPgHolds(a.url, 'sealog prune');
  const { plan, statementSeq } = await prunePg(a.url, {
    signer: a.signer,
    keys: a.keys,
    cutoff: a.cutoff,
    now: a.now,
    retention: a.retention,
    reason: a.reason,
    dryRun: a.dryRun,
    // Stages on stderr: what ran before a kill (and the crash tests kill on them).
    onStage: (stage) => io.err(`sealog prune: ${stage}\n`),
  }).finally(() => lock?.release());
  const due = plan.size - plan.from;
  const summary = {
    dryRun: a.dryRun,
    cutoff: a.cutoff,
    retention: a.retention,
    from: plan.from,
    size: plan.size,
    ...(statementSeq !== undefined ? { statementSeq } : {}),
    stop: plan.stop,
  };
  if (a.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
  else if (due === 0) io.out(`${plan.stop}\n`);
  else io.out(`${a.dryRun ? 'would prune' : 'pruned'} records ${plan.from}..${plan.size - 1}\n`);
  if (!a.dryRun && due > 0) {
    io.err(
      `${due} record(s) pruned under a retention of ${formatDuration(a.retention)}; tombstone kept at size ${plan.size}; ${plan.stop}\n`,
    );
  }
  return EXIT_OK;
}
