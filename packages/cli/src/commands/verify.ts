import { parseArgs } from 'node:util';
import {
  DEFAULT_MAX_UNSEALED,
  type Finding,
  isFailure,
  isSegmentDir,
  type VerifyReport,
  verifyLedger,
  verifySegments,
} from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, intOption, UsageError } from '../command.js';
import { formatErasures } from '../erasures-format.js';
import { escapeTerminal } from '../format.js';
import { KEY_OPTIONS, KEY_USAGE, readInputFile, readKeyArgs } from '../inputs.js';
import { acrossSegments, progressReporter } from '../progress.js';
import { LEDGER_ARG, withLedger } from '../source.js';
import { parseDurationArg } from '../time-arg.js';
import { readWitnessArgs } from '../witness-args.js';
import { pgHoldsSection } from './hold-postgres.js';
import { formatSegmentsReport } from './verify-segments.js';
import { formatTsa, readTsaArgs, TSA_OPTIONS, TSA_USAGE } from './verify-tsa.js';

const usage = `usage: sealog verify <ledger> (--key <vkey> | --key-file <file>)... [--checkpoint <file>...]
                     [(--witness <vkey> | --witness-file <file>)... [--quorum <n>]]
                     [--tsa-anchor <pem>... [--tsa-signer <pem>...] [--tsa best-effort|required]
                      [--tsa-policy <oid>] [--timestamps <file>...]]
                     [--origin <origin>] [--max-unsealed <n> | --strict] [--json] [--threads <n>]
                     [--progress]
       sealog verify <ledger> --chain-only [--json] [--progress]
       sealog verify <segment dir> (--key <vkey> | --key-file <file>)... [--retention <duration>] [options above]

Checks a ledger in one read-only pass: every entry against its chain hash,
every row's place in the chain, every stored checkpoint's signature and Merkle
root, ledger_state, and any checkpoint given from outside. Says what is wrong
and where. "OK" means every record up to the newest checkpoint signed by a
trusted key is proved, and at most --max-unsealed records follow it; with
--witness, up to the newest such checkpoint that a quorum of the witnesses
cosigned; with --tsa required, up to the newest such checkpoint that also
carries a valid RFC 3161 timestamp token. See docs/verify.md.

${KEY_USAGE}                       Repeat for old keys after a rotation; add the <origin>/time
                       key to check signed times.
  --checkpoint <file>  a signed checkpoint note, or an anchor file of them, kept
                       outside the ledger: detects a cut-off tail or rewritten history
  --witness <vkey>     a trusted witness's verifier key (type 0x04, as printed by
                       \`sealog witness keygen\`). Repeatable. With witnesses, only a
                       checkpoint cosigned by --quorum of them seals records: the
                       log's key alone proves nothing against whoever holds it
  --witness-file <path>
                       a file of witness verifier keys, one per line (# comments).
                       Repeatable; combines with --witness
  --quorum <n>         distinct witnesses a checkpoint needs (default: all given)
${TSA_USAGE}  --origin <origin>    the log's origin (default: that of the first valid checkpoint)
  --max-unsealed <n>   most records tolerated after the newest valid checkpoint
                       (default ${DEFAULT_MAX_UNSEALED}: what a writer with default options can
                       leave unsealed when it crashes)
  --strict             no unsealed record tolerated (--max-unsealed 0)
  --chain-only         no key: check only the hash chain and ledger_state. Proves the
                       file is self-consistent, not that anyone signed it
  --json               print the report as JSON (schema in docs/verify.md)
  --threads <n>        worker threads that hash a large ledger beside the main one
                       (default: one per core, at most 4; 0 = main thread only)
  --progress           report records hashed on stderr (at most a line a second);
                       the default when stderr is a terminal. The verdict is unchanged
  --retention <d>      segment directories only: a pruned segment counts as expired
                       only if its prune statement applied a retention of at least d
                       (e.g. 365d, 52w); default: the statement's own retention

A directory of segments (seg-000001.db, …) is verified segment by segment and as
one history: a missing, swapped, renamed, reordered or cut-short segment is a
finding; a pruned one is "expired under retention" only when a signed, sealed
prune statement and its tombstone say so (docs/lifecycle.md). Deleting the newest
segments leaves no trace inside the directory: give --checkpoint to catch it.

exit status: 0 intact, 1 verification failed, 2 usage or I/O error
`;

