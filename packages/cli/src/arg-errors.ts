import { closest } from '@sealog/core';
import { type Command, UsageError } from './command.js';

// Usage errors as one line that names the slip and what was meant (issue 19,
// item 9). Node's parseArgs says "Unknown option '--folow'. To specify a
// positional argument starting with a '-', place it at the end of the command
// after '--'", which answers a question nobody asked.
// Parsing stays node:util parseArgs (no dependency); commander and yargs would
// bring their own help layout and error texts for what is here one suggestion
// per slip, computed from each command's usage text.

/**
 * The flags a command takes, read from its usage text: every command
 * documents each of its options there (a test checks the usage matches what
 * parseArgs accepts), so this needs no second list to keep in step.
 */
export function usageFlags(usage: string): string[] {
  const flags = new Set<string>();
  for (const m of usage.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) flags.add(m[1]!);
  return [...flags];
}

/** "--x" → "--x; did you mean --y?" over the command's flags and --help (which every command takes). */
function unknownOption(option: string, command: Command, argv: readonly string[]): string {
  const flags = [...usageFlags(command.usage), 'help'];
  let guess: string | undefined;
  if (option.startsWith('--')) guess = closest(option.slice(2), flags);
  else {
    // "-lines" reaches parseArgs as the short flags -l -i -n ...: the word was a long flag.
    const word = argv.find((a) => /^-[a-z][a-z0-9-]+$/i.test(a) && a.startsWith(option))?.slice(1);
    if (word !== undefined) guess = flags.includes(word) ? word : closest(word, flags);
  }
  const shown = option.length > 64 ? `${option.slice(0, 64)}…` : option;
  return `unknown option ${shown} for sealog ${command.name}${guess !== undefined ? `; did you mean --${guess}?` : ''}`;
}

/**
 * The one line to print for a usage error from `command` (a UsageError, or a
 * parseArgs error), or undefined when `err` is not a usage error.
 */
export function usageErrorLine(err: unknown, command: Command, argv: readonly string[]): string | undefined {
  if (err instanceof UsageError) return `sealog ${command.name}: ${err.message}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const text = (err as Error).message;
  const unknown = /^Unknown option '([^']*)'/.exec(text);
  if (unknown) return `sealog: ${unknownOption(unknown[1]!, command, argv)}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(text);
  if (missing) return `sealog ${command.name}: option ${missing[1]} needs a value`;
  const noValue = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(text);
  if (noValue) return `sealog ${command.name}: option ${noValue[1]} takes no value`;
  const positional = /^Unexpected argument '([^']*)'/.exec(text);
  if (positional)
    return `sealog ${command.name}: unexpected argument ${JSON.stringify(positional[1])}: this command takes no positional argument`;
  return `sealog ${command.name}: ${text}`;
}
