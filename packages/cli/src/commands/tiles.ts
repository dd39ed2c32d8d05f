import { parseArgs } from 'node:util';
import { writeTiles } from '@sealog/core';
import { type Command, EXIT_FAIL, EXIT_OK, UsageError } from '../command.js';
import { escapeTerminal } from '../format.js';
import { KEY_OPTIONS, KEY_USAGE, readKeyArgs } from '../inputs.js';
import { withLedger } from '../source.js';

const usage = `usage: sealog tiles <ledger> <dir> (--key <vkey> | --key-file <file>)... [--origin <origin>] [--json]

Publishes the ledger as a C2SP tlog-tiles log in <dir>, for any static file
server: tile/<L>/<N>, tile/entries/<N> and the checkpoint file. It hashes
every record itself and publishes the newest stored checkpoint that verifies
with the given keys and whose root matches the records; nothing is published
when none does. Run it again after new checkpoints: it writes only new files
and the checkpoint. Files already in <dir> are compared with the ledger, never
trusted. Publishing shows every entry as the ledger holds it. See docs/tiles.md.
A PostgreSQL ledger pruned under retention is refused (exit 2): the tiles and
entry bundles of its pruned records cannot be made (docs/lifecycle.md).

${KEY_USAGE}  --origin <origin>    publish only checkpoints of this origin
  --json               print the result as JSON

exit status: 0 published, 1 tampering found (nothing, or only an older matching
checkpoint, was published), 2 usage or I/O error
`;

export const tiles: Command = {
  name: 'tiles',
  summary: 'publish the ledger as C2SP tlog-tiles in a directory, for monitors and witnesses',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...KEY_OPTIONS, origin: { type: 'string' }, json: { type: 'boolean' } },
    });
    if (positionals.length !== 2) {
      throw new UsageError('expected a ledger (a file, or a postgres:// URL) and an output directory');
    }
    const keys = readKeyArgs(values, true);
    const dir = positionals[1]!;
    return withLedger(positionals[0]!, (path) => {
      const r = writeTiles(path, dir, {
        keys,
        ...(values.origin !== undefined ? { origin: values.origin } : {}),
      });
      const root = Buffer.from(r.root).toString('base64');
      if (values.json) {
        const { note, written, ...rest } = r;
        io.out(`${JSON.stringify({ ...rest, root, note, written }, null, 2)}\n`);
      } else {
        io.out(
          `${escapeTerminal(dir)}: checkpoint ${escapeTerminal(r.origin)} at size ${r.size}, root ${root}\n` +
            `${r.written.length} file(s) written, ${r.unchanged} unchanged\n`,
        );
        if (r.ledgerSize > r.size) {
          io.out(
            `${r.ledgerSize - r.size} record(s) after that checkpoint are not published yet; run \`sealog checkpoint\`, then this again\n`,
          );
        }
      }
      for (const size of r.mismatched) {
        io.err(
          `TAMPERED: a checkpoint at size ${size} signed by the given key does not match the records; run \`sealog verify\`\n`,
        );
      }
      return r.mismatched.length > 0 ? EXIT_FAIL : EXIT_OK;
    });
  },
};
