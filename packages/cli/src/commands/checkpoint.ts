import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  loadSignerKeyFile,
  parseCheckpoint,
  parseNote,
  SealogError,
  SqliteStore,
  sealHead,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';

const usage = `usage: sealog checkpoint <ledger> --key <keyfile> [--anchor <file>]

Seals a ledger now: signs a checkpoint of every committed record (origin = the
key's name) with a signed time, stores it in the ledger and, with --anchor,
appends it to the anchor file. Prints the signed note. Safe while writers run.

  --key <keyfile>   private key from \`sealog keygen\` (mode 0600)
  --anchor <file>   also append the note to this file (created if absent)
`;

/** Origin of the newest stored checkpoint, if any parses (not verified: this only prevents a mix-up). */
function lastOrigin(store: SqliteStore): string | undefined {
  const row = store.db.prepare('SELECT note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
    | { note: unknown }
    | undefined;
  if (!row || typeof row.note !== 'string') return undefined;
  try {
    return parseCheckpoint(parseNote(row.note).text).origin;
  } catch {
    return undefined; // a damaged note is the verifier's business, not a reason to refuse sealing
  }
}

export const checkpoint: Command = {
  name: 'checkpoint',
  summary: 'sign and store a checkpoint of a ledger now',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { key: { type: 'string' }, anchor: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one ledger file');
    if (values.key === undefined) throw new UsageError('--key <keyfile> is required');
    const path = positionals[0]!;
    // Sealing must never create an empty ledger where the user mistyped a path.
    if (!existsSync(path)) throw new SealogError('E_IO', `ledger ${path} does not exist`);
    const signer = loadSignerKeyFile(values.key);
    const store = new SqliteStore(path, { durability: 'power' });
    try {
      const previous = lastOrigin(store);
      if (previous !== undefined && previous !== signer.name) {
        throw new SealogError(
          'E_KEY',
          `this ledger's checkpoints have origin ${JSON.stringify(previous)} but the key is named ${JSON.stringify(signer.name)}; use the ledger's key`,
        );
      }
      const seal = await sealHead(
        store,
        signer,
        values.anchor !== undefined ? { anchorFile: values.anchor } : {},
      );
      io.out(seal.note);
      io.err(`sealed ${path} at size ${seal.size}${values.anchor ? `; appended to ${values.anchor}` : ''}\n`);
      return EXIT_OK;
    } finally {
      store.close();
    }
  },
};
