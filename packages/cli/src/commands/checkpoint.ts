import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  isPostgresUrl,
  loadSignerKeyFile,
  parseCheckpoint,
  parseNote,
  SealogError,
  SqliteStore,
  type Store,
  sealHead,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { LEDGER_ARG } from '../source.js';

const usage = `usage: sealog checkpoint <ledger | postgres://…> --key <keyfile> [--anchor <file>]

Seals a ledger now: signs a checkpoint of every committed record (origin = the
key's name) with a signed time, stores it in the ledger and, with --anchor,
appends it to the anchor file. Prints the signed note. Safe while writers run.

  --key <keyfile>   private key from \`sealog keygen\` (mode 0600)
  --anchor <file>   also append the note to this file (created if absent)
`;

/** Origin of the newest stored checkpoint, if any parses (not verified: this only prevents a mix-up). */
function originOf(note: string | undefined): string | undefined {
  if (note === undefined) return undefined;
  try {
    return parseCheckpoint(parseNote(note).text).origin;
  } catch {
    return undefined; // a damaged note is the verifier's business, not a reason to refuse sealing
  }
}

type SealableStore = Store & { lastCheckpointNote(): string | undefined | Promise<string | undefined> };

/** Opens an existing ledger for sealing: never creates one where the user mistyped a path. */
async function openExisting(path: string): Promise<{ store: SealableStore; display: string }> {
  if (isPostgresUrl(path)) {
    const { PgStore } = await import('@sealog/core/postgres');
    const store = await PgStore.open(path, { create: false });
    return { store, display: store.display };
  }
  if (!existsSync(path)) throw new SealogError('E_IO', `ledger ${path} does not exist`);
  return { store: new SqliteStore(path, { durability: 'power' }), display: path };
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
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    if (values.key === undefined) throw new UsageError('--key <keyfile> is required');
    const signer = loadSignerKeyFile(values.key);
    const { store, display } = await openExisting(positionals[0]!);
    try {
      const previous = originOf(await store.lastCheckpointNote());
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
      if (!seal) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
      io.out(seal.note);
      io.err(
        `sealed ${display} at size ${seal.size}${values.anchor ? `; appended to ${values.anchor}` : ''}\n`,
      );
      return EXIT_OK;
    } finally {
      await store.close();
    }
  },
};
