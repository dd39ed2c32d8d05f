import { readFileSync } from 'node:fs';
import { closest } from '@sealog/core';
import { usageErrorLine } from './arg-errors.js';
import { type Command, describeError, EXIT_OK, EXIT_USAGE, type Io } from './command.js';
import { commands } from './commands/index.js';
import { OutputClosed } from './stdio.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: sealog <command> [options]
       sealog help <command>
       sealog --version

commands:
${lines.join('\n')}

Run \`sealog help <command>\` or \`sealog <command> --help\` for a command's options.
`;
}

/** The CLI package's version (src/ and dist/ both sit one level below package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The options `sealog` takes before a command: candidates for "did you mean" (`--versoin`). */
const GLOBAL_FLAGS = ['--version', '-V', '--help', '-h'];

/** `unknown command "x"; did you mean "y"?` and where the list is, as one error. */
function unknownCommand(name: string, io: Io): number {
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  let what: string;
  if (name.startsWith('-')) {
    const flag = closest(name, GLOBAL_FLAGS);
    what = `unknown option ${shown}; ${flag !== undefined ? `did you mean ${flag}?` : 'options follow the command: sealog <command> [options]'}`;
  } else {
    const guess = closest(name, ['help', ...commands.map((c) => c.name)]);
    what = `unknown command ${shown}${guess !== undefined ? `; did you mean "${guess}"?` : ''}`;
  }
  io.err(`sealog: ${what}\nrun sealog --help for the list of commands\n`);
  return EXIT_USAGE;
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code; never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.out(`${version()}\n`);
    return EXIT_OK;
  }
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const wanted = name === 'help' ? rest[0]! : name;
  const command: Command | undefined = commands.find((c) => c.name === wanted);
  if (!command) return unknownCommand(wanted, io);
  if (name === 'help' || rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    // The reader of stdout went away (`| head -1`): stop quietly (stdio.ts says why 0).
    if (err instanceof OutputClosed) {
      if (err.code === 'EPIPE') return EXIT_OK;
      io.err(`sealog ${command.name}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // A usage error is one line and a pointer to --help: the whole usage
    // pushed the line that says what was wrong off the screen.
    const line = usageErrorLine(err, command, rest);
    if (line !== undefined) {
      io.err(`${line}\nrun sealog ${command.name} --help for usage\n`);
      return EXIT_USAGE;
    }
    const { message, code } = describeError(err);
    io.err(`sealog ${command.name}: ${message}\n`);
    return code;
  }
}
