import { type Command, describeError, EXIT_OK, EXIT_USAGE, type Io, UsageError } from './command.js';
import { commands } from './commands/index.js';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: sealog <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`sealog <command> --help\` for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code; never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`sealog: unknown command "${name}"\n\n${overview()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const { message, code } = describeError(err);
    io.err(`sealog ${command.name}: ${message}\n`);
    if (err instanceof UsageError) io.err(`\n${command.usage}`);
    return code;
  }
}
