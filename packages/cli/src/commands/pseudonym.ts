import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPseudonymKey, pseudonymOf } from '@sealog/core';
import { type Command, EXIT_OK, intOption, UsageError } from '../command.js';
import { shred, shredUsage } from './pseudonym-shred.js';

const usage = `usage: sealog pseudonym <value | -> --key-id ID (--key-file F | --key-env NAME) [--digest-bytes N] [--json-value]

Prints the pseudonym (psn:<ID>:<digest>) that the privacy pipeline writes for
<value> under key ID, so the holder of the key can find a known person's
records (a subject-access request) with \`sealog query\`. One-way: nothing
turns a pseudonym back into a value. Use the key ID of the records you search:
after a rotation, old records carry the old ID.

  --key-id ID         the key's ID as configured (privacy.pseudonymize.keys[].id)
  --key-file F        file holding the key (hex or base64 text, >= 32 bytes)
  --key-env NAME      environment variable holding the key instead
  --digest-bytes N    as configured in privacy.pseudonymize.digestBytes (default 16)
  --json-value        parse <value> as JSON first (numbers, objects), as the pipeline
                      canonicalizes non-string fields

Give "-" as the value to read it from standard input (keeps it out of shell
history and the process list). A key that \`sealog pseudonym shred\` destroyed
is refused (exit 2): its pseudonyms can no longer be computed.

${shredUsage}`;

export const pseudonym: Command = {
  name: 'pseudonym',
  summary: 'print the pseudonym of a known value (subject-access requests)',
  usage,
  async run(argv, io) {
    // Only as the first word: a value "shred" later in the line stays a value.
    if (argv[0] === 'shred') return shred(argv.slice(1), io);
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'key-id': { type: 'string' },
        'key-file': { type: 'string' },
        'key-env': { type: 'string' },
        'digest-bytes': { type: 'string' },
        'json-value': { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one value (or - for stdin)');
    const id = values['key-id'];
    if (id === undefined) throw new UsageError('--key-id is required');
    const file = values['key-file'];
    const env = values['key-env'];
    if ((file === undefined) === (env === undefined))
      throw new UsageError('give exactly one of --key-file or --key-env');
    const digestBytes = intOption('digest-bytes', values['digest-bytes'], 16);
    let text = positionals[0] as string;
    // One trailing newline from `echo` is not part of the value.
    if (text === '-') text = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    let value: unknown = text;
    if (values['json-value']) {
      try {
        value = JSON.parse(text);
      } catch {
        throw new UsageError('--json-value: the value is not valid JSON');
      }
    }
    const key = loadPseudonymKey(file !== undefined ? { id, file } : { id, env: env as string });
    io.out(`${pseudonymOf(value, key, digestBytes)}\n`);
    return EXIT_OK;
  },
};
