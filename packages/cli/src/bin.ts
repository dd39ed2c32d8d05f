#!/usr/bin/env node
import { EXIT_OK, EXIT_USAGE } from './command.js';
import { main } from './main.js';
import { outputError, streamWriter } from './stdio.js';

// SIGINT/SIGTERM must always end a command (issue 14, finding 8). A JS signal
// listener turns off Node's default "terminate", and it only runs when the
// event loop does, so one installed for every command would let a command
// stuck in synchronous work (a long verify, a blocking open) ignore signals.
// So listeners exist only once a command asks for io.signal (tail --follow,
// which waits on timers and can stop cleanly); they fire once, after which
// the default disposition is back and a second signal kills. A grace timer
// ends a command that does not stop on its own.
const GRACE_MS = 2000;
let controller: AbortController | undefined;

function signal(): AbortSignal {
  if (!controller) {
    const c = new AbortController();
    controller = c;
    const onSignal = (sig: NodeJS.Signals) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
      c.abort();
      setTimeout(() => process.exit(sig === 'SIGINT' ? 130 : 143), GRACE_MS).unref();
    };
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, onSignal);
  }
  return controller.signal;
}

// A closed pipe (`sealog query … | head -1`) ends the command quietly: stdio.ts.
const code = await main(process.argv.slice(2), {
  out: streamWriter(process.stdout, true),
  err: streamWriter(process.stderr, false),
  get signal() {
    return signal();
  },
});
process.exitCode = code;
// A write that failed after the command returned (e.g. a full disk) is reported
// a tick or a loop turn later: judged at exit, when every write has ended.
process.on('exit', () => {
  const broken = process.exitCode === EXIT_OK ? outputError(process.stdout) : undefined;
  if (broken === undefined) return;
  process.stderr.write(`sealog: ${broken}\n`);
  process.exitCode = EXIT_USAGE;
});
