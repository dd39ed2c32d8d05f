import { parseArgs } from 'node:util';
import { type BundleReport, type BundleTsaOptions, verifyBundlePath } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from '../command.js';
import { KEY_OPTIONS, KEY_USAGE, readKeyArgs } from '../inputs.js';
import { readWitnessArgs, WITNESS_OPTIONS, WITNESS_USAGE } from '../witness-args.js';
import { readAnchorFiles, readSignerFiles } from './verify-tsa.js';

const usage = `usage: sealog verify-bundle <bundle.json | bundle.jsonl | bundle-dir> (--key <vkey> | --key-file <file>)...
                            [(--witness <vkey> | --witness-file <file>)... [--quorum <n>]]
                            [--tsa-anchor <pem>... [--tsa-signer <pem>...] [--tsa best-effort|required]
                             [--tsa-policy <oid>]] [--json]

Checks an evidence bundle written by \`sealog export\`, offline: the checkpoint's
signature and signed time, every record's inclusion proof against the
checkpoint root, every anchor checkpoint's consistency, and the manifest. For
a bundle directory, also that README.txt, manifest.json, checkpoint.txt,
keys.txt and entries.jsonl say exactly what bundle.json says. A streamed
bundle (\`sealog export --format jsonl\`) is read one line at a time, each line
bounded (the header 64 MiB, a record 4 MiB); a dropped, reordered, changed or
cut-off line is a problem, and only failed records are listed.

${KEY_USAGE}                       Give the log key and its <origin>/time key, obtained from the
                       log's owner, not from the bundle. Without a key the bundle's
                       own keys are used: that shows only that the bundle is
                       self-consistent, which a forger can achieve, so it exits 1.
${WITNESS_USAGE}                       With witnesses, the bundle checkpoint must be cosigned by
                       --quorum of them: the log's key alone proves nothing against
                       whoever holds it
  --tsa-anchor <pem>   a PEM file of TSA root certificate(s) you trust. Repeatable.
                       Checks the bundle's RFC 3161 tokens against the notes they stamp
  --tsa-signer <pem>   a PEM file of the TSA's own signing certificate(s): pins the
                       TSA, so a token counts only if signed by one of these (any
                       other TSA under the same root is refused). Repeatable.
                       Needs --tsa-anchor
  --tsa <mode>         best-effort (default): tokens checked and shown; required: the
                       bundle checkpoint must carry a valid, timely token
  --tsa-policy <oid>   the TSA policy OID every token must carry
  --json               print the full report as JSON

Exit codes: 0 verified with a given key, 1 verification failed or no trusted key
given (self-consistent only), 2 unreadable bundle or usage error.
`;

const time = (s: number): string => new Date(s * 1000).toISOString();

/** The report as lines a person reads: verdict first, then why. */
export function formatReport(r: BundleReport): string {
  const out: string[] = [];
  const verdict = {
    ok: 'VERIFIED',
    'self-consistent':
      "NOT VERIFIED: self-consistent only. The key was taken from the bundle, so anyone could have made it; give the log owner's key with --key or --key-file",
    failed: 'FAILED',
    unreadable: 'UNREADABLE',
  }[r.status];
  out.push(verdict);
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
  // A streamed bundle counts its records (its `entries` lists only the failed ones).
  const passed = r.records?.verified ?? r.entries.filter((e) => e.ok).length;
  const total = r.records?.total ?? r.entries.length;
  if (total > 0) out.push(`records:    ${passed} of ${total} verified`);
  if (r.seqs.length > 0) {
    const shown = r.seqs.slice(0, 10).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
    out.push(`seqs:       ${shown.join(', ')}${r.seqs.length > 10 ? ', ...' : ''}; withheld: ${r.withheld}`);
  }
  const w = r.witness;
  if (w) {
    const met = w.witnesses.filter((x) => x.cosigned).length;
    out.push(
      `witnesses:  ${met} of ${w.witnesses.length} cosigned the checkpoint (quorum ${w.quorum}: ${w.met ? 'met' : 'NOT met'})`,
    );
    for (const x of w.witnesses)
      out.push(
        `witness:    ${x.name}: ${x.time !== undefined ? `cosigned at ${time(x.time)}` : 'no valid cosignature'}`,
      );
  }
  for (const a of r.anchors) {
    const by = a.witnesses?.length ? `; cosigned by ${a.witnesses.map((x) => x.name).join(', ')}` : '';
    out.push(`anchor:     size ${a.size ?? '?'}: ${a.ok ? 'ok' : 'FAILED'}, ${a.message}${by}`);
  }
  for (const t of r.timestamps ?? [])
    out.push(
      `timestamp:  ${t.note === 'none' ? 'no note' : `${t.note} note`} (size ${t.size ?? '?'}): ${t.ok ? 'ok' : 'not ok'}, ${t.message}`,
    );
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
      options: {
        ...KEY_OPTIONS,
        ...WITNESS_OPTIONS,
        'tsa-anchor': { type: 'string', multiple: true },
        'tsa-signer': { type: 'string', multiple: true },
        tsa: { type: 'string' },
        'tsa-policy': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1)
      throw new UsageError('expected exactly one bundle (a .json or .jsonl file, or a bundle directory)');
    const keys = readKeyArgs(values, false);
    const options: Parameters<typeof verifyBundlePath>[1] = { keys, ...readWitnessArgs(values, keys) };
    if (values['tsa-anchor']) {
      if (values.tsa !== undefined && values.tsa !== 'best-effort' && values.tsa !== 'required')
        throw new UsageError(`--tsa must be best-effort or required, got ${JSON.stringify(values.tsa)}`);
      const tsa: BundleTsaOptions = { tsaAnchors: readAnchorFiles(values['tsa-anchor']) };
      if (values.tsa !== undefined) tsa.tsa = values.tsa;
      if (values['tsa-policy'] !== undefined) tsa.tsaPolicy = values['tsa-policy'];
      if (values['tsa-signer']) tsa.tsaSigners = readSignerFiles(values['tsa-signer']);
      Object.assign(options, tsa);
    } else if (values.tsa !== undefined || values['tsa-policy'] !== undefined || values['tsa-signer']) {
      throw new UsageError('--tsa, --tsa-policy and --tsa-signer need --tsa-anchor <pem file>');
    }
    const report = verifyBundlePath(positionals[0]!, options);
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (report.status === 'ok') return EXIT_OK;
    return report.status === 'unreadable' ? EXIT_USAGE : EXIT_FAIL;
  },
};
