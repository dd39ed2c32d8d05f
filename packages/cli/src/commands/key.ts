import { parseArgs } from 'node:util';
import {
  bindAnchor,
  type CheckpointKey,
  createWriterTrust,
  fileCheckpointKey,
  handoversFrom,
  isPostgresUrl,
  ledgerIdentity,
  loadSignerKeyFile,
  openPkcs11Key,
  parseRotation,
  parseVerifierKey,
  readPkcs11OptionsFile,
  rotationEntry,
  SealogError,
  sealHead,
  signRotation,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { LEDGER_ARG } from '../source.js';
import { openExisting, originOf } from './checkpoint.js';

const usage = `usage: sealog key rotate <ledger | postgres://…> (--key <keyfile> | --pkcs11 <token.json>)
                         (--new-key <keyfile> | --new-pkcs11 <token.json>) [--anchor <file>]

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
  --pkcs11 <file>       or: the current key on a PKCS#11 token (the JSON of the
                        transports' checkpoint.pkcs11 option, docs/keys.md)
  --new-key <keyfile>   the new private key, from \`sealog keygen --name <same origin>\`
  --new-pkcs11 <file>   or: the new key on a token (\`sealog keygen --pkcs11\`): moving
                        a file key into a token is a rotation like any other
  --anchor <file>       also append both checkpoints to this anchor file
`;

async function rotate(argv: string[], io: Parameters<Command['run']>[1]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      pkcs11: { type: 'string' },
      'new-key': { type: 'string' },
      'new-pkcs11': { type: 'string' },
      anchor: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
  const fromSpec = oneKey(values.key, values.pkcs11, '--key <keyfile> or --pkcs11 <token.json>');
  const toSpec = oneKey(
    values['new-key'],
    values['new-pkcs11'],
    '--new-key <keyfile> or --new-pkcs11 <token.json>',
  );
  const from = await openKey(fromSpec);
  let to: CheckpointKey;
  try {
    to = await openKey(toSpec);
  } catch (err) {
    await from.close();
    throw err;
  }
  try {
    return await rotateWith(positionals[0]!, from, to, values.anchor, io);
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

type KeySpec = { file: string } | { pkcs11: string };

function oneKey(file: string | undefined, pkcs11: string | undefined, what: string): KeySpec {
  if ((file === undefined) === (pkcs11 === undefined)) throw new UsageError(`give exactly one of ${what}`);
  return file !== undefined ? { file } : { pkcs11: pkcs11! };
}

async function openKey(spec: KeySpec): Promise<CheckpointKey> {
  if ('file' in spec) return fileCheckpointKey(loadSignerKeyFile(spec.file), spec.file);
  return openPkcs11Key(readPkcs11OptionsFile(spec.pkcs11));
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
  if (!isPostgresUrl(path)) {
    // A key hands over once: a second hand-over is what a thief with a copy would make.
    const done = handoversFrom(path, parseVerifierKey(from.log.verifierKey));
    if (done.length > 0) {
      throw new SealogError(
        'E_KEY',
        `${from.display} already handed over at size ${done[0]!.size} to ${done[0]!.to}; rotate from that key (a second hand-over from this one is reported by verify as a key fork)`,
      );
    }
  }
  if (anchor !== undefined) bindAnchor(anchor, ledgerIdentity(path));
  const anchorOpt = anchor !== undefined ? { anchorFile: anchor } : {};
  const { store, display } = await openExisting(
    path,
    createWriterTrust(anchorOpt, from, () => {}),
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
    if ((await store.head()).size === 0) {
      throw new SealogError(
        'E_CONFIG',
        `${display} holds no records: there is no history to hand over; configure the new key directly`,
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