function line(f: Finding): string {
  return `  ${f.kind.padEnd(20)} ${escapeTerminal(f.message)}\n`;
}

/** The human-readable report: problems first, then a one-line verdict. */
export function formatReport(path: string, r: VerifyReport): string {
  let out = `${escapeTerminal(path)}: ${r.size} records, root ${r.root}\n`;
  // Totals over every checkpoint read: the report lists at most the last 10,000.
  const t = r.checkpointTotals;
  out += `checkpoints: ${t.stored} stored (${t.storedValid} valid), ${t.trusted} given (${t.trustedValid} valid)${r.origin ? `; origin ${escapeTerminal(r.origin)}` : ''}\n`;
  const w = r.witness;
  if (w) {
    const by = w.witnesses.map((x) => `${escapeTerminal(x.name)} (${x.cosigned})`).join(', ');
    out += `witnesses: ${w.witnessed} of ${w.checkpoints} valid checkpoint(s) witnessed (quorum ${w.quorum} of ${w.witnesses.length}); cosigned by ${by}\n`;
  }
  out += formatTsa(r);
  out += formatErasures(r);
  if (r.findings.length > 0) out += '\nfindings:\n';
  for (const f of r.findings) out += line(f);
  if (r.omittedFindings > 0) out += `  … and ${r.omittedFindings} more\n`;
  if (r.ok && r.trust === 'chain-only') {
    out += `\nOK (chain only): the ${r.size} record(s) are chained consistently; no signature was checked, so this does not show they are what was written\n`;
  } else if (r.ok && r.tsa?.mode === 'required' && r.size > 0) {
    const by = `timestamped by ${escapeTerminal(r.tsa.stampedBy ?? '?')} at ${new Date(r.tsa.stampedAt ?? 0).toISOString()}`;
    out +=
      r.unsealed > 0
        ? `\nOK: intact up to the checkpoint at ${r.sealed}, ${by}; the last ${r.unsealed} record(s) await a trusted timestamp (policy: at most ${r.maxUnsealed})\n`
        : `\nOK: intact, every record covered by a valid checkpoint ${by}\n`;
  } else if (r.ok && w) {
    const by = `witnessed by ${w.sealedBy.length} of ${w.witnesses.length} (${w.sealedBy.map(escapeTerminal).join(', ')})`;
    out +=
      r.unsealed > 0
        ? `\nOK: intact up to the checkpoint at ${r.sealed}, ${by}; the last ${r.unsealed} record(s) are not yet covered by a witnessed checkpoint (policy: at most ${r.maxUnsealed})\n`
        : r.size > 0
          ? `\nOK: intact, every record covered by a valid checkpoint ${by}\n`
          : '\nOK: intact, the ledger is empty\n';
  } else if (r.ok) {
    out +=
      r.unsealed > 0
        ? `\nOK: intact up to the checkpoint at ${r.sealed}; the last ${r.unsealed} record(s) are chained but not yet covered by a checkpoint (policy: at most ${r.maxUnsealed})\n`
        : '\nOK: intact, every record covered by a valid checkpoint\n';
  } else {
    // An unsealed tail within the policy, and the TSA notes, are reported, not counted as problems.
    const n =
      r.findings.filter((f) => isFailure(f.kind) || (f.kind === 'unsealed' && r.unsealed > r.maxUnsealed))
        .length + r.omittedFindings;
    out += `\nFAILED: ${n} problem${n === 1 ? '' : 's'} found\n`;
  }
  return out;
}

