import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey, writeKeyFile } from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';

const usage = `usage: sealog keygen --name <origin> [--out <file>]

Creates an Ed25519 signing key for a ledger's checkpoints and writes it, in the
C2SP signed-note private-key form, to a new file with mode 0600 (an existing
file is never overwritten). The name is the checkpoint origin, e.g.
"audit.example.com/billing": no spaces, no "+".

Prints two verifier keys on stdout, one per line: the log key (checks
checkpoint signatures) and its time cosigner <origin>/time (checks the signed
time). Give both to whoever verifies; neither is secret.

  --name <origin>   key name = checkpoint origin (required)
  --out <file>      key file to create (default: <origin with / and : as _>.key)
`;

/** A file name from an origin: keep [A-Za-z0-9._-], everything else becomes "_". */
export function defaultKeyFileName(origin: string): string {
  const base = origin.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return `${base || 'sealog'}.key`;
}

export const keygen: Command = {
  name: 'keygen',
  summary: 'create a checkpoint signing key (mode 0600) and print its verifier keys',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, out: { type: 'string' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.name === undefined) throw new UsageError('--name <origin> is required');
    const key = generateKey(values.name);
    const out = values.out ?? defaultKeyFileName(values.name);
    writeKeyFile(out, key.privateKey);
    io.err(`wrote private key ${resolve(out)} (mode 0600): keep it secret and backed up\n`);
    io.out(`${key.verifierKey}\n${key.cosignerVerifierKey}\n`);
    return EXIT_OK;
  },
};
