// Standard output and error for the binary, and what happens when the reader
// of a pipe goes away (issue 19): `sealog query <ledger> -o json | head -1`.
//
// Node ignores SIGPIPE, so a write to a pipe whose reader has closed fails
// with EPIPE, raised as an 'error' event on process.stdout: unhandled, a stack
// trace and exit 1. A Unix command stops writing instead, as `cat | head` and
// `journalctl | head` do. Node reports the failure asynchronously (the write
// returns, its callback and the event come on a later turn of the event loop;
// writableErrored is not set on process.stdout), so the failure is recorded
// from the event and every later write to stdout throws OutputClosed, which
// unwinds the command through its finally blocks (readers and stores are
// closed; `tail -f` leaves its follow loop at its next poll with records) and
// main() turns into the exit code. A listing that never yields (query, tail
// -n scan synchronously) finishes its scan with the rest of its output
// dropped, then ends the same way.
//
// - EPIPE: exit 0, nothing printed. The reader took what it wanted (`head -1`
//   asked for one line), which is not a failure of sealog: a script with
//   `set -o pipefail` around `sealog query | head` must not fail because of
//   it. C tools die of SIGPIPE instead (status 141), which makes such scripts
//   fail; many Node CLIs end with 0, as here. A command that already returned
//   keeps its own code: the verdicts (verify, verify-bundle, verify-proof's
//   INVALID) are one write made after the work is done, so `verify | head`
//   still exits 1 on tampering.
// - Any other write error (EIO, ENOSPC…): one line on stderr, exit 2, as the
//   output is incomplete.
//
// Writers (checkpoint, erase, prune, keygen…) print only after their ledger
// or key file is written, so a closed stdout never stops one half-way; stderr
// (progress, notices) never throws for the same reason: once it fails, what
// is written there is dropped.

/** Thrown by a write to stdout after stdout failed; main() maps it to an exit code. */
export class OutputClosed extends Error {
  readonly code: string | undefined;
  constructor(cause: Error) {
    super(`cannot write to standard output: ${cause.message}`, { cause });
    this.name = 'OutputClosed';
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** The first write error of each stream seen (set from its 'error' event or a write callback). */
const errors = new WeakMap<NodeJS.WritableStream, Error>();

function record(stream: NodeJS.WritableStream, err: Error | null | undefined): void {
  if (err && !errors.has(stream)) errors.set(stream, err);
}

/**
 * A write function for `stream` that never raises an unhandled 'error'
 * event. After a failed write, later writes throw OutputClosed (`stop`, for
 * stdout) or are dropped (for stderr).
 */
export function streamWriter(stream: NodeJS.WriteStream, stop: boolean): (text: string) => void {
  stream.on('error', (err) => record(stream, err));
  return (text) => {
    const err = errors.get(stream);
    if (err === undefined) stream.write(text, (e) => record(stream, e));
    else if (stop) throw new OutputClosed(err);
  };
}

/**
 * Why the command's output is incomplete, once it returned: a write to
 * `stream` failed for a reason other than a closed pipe. Undefined otherwise.
 */
export function outputError(stream: NodeJS.WriteStream): string | undefined {
  const err = errors.get(stream);
  if (err === undefined || (err as NodeJS.ErrnoException).code === 'EPIPE') return undefined;
  return new OutputClosed(err).message;
}
