import { parseArgs } from 'node:util';
import { verifyConsistencyProof, verifyInclusionProof } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { KEY_OPTIONS, KEY_USAGE, readInputFile, readKeyArgs } from '../inputs.js';

const usage = `usage: sealog verify-proof <proof.json> (--key <vkey> | --key-file <file>)... [--origin <origin>] [--json]

Checks a proof written by \`sealog prove\` offline, without the ledger: the
checkpoint's signature by one of the keys, and the RFC 9162 inclusion or
consistency proof against its signed root.

${KEY_USAGE}                       Add the <origin>/time key to check the signed time.
  --origin <origin>    require this origin (default: the signing key's name)
  --json               print the result as JSON

exit status: 0 valid, 1 invalid, 2 unreadable proof or usage error
`;

function when(time: number | undefined): string {
  return time === undefined ? '' : `, signed at ${new Date(time * 1000).toISOString()}`;
}

export const verifyProof: Command = {
  name: 'verify-proof',
  summary: 'check an inclusion or consistency proof offline',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...KEY_OPTIONS,
        origin: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one proof file');
    const keys = readKeyArgs(values, true);
    const text = readInputFile(positionals[0]!, 'proof');
    const opts = values.origin === undefined ? {} : { origin: values.origin };
    const isConsistency = /"type"\s*:\s*"sealog\/consistency-proof\/v1"/.test(text);
    const r = isConsistency
      ? verifyConsistencyProof(text, keys, opts)
      : verifyInclusionProof(text, keys, opts);
    if (values.json) {
      const out = r.ok
        ? 'seq' in r
          ? {
              ok: true,
              kind: 'inclusion',
              seq: r.seq,
              entry: r.entry.toString('base64'),
              checkpoint: strip(r.checkpoint),
            }
          : { ok: true, kind: 'consistency', from: strip(r.from), to: strip(r.to) }
        : r;
      io.out(`${JSON.stringify(out, null, 2)}\n`);
    } else if (!r.ok) {
      io.out(`INVALID (${r.problem}): ${escapeTerminal(r.message)}\n`);
    } else if ('seq' in r) {
      const c = r.checkpoint;
      io.out(`OK: record ${r.seq} is in ${escapeTerminal(c.origin)} at tree size ${c.size}${when(c.time)}\n`);
      io.out(`entry: ${escapeTerminal(r.entry.toString('utf8'))}\n`);
    } else {
      io.out(
        `OK: ${escapeTerminal(r.to.origin)} at size ${r.to.size}${when(r.to.time)} extends size ${r.from.size}${when(r.from.time)}\n`,
      );
    }
    if (r.ok) return EXIT_OK;
    return r.problem === 'malformed' ? EXIT_USAGE : EXIT_FAIL;
  },
};

function strip(c: { origin: string; size: number; root: string; time?: number }) {
  return { origin: c.origin, size: c.size, root: c.root, ...(c.time === undefined ? {} : { time: c.time }) };
}
