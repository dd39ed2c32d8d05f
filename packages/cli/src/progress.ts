// Progress of a long command (backup, migrate, verify, export) on stderr: only
// when a person watches (stderr is a terminal) or `--progress` asks for it, and
// at most one line a second, so a script's stderr and a CI log stay quiet.

/** At most one progress line per this many ms. */
export const PROGRESS_EVERY_MS = 1000;

export interface ProgressStep {
  /** Units done so far. */
  done: number;
  /** Units in all, when known. */
  total?: number;
  /** What is counted: records, pages, … */
  unit: string;
}

/**
 * A throttled reporter printing `  <verb> <done>[ of <total>] <unit>[ (NN%)]`, or
 * undefined when progress is not shown (stderr is not a terminal and `forced` is
 * not set). `now` is injectable for tests.
 */
export function progressReporter(
  write: (line: string) => void,
  verb: string,
  options: { forced?: boolean; isTTY?: boolean; now?: () => number } = {},
): ((p: ProgressStep) => void) | undefined {
  const tty = options.isTTY ?? process.stderr.isTTY === true;
  if (!(options.forced === true || tty)) return undefined;
  const now = options.now ?? (() => performance.now());
  let last = Number.NEGATIVE_INFINITY;
  return (p) => {
    const t = now();
    if (t - last < PROGRESS_EVERY_MS) return;
    last = t;
    const pct = p.total ? ` (${Math.floor((100 * p.done) / p.total)}%)` : '';
    write(`  ${verb} ${p.done}${p.total ? ` of ${p.total}` : ''} ${p.unit}${pct}\n`);
  };
}
