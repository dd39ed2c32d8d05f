// `sealog pseudonym shred`: destroys a pseudonymization key (crypto-shredding)
// and, with --ledger, records that in the ledger as sealog's own entry.

import { parseArgs } from 'node:util';
import {
  type ConnectOptions,
  checkShredReason,
  connectStore,
  isPostgresUrl,
  keyShreddedEntry,
  MAX_SHRED_REASON,
  SealogError,
  type ShredResult,
  shredKeyFile,
} from '@sealog/core';
import { EXIT_OK, type Io, UsageError } from '../command.js';

export const shredUsage = `usage: sealog pseudonym shred --key-id ID --key-file F --yes [--ledger <ledger>] [--reason TEXT]

Destroys pseudonymization key ID for good (crypto-shredding): every byte of F
is overwritten in place and F then holds only a tombstone line naming the ID
and the time. Pseudonyms made under the key can no longer be linked to anyone;
the ledger is not touched and still verifies. Every loader then refuses the
key: \`sealog pseudonym\` exits 2 and a transport listing it fails to start, so
remove it from privacy.pseudonymize.keys (after making another key current).
Restart every process that loaded the key: it stays in their memory until then.
Copies of F (backups, other hosts) are not reached: destroy them too.

  --key-id ID         the key's ID as configured (privacy.pseudonymize.keys[].id)
  --key-file F        the key file; refused, and left as it is, unless it holds a key
  --yes               required: there is no undo
  --ledger <ledger>   also append a record of the shredding to this ledger (a file
                      or postgres:// URL); it is sealed by the next checkpoint
  --reason TEXT       why, kept in that record for good: up to ${MAX_SHRED_REASON} characters of one
                      line, e.g. a ticket reference; text that looks like an e-mail,
                      IP address, card number or token is refused

A key in an environment variable (--key-env) lives in your secret store:
sealog cannot destroy it. Delete the secret there, restart the processes
that read it, and remove its keys[] entry.`;

export async function shred(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'key-id': { type: 'string' },
      'key-file': { type: 'string' },
      'key-env': { type: 'string' },
      ledger: { type: 'string' },
      reason: { type: 'string' },
      yes: { type: 'boolean' },
    },
  });
  if (values['key-env'] !== undefined) {
    throw new UsageError(
      'a key in an environment variable comes from your secret store, and sealog cannot destroy it there: ' +
        'delete the secret in the store, restart every process that read it, and remove its privacy.pseudonymize.keys entry',
    );
  }
  if (positionals.length > 0) throw new UsageError('shred takes no value, only options');
  const id = values['key-id'];
  const file = values['key-file'];
  if (id === undefined || file === undefined) throw new UsageError('--key-id and --key-file are required');
  const reason = values.reason === undefined ? undefined : checkShredReason(values.reason);
  if (!values.yes) {
    throw new UsageError(
      `this destroys key "${id}" for good; add --yes to go ahead. ` +
        '(To print the pseudonym of the value "shred", give it on stdin: echo shred | sealog pseudonym - …)',
    );
  }
  // The ledger is opened first: a mistyped ledger fails before anything is destroyed.
  const ledger = values.ledger;
  const durable: ConnectOptions =
    ledger !== undefined && !isPostgresUrl(ledger) ? { durability: 'power' } : {};
  const store = ledger === undefined ? undefined : await connectStore(ledger, { ...durable, create: false });
  try {
    const r = shredKeyFile(file, id);
    io.out(`SHREDDED sealog-pseudonym-key ${r.id} ${r.at}\n`);
    io.err(
      r.already
        ? `key "${id}" was already destroyed on ${r.at}\n`
        : `destroyed key "${id}" on ${r.at}: its pseudonyms can no longer be linked to anyone. ` +
            'Restart every process that loaded it, remove it from privacy.pseudonymize.keys, and destroy every copy of the file\n',
    );
    if (store) await record(store, store.display ?? (ledger as string), r, reason, io);
    return EXIT_OK;
  } finally {
    await store?.close();
  }
}

async function record(
  store: Awaited<ReturnType<typeof connectStore>>,
  display: string,
  r: ShredResult,
  reason: string | undefined,
  io: Io,
): Promise<void> {
  try {
    const c = await store.append([keyShreddedEntry(r, reason, Date.now())]);
    io.err(`recorded in ${display} at seq ${c.firstSeq}; \`sealog checkpoint\` seals it\n`);
  } catch (err) {
    const code = err instanceof SealogError ? err.code : 'E_IO';
    throw new SealogError(
      code,
      `key "${r.id}" was destroyed on ${r.at}, but its record could not be appended to ${display}: ` +
        `${(err as Error).message}. Run the same command again: on a destroyed key it only appends the record`,
      { cause: err },
    );
  }
}
