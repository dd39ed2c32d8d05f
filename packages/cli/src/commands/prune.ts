import { parseArgs } from 'node:util';
import {
  applyPrune,
  type CheckpointKey,
  checkShredReason,
  type DirLock,
  fileCheckpointKey,
  isPostgresUrl,
  isSegmentDir,
  loadSignerKeyFile,
  lockSegmentDir,
  openPkcs11Key,
  type PruneItem,
  planPrune,
  readPkcs11OptionsFile,
  refuseUnsealedStatements,
  removeCompanions,
  SealogError,
  type SegmentsReport,
  verifySegments,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { readKeyList } from '../inputs.js';
import { parseDurationArg, parseTimeArg } from '../time-arg.js';
import { prunePostgres } from './prune-postgres.js';
import { formatDuration } from './verify-segments.js';

const usage = `usage: sealog prune <dir> (--keep <duration> | --before <time>) --reason TEXT
                   (--key <keyfile> | --pkcs11 <token.json>) (--dry-run | --yes) [--json]

Removes the oldest segments of a segmented ledger whose newest record is older
than the cutoff, keeping a tombstone (seg-NNNNNN.tomb: the segment's final
signed checkpoint) for each, so that \`sealog verify <dir>\` reports them as
"expired under retention" and still catches any other missing segment.

  1. verifies the directory with the key's verifier keys; on any failure it
     removes nothing (exit 1): run sealog verify <dir>
  2. chooses the oldest closed segments whose newest record is older than the
     cutoff, oldest first, never the newest segment, stopping at the first that
     is not due or that a legal hold covers (or that holds an active hold's
     statement: \`sealog hold list\`)
  3. appends a prune statement naming them, signed by the key, to the newest
     segment and seals it; then writes each tombstone and removes the segment's
     files. A prune that is interrupted is completed by running it again.

Copy a segment to other storage before it is pruned if it must be kept there:
pruning removes it from this directory for good.

  --keep <duration>   keep segments with a record younger than this: 365d, 52w, 24h
  --before <time>     or: prune segments whose newest record is older than this time
  --reason TEXT       why, kept in the ledger for good: one line of up to 200
                      characters, e.g. a ticket; text that looks like personal
                      data (an e-mail, IP address, card number, token) is refused
  --key <keyfile>     the ledger's checkpoint key (mode 0600)
  --pkcs11 <file>     or: the key on a PKCS#11 token (docs/keys.md)
  --dry-run           only list what would be pruned and why the rest stays
  --yes               required to prune (there is no undo)
  --json              print what was (or would be) pruned as JSON
  --verify-key-file <file>
                      verifier keys the older segments were sealed with, beside the
                      key's own (after a key rotation: the keys it took over from)

exit status: 0 done (or nothing due), 1 the directory does not verify,
2 usage error, refused under a legal hold, or I/O error
`;

/** The signing key of --key / --pkcs11 (exactly one). */
export async function openSigningKey(values: {
  key?: string | undefined;
  pkcs11?: string | undefined;
}): Promise<CheckpointKey> {
  if ((values.key === undefined) === (values.pkcs11 === undefined))
    throw new UsageError(
      "give exactly one of --key <keyfile> or --pkcs11 <token.json> (the ledger's checkpoint key)",
    );
  if (values.key !== undefined) return fileCheckpointKey(loadSignerKeyFile(values.key), values.key);
  return openPkcs11Key(readPkcs11OptionsFile(values.pkcs11!));
}

/** The signing key's own verifier keys, and the keys it took over from (--verify-key-file). */
export function ownKeys(signer: CheckpointKey, older: readonly string[]): string[] {
  const own = [signer.log.verifierKey, signer.time.verifierKey];
  const more = readKeyList([], older, { flag: 'verify-key', fileFlag: 'verify-key-file', file: 'key file' });
  return [...own, ...more.filter((k) => !own.includes(k))];
}

/** The directory's report with the key's own verifier keys; refuses a directory that fails. */
export function verifiedDir(
  dir: string,
  signer: CheckpointKey,
  what: string,
  older: readonly string[] = [],
): SegmentsReport {
  if (!isSegmentDir(dir))
    throw new SealogError('E_IO', `${dir} is not a directory of segments (seg-000001.db, …)`);
  const report = verifySegments(dir, { keys: ownKeys(signer, older) });
  if (!report.ok) {
    const first = [
      ...report.findings.filter((f) => f.kind !== 'segment-stray').map((f) => `${f.kind}: ${f.message}`),
      ...report.segments.filter((s) => !s.ok).map((s) => `segment ${s.index} does not verify`),
    ].slice(0, 3);
    throw new SealogError(
      'E_TAMPER',
      `${dir} does not verify, so ${what} nothing (${first.join('; ')}); run sealog verify ${dir} --key-file <vkeys>`,
    );
  }
  return report;
}

const describe = (p: PruneItem) =>
  `segment ${p.index} (${p.size} rows from base ${p.base}, records ${new Date(p.oldest).toISOString()} to ${new Date(p.newest).toISOString()})`;

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      keep: { type: 'string' },
      before: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      pkcs11: { type: 'string' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean' },
      json: { type: 'boolean' },
      'verify-key-file': { type: 'string', multiple: true },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError('expected exactly one segment directory or postgres:// URL');
  const dir = positionals[0]!;
  if ((values.keep === undefined) === (values.before === undefined))
    throw new UsageError('give exactly one of --keep <duration> or --before <time>');
  if (values.reason === undefined) throw new UsageError('--reason TEXT is required (a ticket reference)');
  const reason = checkShredReason(values.reason);
  const dryRun = values['dry-run'] === true;
  if (!dryRun && values.yes !== true)
    throw new UsageError('pruning removes segments for good: add --yes, or --dry-run to see what would go');
  const now = Date.now();
  const cutoff =
    values.keep !== undefined
      ? now - parseDurationArg('keep', values.keep)
      : parseTimeArg('before', values.before!, now);
  if (cutoff > now) throw new UsageError('--before is in the future: nothing can be due yet');
  const retention = now - cutoff;
  const signer = await openSigningKey(values);
  if (isPostgresUrl(dir)) {
    const keys = ownKeys(signer, values['verify-key-file'] ?? []);
    const pg = { url: dir, signer, keys, cutoff, now, retention, reason, dryRun, json: values.json === true };
    return prunePostgres(pg, io).finally(() => signer.close());
  }
  // One prune, hold or erase at a time: taken before verifying, so the plan is
  // made from a state no other maintenance command changes until we are done.
  let lock: DirLock | undefined;
  try {
    if (!dryRun) lock = lockSegmentDir(dir, 'sealog prune');
    const report = verifiedDir(dir, signer, 'prune removes', values['verify-key-file'] ?? []);
    refuseUnsealedStatements(report);
    const plan = planPrune(report, cutoff);
    const summary = {
      dryRun,
      cutoff,
      retention,
      resumed: plan.resume.map((p) => p.index),
      pruned: plan.due.map((p) => p.index),
      ...(plan.stop ? { stoppedAt: plan.stop.index, why: plan.stop.why } : {}),
    };
    const held = plan.due.length === 0 && plan.resume.length === 0 && plan.stop?.hold !== undefined;
    if (held) {
      throw new SealogError(
        'E_CONFIG',
        `refused: segment ${plan.stop!.index} is due but ${plan.stop!.why}; release the hold (sealog hold release) when it no longer applies`,
      );
    }
    if (dryRun) {
      if (values.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        for (const p of [...plan.resume, ...plan.due]) io.out(`would prune ${describe(p)}\n`);
        if (plan.stop)
          io.out(`keeps segment ${plan.stop.index} and newer: ${escapeTerminal(plan.stop.why)}\n`);
      }
      return EXIT_OK;
    }
    const newest = report.segments.at(-1)!;
    const done = await applyPrune(dir, plan, {
      signer,
      newestFile: newest.file,
      origin: report.origin ?? signer.name,
      now,
      retention,
      reason,
    });
    removeCompanions(
      dir,
      report.pruned.map((p) => p.index),
    );
    if (values.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      for (const p of done) io.out(`pruned ${describe(p)}\n`);
      if (done.length === 0) io.out('nothing is due\n');
    }
    io.err(
      `${done.length} segment(s) pruned under a retention of ${formatDuration(retention)}; tombstones kept` +
        `${plan.stop ? `; segment ${plan.stop.index} and newer kept: ${escapeTerminal(plan.stop.why)}` : ''}\n`,
    );
    return EXIT_OK;
  } finally {
    lock?.release();
    await signer.close();
  }
}

export const prune: Command = {
  name: 'prune',
  summary: 'remove segments past a retention period, keeping their signed tombstones',
  usage,
  run,
};
