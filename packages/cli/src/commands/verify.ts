import { parseArgs } from 'node:util';
import { type Finding, type VerifyReport, verifyLedger } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, intOption, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { readInputFile, readKeyArgs } from '../inputs.js';
import { LEDGER_ARG, withLedger } from '../source.js';

/** Largest key, checkpoint or anchor file read (anchor files grow by ~400 bytes a checkpoint). */

const usage = `usage: sealog verify <ledger> --key <vkey> [--key <vkey>...] [--checkpoint <file>...]
                     [--origin <origin>] [--strict] [--json] [--threads <n>]

Checks a ledger in one read-only pass: every entry against its chain hash,
every row's place in the chain, every stored checkpoint's signature and Merkle
root, ledger_state, and any checkpoint given from outside. Says what is wrong
and where. See docs/verify.md.

  --key <vkey>         a verifier key printed by \`sealog keygen\`, or a file of them
                       (one per line). Repeat for old keys after a rotation; add the
                       <origin>/time key to check signed times.
  --checkpoint <file>  a signed checkpoint note, or an anchor file of them, kept
                       outside the ledger: detects a cut-off tail or rewritten history
  --origin <origin>    the log's origin (default: that of the first valid checkpoint)
  --strict             fail if records after the last checkpoint are unsealed
  --json               print the report as JSON (schema in docs/verify.md)
  --threads <n>        worker threads that hash a large ledger beside the main one
                       (default: one per core, at most 4; 0 = main thread only)

exit status: 0 intact, 1 verification failed, 2 usage or I/O error
`;

function line(f: Finding): string {
  return `  ${f.kind.padEnd(20)} ${escapeTerminal(f.message)}\n`;
}

/** The human-readable report: problems first, then a one-line verdict. */
export function formatReport(path: string, r: VerifyReport): string {
  let out = `${escapeTerminal(path)}: ${r.size} records, root ${r.root}\n`;
  const count = (source: string) => {
    const cps = r.checkpoints.filter((c) => c.source === source);
    return `${cps.length} ${source === 'ledger' ? 'stored' : 'given'} (${cps.filter((c) => c.valid).length} valid)`;
  };
  out += `checkpoints: ${count('ledger')}, ${count('trusted')}${r.origin ? `; origin ${escapeTerminal(r.origin)}` : ''}\n`;
  if (r.findings.length > 0) out += '\nfindings:\n';
  for (const f of r.findings) out += line(f);
  if (r.omittedFindings > 0) out += `  … and ${r.omittedFindings} more\n`;
  if (r.ok) {
    out +=
      r.unsealed > 0
        ? `\nOK: intact; the last ${r.unsealed} record(s) are chained but not yet covered by a checkpoint\n`
        : '\nOK: intact, every record covered by a valid checkpoint\n';
  } else {
    const n = r.findings.length + r.omittedFindings;
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
        key: { type: 'string', multiple: true },
        checkpoint: { type: 'string', multiple: true },
        origin: { type: 'string' },
        strict: { type: 'boolean' },
        json: { type: 'boolean' },
        threads: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const keys = readKeyArgs(values.key, true);
    const trusted = (values.checkpoint ?? []).map((p) => readInputFile(p, 'checkpoint file'));
    const options: Parameters<typeof verifyLedger>[1] = { keys, trusted, strict: values.strict === true };
    if (values.origin !== undefined) options.origin = values.origin;
    if (values.threads !== undefined) options.threads = intOption('threads', values.threads, 0);
    return withLedger(positionals[0]!, (path, display) => {
      const report = verifyLedger(path, options);
      io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(display, report));
      return report.ok ? EXIT_OK : EXIT_FAIL;
    });
  },
};
