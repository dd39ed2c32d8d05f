import { isSealogError } from '@sealog/core';

/** Exit codes shared by every command (DESIGN: verify). */
export const EXIT_OK = 0;
/** Verification failed / tampering found. */
export const EXIT_FAIL = 1;
/** Usage, configuration or I/O error. */
export const EXIT_USAGE = 2;

/** Where a command writes; tests pass buffers, the binary passes process streams. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Aborted on SIGINT/SIGTERM, for long-running commands like `tail -f`. */
  signal: AbortSignal;
}

/** One `sealog <name>` subcommand. Adding a command = one file + one line in commands/index.ts. */
export interface Command {
  name: string;
  /** One line for `sealog --help`. */
  summary: string;
  /** Full usage text for `sealog <name> --help`. */
  usage: string;
  /** Returns the process exit code. May throw UsageError or SealogError; main() maps them. */
  run(argv: string[], io: Io): Promise<number>;
}

/** Bad arguments: printed as one line and a pointer to `--help` (arg-errors.ts), exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Maps an error that is not a usage error (those are arg-errors.ts's) to a
 * message and exit code: tampering is 1, everything else 2.
 */
export function describeError(err: unknown): { message: string; code: number } {
  if (isSealogError(err)) {
    return { message: `${err.code}: ${err.message}`, code: err.code === 'E_TAMPER' ? EXIT_FAIL : EXIT_USAGE };
  }
  return { message: err instanceof Error ? err.message : String(err), code: EXIT_USAGE };
}

/** Parses a positive integer option value or throws UsageError naming the option. */
export function intOption(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d{1,15}$/.test(value))
    throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}
