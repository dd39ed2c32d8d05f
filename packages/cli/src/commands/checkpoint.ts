import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  bindAnchor,
  type CheckpointKey,
  type CheckpointOptions,
  type ConnectOptions,
  connectStore,
  createSubmitters,
  createWriterTrust,
  isPostgresUrl,
  ledgerIdentity,
  loadCheckpointKey,
  parseCheckpoint,
  parseNote,
  SealogError,
  type Store,
  sealHead,
  validateCheckpointOptions,
  type WriterTrust,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';
import { checkNotDirectory, LEDGER_ARG } from '../source.js';

const usage = `usage: sealog checkpoint <ledger | postgres://…> --key <keyfile> [--anchor <file>]
       sealog checkpoint <ledger | postgres://…> --config <checkpoint.json>

Seals a ledger now: signs a checkpoint of every committed record (origin = the
key's name) with a signed time, stores it in the ledger and, with --anchor,
appends it to the anchor file. Prints the signed note. Safe while writers run.

Verifies before it signs: it starts from the newest checkpoint this key signed
(else row 0), hashes every record after it, and checks every checkpoint this key
signed (in the ledger and in the anchor file) against the rehashed records. On
any mismatch it signs nothing and exits 1 with the finding: run \`sealog verify\`.

  --key <keyfile>   private key from \`sealog keygen\` (mode 0600)
  --anchor <file>   also append the note to this file (created if absent)
  --config <file>   a JSON file holding the transports' \`checkpoint\` option
                    (keyFile or pkcs11, anchorFile, witnesses, timestamp…): the
                    note is also sent to those witnesses and TSAs, and the
                    command waits for their answers (each bounded by its
                    timeout) before it prints the note as stored
`;

/** Largest --config file read: a checkpoint option is a few hundred bytes. */
const MAX_CONFIG_BYTES = 64 * 1024;

/** Reads and validates a --config file. @throws UsageError naming the file and what is wrong. */
function readConfig(path: string): CheckpointOptions {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UsageError(`--config ${JSON.stringify(path)} is not a regular file`);
    if (st.size > MAX_CONFIG_BYTES)
      throw new UsageError(`--config ${JSON.stringify(path)} is larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read --config ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${JSON.stringify(path)} is not JSON: ${(err as Error).message}`);
  }
  return validateCheckpointOptions(value);
}

/** Origin of the newest stored checkpoint, if any parses (not verified: this only prevents a mix-up). */
export function originOf(note: string | undefined): string | undefined {
  if (note === undefined) return undefined;
  try {
    return parseCheckpoint(parseNote(note).text).origin;
  } catch {
    return undefined; // a damaged note is the verifier's business, not a reason to refuse sealing
  }
}

export type SealableStore = Store & {
  lastCheckpointNote(): string | undefined | Promise<string | undefined>;
  readonly divergence: SealogError | undefined;
};

/**
 * Opens an existing ledger for sealing (never creates one where the user mistyped
 * a path), deriving its head with this key's trust: see @sealog/core chain/derive.
 */
export async function openExisting(
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
      options: { key: { type: 'string' }, anchor: { type: 'string' }, config: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    checkNotDirectory(positionals[0]!); // a segmented ledger's writer seals its segments; name one file
    if (values.config !== undefined && (values.key !== undefined || values.anchor !== undefined))
      throw new UsageError(
        '--config holds the key and anchor file: give --config alone, or --key [--anchor]',
      );
    if (values.config === undefined && values.key === undefined)
      throw new UsageError('--key <keyfile> or --config <checkpoint.json> is required');
    const options: CheckpointOptions =
      values.config !== undefined
        ? readConfig(values.config)
        : { keyFile: values.key!, ...(values.anchor !== undefined ? { anchorFile: values.anchor } : {}) };
    const signer = await loadCheckpointKey(options);
    try {
      return await sealOnce(positionals[0]!, options, signer, io);
    } finally {
      await signer.close();
    }
  },
};

async function sealOnce(
  path: string,
  options: CheckpointOptions,
  signer: CheckpointKey,
  io: Io,
): Promise<number> {
  const anchor = options.anchorFile;
  if (anchor !== undefined) bindAnchor(anchor, ledgerIdentity(path));
  const { store, display } = await openExisting(
    path,
    // The writer's own trust root (its key, the anchor's heads); a divergence is read from the store.
    createWriterTrust(options, signer, () => {}),
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
    const seal = await sealHead(store, signer, {
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      ...(anchor !== undefined ? { anchorFile: anchor } : {}),
    });
    if (!seal) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
    let note = seal.note;
    const { witnesses, timestamps } = createSubmitters(options, signer, store, (err) =>
      io.err(`sealog checkpoint: ${err.code}: ${err.message}\n`),
    );
    if (witnesses || timestamps) {
      witnesses?.submit({ size: seal.size, note: seal.note, head: seal.head });
      timestamps?.submit({ size: seal.size, note: seal.note });
      // One request each, bounded by its own timeout (and retried within it): then done.
      const grace = Math.max(options.witnessTimeoutMs ?? 10_000, options.timestamp?.timeoutMs ?? 10_000);
      await Promise.all([witnesses?.close(grace), timestamps?.close(grace)]);
      // The cosignatures merged into the stored note: print the note as the ledger now holds it.
      note = (await storedNote(store, seal.note)) ?? seal.note;
      const cosigned = parseNote(note).signatures.length - parseNote(seal.note).signatures.length;
      if (witnesses) io.err(`${cosigned} of ${options.witnesses!.length} witness(es) cosigned\n`);
    }
    io.out(note);
    io.err(`sealed ${display} at size ${seal.size}${anchor ? `; appended to ${anchor}` : ''}\n`);
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

/** The stored note with the same body as `note` (witness lines merged into it), if it is the newest. */
async function storedNote(store: SealableStore, note: string): Promise<string | undefined> {
  const latest = await store.lastCheckpointNote();
  if (latest === undefined) return undefined;
  try {
    return parseNote(latest).text === parseNote(note).text ? latest : undefined;
  } catch {
    return undefined;
  }
}
