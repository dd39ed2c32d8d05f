import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createPkcs11Key,
  generateKey,
  readPkcs11OptionsFile,
  validatePkcs11Options,
  writeKeyFile,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';

const usage = `usage: sealog keygen --name <origin> [--out <file>]
       sealog keygen --pkcs11 <options.json> [--name <origin>]

Creates an Ed25519 signing key for a ledger's checkpoints and writes it, in the
C2SP signed-note private-key form, to a new file with mode 0600 (an existing
file is never overwritten). The name is the checkpoint origin, e.g.
"audit.example.com/billing": no spaces, no "+".

Prints two verifier keys on stdout, one per line: the log key (checks
checkpoint signatures) and its time cosigner <origin>/time (checks the signed
time). Give both to whoever verifies; neither is secret.

  --name <origin>   key name = checkpoint origin (required for a key file)
  --out <file>      key file to create (default: <origin with / and : as _>.key)

With --pkcs11 the keys are made on a PKCS#11 token (an HSM) and never leave
it: two Ed25519 key pairs, labelled <label> (log key) and <label>/time (time
key), non-extractable. Existing pairs with those labels are adopted instead.
The options file is JSON: {"module": "/path/to/pkcs11.so", "token": "<token
label>" or "slot": <id>, "label": "<key label>", "name": "<origin>",
"pinFile": "<file, mode 0600>" or "pinEnv": "<variable>"}; relative paths are
taken from the file's directory. The PIN is never given on the command line.
See docs/keys.md.

  --pkcs11 <file>   PKCS#11 options file
  --name <origin>   key name (overrides the file's name; default: its label)
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
      options: { name: { type: 'string' }, out: { type: 'string' }, pkcs11: { type: 'string' } },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.pkcs11 !== undefined) {
      if (values.out !== undefined)
        throw new UsageError('--out is for key files; a PKCS#11 key stays on its token');
      const file = readPkcs11OptionsFile(values.pkcs11);
      const options =
        values.name === undefined
          ? file
          : validatePkcs11Options({ ...file, name: values.name }, values.pkcs11);
      const key = await createPkcs11Key(options);
      io.err(
        `${key.created ? 'created' : 'adopted existing'} key pairs ${JSON.stringify(options.label)} and ${JSON.stringify(`${options.label}/time`)} on the token (non-extractable)\n`,
      );
      io.out(`${key.log}\n${key.time}\n`);
      return EXIT_OK;
    }
    if (values.name === undefined) throw new UsageError('--name <origin> is required');
    const key = generateKey(values.name);
    const out = values.out ?? defaultKeyFileName(values.name);
    writeKeyFile(out, key.privateKey);
    io.err(`wrote private key ${resolve(out)} (mode 0600): keep it secret and backed up\n`);
    io.out(`${key.verifierKey}\n${key.cosignerVerifierKey}\n`);
    return EXIT_OK;
  },
};
