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
  /** Replaces the reporter's verb for this step (a command with stages: hashed, then proved). */
  verb?: string;
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
    write(`  ${p.verb ?? verb} ${p.done}${p.total ? ` of ${p.total}` : ''} ${p.unit}${pct}\n`);
  };
}

/**
 * Progress of a segment directory's verification, which reports each segment's
 * rows from 0: counts rows across segments (a segment starts when the count
 * goes back or its total changes). No total: segments still to come are unknown.
 */
export function acrossSegments(
  report: (p: ProgressStep) => void,
): (p: { done: number; total: number }) => void {
  let before = 0;
  let last = { done: 0, total: -1 };
  return (p) => {
    if (p.done <= last.done || p.total !== last.total) before += last.done;
    last = p;
    report({ done: before + p.done, unit: 'records' });
  };
}
