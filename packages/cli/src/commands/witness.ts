import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createWitnessServer,
  generateWitnessKey,
  loadWitnessKeyFile,
  SealogError,
  validateWitnessConfig,
  Witness,
  type WitnessReply,
  WitnessState,
  writeWitnessKeyFile,
} from '@sealog/core';
import { type Command, EXIT_OK, type Io, UsageError } from '../command.js';

const usage = `usage: sealog witness keygen --name <name> --out <file>
       sealog witness serve --config <witness.json>

A C2SP tlog-witness: cosigns a log's checkpoints only if each is consistent
with every checkpoint it cosigned before, so a log key holder who rewrites
history gets no cosignature for the fork. See docs/witness.md.

keygen   creates the witness's Ed25519 cosigner key (type 0x04, mode 0600;
         never overwrites) and prints its verifier key: give it to relying
         parties. The name SHOULD be a schema-less URL, e.g. witness.example.com/w1.
           --name <name>   witness key name (required)
           --out <file>    key file to create (required)

serve    runs the witness over HTTP (POST /add-checkpoint, GET /<origin
         sha256>/checkpoint). The config is JSON:
           { "keyFile": "witness.key", "stateFile": "witness.db",
             "listen": "127.0.0.1:7380",
             "logs": [{ "origin": "<origin>", "key": "<log verifier key>" }] }
         Relative paths are relative to the config file. Prints the URL it
         listens on, one line, when ready; stops cleanly on SIGINT/SIGTERM.
           --config <file>  the config (required)
`;

/** A config file is small JSON; anything bigger is not one (bounded read). */
const MAX_CONFIG_BYTES = 4 << 20;

function readConfig(path: string): unknown {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new SealogError('E_CONFIG', `cannot open witness config ${path}`, { cause: err });
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new SealogError('E_CONFIG', `witness config ${path} is not a regular file`);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_CONFIG_BYTES)
        throw new SealogError('E_CONFIG', `witness config ${path} is larger than 4 MiB`);
    }
    try {
      return JSON.parse(buf.toString('utf8', 0, n));
    } catch (err) {
      throw new SealogError(
        'E_CONFIG',
        `witness config ${path} is not valid JSON: ${(err as Error).message}`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

async function keygen(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.name === undefined) throw new UsageError('--name <name> is required');
  if (values.out === undefined) throw new UsageError('--out <file> is required');
  const key = generateWitnessKey(values.name);
  writeWitnessKeyFile(values.out, key.privateKey);
  io.err(`wrote witness key ${resolve(values.out)} (mode 0600): keep it secret and backed up\n`);
  io.out(`${key.verifierKey}\n`);
  return EXIT_OK;
}

function logLine(r: WitnessReply, req: { method: string; path: string }): string {
  const parts = [`${req.method} ${req.path}`, String(r.status), r.outcome];
  if (r.origin !== undefined) parts.push(`origin=${JSON.stringify(r.origin)}`);
  if (r.size !== undefined) parts.push(`size=${r.size}`);
  let line = `witness: ${parts.join(' ')}\n`;
  // A validly signed but inconsistent checkpoint is evidence of a fork: keep it in the log.
  if (r.evidence !== undefined) line += `witness: evidence ${JSON.stringify(r.evidence)}\n`;
  return line;
}

async function serve(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.config === undefined) throw new UsageError('--config <witness.json> is required');
  const config = validateWitnessConfig(readConfig(values.config), dirname(resolve(values.config)));
  const cosigner = loadWitnessKeyFile(config.keyFile);
  const state = WitnessState.open(config.stateFile);
  const witness = new Witness({ cosigner, state, logs: config.logs });
  const server = createWitnessServer(witness, { onReply: (r, req) => io.err(logLine(r, req)) });
  const signal = io.signal;
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', (err) =>
        fail(
          new SealogError('E_IO', `cannot listen on ${config.listen.host}:${config.listen.port}`, {
            cause: err,
          }),
        ),
      );
      server.listen(config.listen.port, config.listen.host, () => ok());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    io.err(`witness ${cosigner.verifierKey} for ${config.logs.length} log(s), state ${config.stateFile}\n`);
    io.out(`http://${host}:${addr.port}\n`);
    await new Promise<void>((ok) => {
      if (signal.aborted) ok();
      else signal.addEventListener('abort', () => ok(), { once: true });
    });
  } finally {
    await new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
    state.close();
  }
  io.err('witness: stopped\n');
  return EXIT_OK;
}

export const witness: Command = {
  name: 'witness',
  summary: 'run a C2SP tlog-witness (keygen, serve) that cosigns only consistent checkpoints',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'keygen') return keygen(rest, io);
    if (sub === 'serve') return serve(rest, io);
    throw new UsageError(
      sub === undefined ? 'a subcommand is required: keygen or serve' : `unknown subcommand "${sub}"`,
    );
  },
};
