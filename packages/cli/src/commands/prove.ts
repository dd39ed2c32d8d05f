import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { proveConsistency, proveInclusion, SealogError } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { KEY_OPTIONS, KEY_USAGE, readKeyArgs } from '../inputs.js';
import { LEDGER_ARG, withLedger } from '../source.js';

const usage = `usage: sealog prove <ledger> (--key <vkey> | --key-file <file>)... --seq N [--out <file>]
       sealog prove <ledger> (--key <vkey> | --key-file <file>)... --from-size M --to-size N [--out <file>]

Writes a self-contained proof (JSON, docs/verify.md) that anyone can check
offline with \`sealog verify-proof\` and the verifier key, without the ledger.
Only stored checkpoints signed by the given keys are used; other checkpoint
rows (forged, or another log's) are ignored.

${KEY_USAGE}  --seq N              inclusion: record N, its exact bytes and the largest
                       signed checkpoint covering it
  --from-size M --to-size N
                       consistency: the checkpoint at N extends the one at M
                       (both must be signed checkpoints of those sizes)
  --out <file>         write the proof there instead of stdout
`;

export const prove: Command = {
  name: 'prove',
  summary: 'write an inclusion or consistency proof for offline checking',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...KEY_OPTIONS,
        seq: { type: 'string' },
        'from-size': { type: 'string' },
        'to-size': { type: 'string' },
        out: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const keys = readKeyArgs(values, true);
    const consistency = values['from-size'] !== undefined || values['to-size'] !== undefined;
    if (consistency === (values.seq !== undefined)) {
      throw new UsageError('give either --seq N, or --from-size M and --to-size N');
    }
    if (consistency && (values['from-size'] === undefined || values['to-size'] === undefined)) {
      throw new UsageError('--from-size and --to-size go together');
    }
    const bundle = await withLedger(positionals[0]!, (path) =>
      consistency
        ? proveConsistency(
            path,
            intOption('from-size', values['from-size'], 0),
            intOption('to-size', values['to-size'], 0),
            keys,
          )
        : proveInclusion(path, intOption('seq', values.seq, 0), keys),
    );
    const text = `${JSON.stringify(bundle, null, 2)}\n`;
    if (values.out === undefined) io.out(text);
    else {
      try {
        writeFileSync(values.out, text);
      } catch (err) {
        throw new SealogError('E_IO', `cannot write ${values.out}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      io.err(`wrote ${values.out}\n`);
    }
    return EXIT_OK;
  },
};
