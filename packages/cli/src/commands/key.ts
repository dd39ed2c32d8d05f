import { parseArgs } from 'node:util';
import {
  bindAnchor,
  type CheckpointKey,
  createWriterTrust,
  fileCheckpointKey,
  ledgerIdentity,
  loadSignerKeyFile,
  parseRotation,
  rotationEntry,
  SealogError,
  sealHead,
  signRotation,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { LEDGER_ARG } from '../source.js';
import { openExisting, originOf } from './checkpoint.js';

const usage = `usage: sealog key rotate <ledger | postgres://…> --key <old keyfile> --new-key <new keyfile> [--anchor <file>]

Hands the ledger's checkpoint key over to a new key, so that \`sealog verify\`
given only the first key follows the chain (docs/keys.md "Rotation"):

  1. verifies the ledger with the current key and seals its head (as
     \`sealog checkpoint\` does; on any finding it signs nothing, exit 1);
  2. appends a key rotation statement naming the new log and time keys,
     signed by the current key and by the new one, as a ledger entry;
  3. seals a checkpoint with the new key that covers that entry.

Stop the writers first and restart them with the new key: a checkpoint the old
key signs after the hand-over is reported by verify. Give the new key to
witnesses too (their config lists a log's keys).

  --key <keyfile>       the current private key (mode 0600)
  --new-key <keyfile>   the new private key, from \`sealog keygen --name <same origin>\`
  --anchor <file>       also append both checkpoints to this anchor file
`;

async function rotate(argv: string[], io: Parameters<Command['run']>[1]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { key: { type: 'string' }, 'new-key': { type: 'string' }, anchor: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
  if (values.key === undefined) throw new UsageError('--key <current keyfile> is required');
  if (values['new-key'] === undefined) throw new UsageError('--new-key <new keyfile> is required');
  const from = fileCheckpointKey(loadSignerKeyFile(values.key), values.key);
  const to = fileCheckpointKey(loadSignerKeyFile(values['new-key']), values['new-key']);
  try {
    return await rotateWith(positionals[0]!, from, to, values.anchor, io);
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

async function rotateWith(
  path: string,
  from: CheckpointKey,
  to: CheckpointKey,
  anchor: string | undefined,
  io: Parameters<Command['run']>[1],
): Promise<number> {
  if (from.name !== to.name) {
    throw new SealogError(
      'E_KEY',
      `the new key is named ${JSON.stringify(to.name)} but the current key is ${JSON.stringify(from.name)}; a rotation keeps the origin: run sealog keygen --name ${from.name}`,
    );
  }
  if (anchor !== undefined) bindAnchor(anchor, ledgerIdentity(path));
  const anchorOpt = anchor !== undefined ? { anchorFile: anchor } : {};
  const { store, display } = await openExisting(
    path,
    createWriterTrust({ keyFile: from.display, ...anchorOpt }, from, () => {}),
  );
  try {
    // The current key signs only what it derived: a ledger that does not re-derive is refused.
    if (store.divergence) throw store.divergence;
    const previous = originOf(await store.lastCheckpointNote());
    if (previous !== undefined && previous !== from.name) {
      throw new SealogError(
        'E_KEY',
        `this ledger's checkpoints have origin ${JSON.stringify(previous)} but the key is named ${JSON.stringify(from.name)}; use the ledger's key`,
      );
    }
    const last = await sealHead(store, from, anchorOpt);
    if (!last) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
    const note = await signRotation(last.head, from, to);
    const statement = parseRotation(note);
    await store.append([rotationEntry(note, statement, Date.now())]);
    const first = await sealHead(store, to, anchorOpt);
    if (!first) throw new SealogError('E_IO', `${display}: another writer held the checkpoint lock`);
    io.out(note);
    io.out(`\n${first.note}`);
    io.err(
      `rotated ${display}: ${from.log.verifierKey} handed over at size ${last.size} to\n${to.log.verifierKey}\n${to.time.verifierKey}\n` +
        `the new key sealed size ${first.size}${anchor ? `; both checkpoints appended to ${anchor}` : ''}; restart the writers with the new key\n`,
    );
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

export const key: Command = {
  name: 'key',
  summary: 'rotate the checkpoint key of a ledger (key rotate)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'rotate') return rotate(rest, io);
    throw new UsageError(
      sub === undefined ? 'a subcommand is required: rotate' : `unknown subcommand "${sub}"`,
    );
  },
};
