import { parseArgs } from 'node:util';
import {
  bindAnchor,
  type ConnectOptions,
  connectStore,
  createWriterTrust,
  fileCheckpointKey,
  isPostgresUrl,
  ledgerIdentity,
  loadSignerKeyFile,
  parseCheckpoint,
  parseNote,
  SealogError,
  type Store,
  sealHead,
  type WriterTrust,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { LEDGER_ARG } from '../source.js';

const usage = `usage: sealog checkpoint <ledger | postgres://…> --key <keyfile> [--anchor <file>]

Seals a ledger now: signs a checkpoint of every committed record (origin = the
key's name) with a signed time, stores it in the ledger and, with --anchor,
appends it to the anchor file. Prints the signed note. Safe while writers run.

Verifies before it signs: it starts from the newest checkpoint this key signed
(else row 0), hashes every record after it, and checks every checkpoint this key
signed (in the ledger and in the anchor file) against the rehashed records. On
any mismatch it signs nothing and exits 1 with the finding: run \`sealog verify\`.

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

type SealableStore = Store & {
  lastCheckpointNote(): string | undefined | Promise<string | undefined>;
  readonly divergence: SealogError | undefined;
};

/**
 * Opens an existing ledger for sealing (never creates one where the user mistyped
 * a path), deriving its head with this key's trust: see @sealog/core chain/derive.
 */
async function openExisting(
  path: string,
  trust: WriterTrust,
): Promise<{ store: SealableStore; display: string }> {
  // A checkpoint on a SQLite file is synced to disk before the command reports it.
  const durable: ConnectOptions = isPostgresUrl(path) ? {} : { durability: 'power' };
  const store = (await connectStore(path, { ...durable, create: false, trust })) as SealableStore;
  return { store, display: store.display ?? path };
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
    const signer = fileCheckpointKey(loadSignerKeyFile(values.key), values.key);
    const path = positionals[0]!;
    if (values.anchor !== undefined) bindAnchor(values.anchor, ledgerIdentity(path));
    const { store, display } = await openExisting(
      path,
      // The writer's own trust root (its key, the anchor's heads); a divergence is read from the store.
      createWriterTrust(
        { keyFile: values.key, ...(values.anchor !== undefined ? { anchorFile: values.anchor } : {}) },
        signer,
        () => {},
      ),
    );
    try {
      // Verify before signing: a ledger that does not re-derive is refused with the finding.
      if (store.divergence) throw store.divergence;
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
