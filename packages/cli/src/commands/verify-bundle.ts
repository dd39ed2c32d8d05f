import { parseArgs } from 'node:util';
import { type BundleReport, readBundleFile, verifyBundle } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from '../command.js';
import { readKeyArgs } from '../inputs.js';

const usage = `usage: sealog verify-bundle <bundle.json | bundle-dir> [--key <vkey | file>]... [--json]

Checks an evidence bundle written by \`sealog export\`, offline: the checkpoint's
signature and signed time, every record's inclusion proof against the
checkpoint root, every anchor checkpoint's consistency, and the manifest.

  --key <vkey|file>  a trusted verifier key, or a file of them (one per line).
                     Give the log key and its <origin>/time key. Without --key
                     the bundle's own keys are used, which proves only that the
                     bundle is self-consistent, not who signed it.
  --json             print the full report as JSON

Exit codes: 0 verified, 1 verification failed, 2 unreadable bundle or usage error.
`;

const time = (s: number): string => new Date(s * 1000).toISOString();

/** The report as lines a person reads: verdict first, then why. */
export function formatReport(r: BundleReport): string {
  const out: string[] = [];
  const verdict = { ok: 'VERIFIED', failed: 'FAILED', unreadable: 'UNREADABLE' }[r.status];
  out.push(
    `${verdict}${r.status === 'ok' && r.keySource === 'bundle' ? ' (self-consistent only: key taken from the bundle)' : ''}`,
  );
  const cp = r.checkpoint;
  if (cp) {
    out.push(`checkpoint: origin ${cp.origin}, size ${cp.size}, root ${cp.root}`);
    for (const s of cp.signers) out.push(`signed by:  ${s.name} (key ID ${s.keyId})`);
    out.push(
      cp.time !== undefined
        ? `signed at:  ${time(cp.time)} (cosigned by ${cp.timeSigner?.name} ${cp.timeSigner?.keyId})`
        : 'signed at:  not verified',
    );
  }
  const passed = r.entries.filter((e) => e.ok).length;
  if (r.entries.length > 0) out.push(`records:    ${passed} of ${r.entries.length} verified`);
  if (r.seqs.length > 0) {
    const shown = r.seqs.slice(0, 10).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    out.push(`seqs:       ${shown.join(', ')}${r.seqs.length > 10 ? ', ...' : ''}; withheld: ${r.withheld}`);
  }
  for (const a of r.anchors)
    out.push(`anchor:     size ${a.size ?? '?'}: ${a.ok ? 'ok' : 'FAILED'}, ${a.message}`);
  for (const p of r.problems.slice(0, 50)) out.push(`problem:    ${p}`);
  if (r.problems.length > 50) out.push(`problem:    ... ${r.problems.length - 50} more (use --json)`);
  for (const n of r.notes) out.push(`note:       ${n}`);
  return `${out.join('\n')}\n`;
}

export const verifyBundleCommand: Command = {
  name: 'verify-bundle',
  summary: 'check an evidence bundle from `sealog export`, offline',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 1)
      throw new UsageError('expected exactly one bundle (a .json file or a bundle directory)');
    const keys = readKeyArgs(values.key, false);
    const report = verifyBundle(readBundleFile(positionals[0]!), { keys });
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.status === 'ok' ? EXIT_OK : report.status === 'failed' ? EXIT_FAIL : EXIT_USAGE;
  },
};
