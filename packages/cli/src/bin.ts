#!/usr/bin/env node
import { main } from './main.js';

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

process.exitCode = await main(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  get signal() {
    return signal();
  },
});