export const verify: Command = {
  name: 'verify',
  summary: 'check a ledger: chain, Merkle roots, checkpoint signatures (exit 1 if tampered)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...KEY_OPTIONS,
        ...TSA_OPTIONS,
        checkpoint: { type: 'string', multiple: true },
        witness: { type: 'string', multiple: true },
        'witness-file': { type: 'string', multiple: true },
        quorum: { type: 'string' },
        origin: { type: 'string' },
        strict: { type: 'boolean' },
        'max-unsealed': { type: 'string' },
        'chain-only': { type: 'boolean' },
        json: { type: 'boolean' },
        threads: { type: 'string' },
        retention: { type: 'string' },
        progress: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const chainOnly = values['chain-only'] === true;
    const keys = readKeyArgs(values, false);
    const witnessGiven = (values.witness?.length ?? 0) + (values['witness-file']?.length ?? 0) > 0;
    if (
      chainOnly &&
      (keys.length > 0 || values.checkpoint !== undefined || witnessGiven || values['tsa-anchor'])
    ) {
      throw new UsageError(
        '--chain-only checks no signature: give it without --key, --key-file, --checkpoint, --witness or --tsa-anchor',
      );
    }
    // The same rules and messages as verify-bundle's (witness-args.ts).
    const { witnesses, quorum } = readWitnessArgs(values, keys);
    if (values.strict && values['max-unsealed'] !== undefined) {
      throw new UsageError('--strict is --max-unsealed 0: give one of them');
    }
    const trusted = (values.checkpoint ?? []).map((p) => readInputFile(p, 'checkpoint file'));
    const options: Parameters<typeof verifyLedger>[1] = {
      keys,
      trusted,
      strict: values.strict === true,
      chainOnly,
      ...readTsaArgs(values, values.checkpoint ?? [], io),
    };
    if (options.tsaAnchors !== undefined && keys.length === 0)
      throw new UsageError(
        "--tsa-anchor checks tokens on checkpoints signed by the log's key: give --key or --key-file too",
      );
    if (values['max-unsealed'] !== undefined) {
      options.maxUnsealed = intOption('max-unsealed', values['max-unsealed'], DEFAULT_MAX_UNSEALED);
    }
    if (witnesses.length > 0) options.witnesses = witnesses;
    if (quorum !== undefined) options.quorum = quorum;
    if (values.origin !== undefined) options.origin = values.origin;
    if (values.threads !== undefined) options.threads = intOption('threads', values.threads, 0);
    const progress = progressReporter((line) => io.err(line), 'verified', {
      forced: values.progress ?? false,
    });
    if (isSegmentDir(positionals[0]!)) {
      if (progress) options.onProgress = acrossSegments(progress);
      const retention =
        values.retention === undefined ? {} : { retention: parseDurationArg('retention', values.retention) };
      const report = verifySegments(positionals[0]!, { ...options, ...retention });
      io.out(
        values.json ? `${JSON.stringify(report, null, 2)}\n` : formatSegmentsReport(positionals[0]!, report),
      );
      return report.ok ? EXIT_OK : EXIT_FAIL;
    }
    if (values.retention !== undefined)
      throw new UsageError('--retention applies to a directory of segments, not to one ledger file');
    if (progress) options.onProgress = (p) => progress({ ...p, unit: 'records' });
    return withLedger(positionals[0]!, async (path, display) => {
      const report = verifyLedger(path, options);
      const holds = await pgHoldsSection(positionals[0]!, path, report, keys);
      io.out(
        values.json
          ? `${JSON.stringify({ ...report, ...holds?.json }, null, 2)}\n`
          : formatReport(display, report) + (holds?.text ?? ''),
      );
      return report.ok && !holds?.failed ? EXIT_OK : EXIT_FAIL;
    });
  },
};
