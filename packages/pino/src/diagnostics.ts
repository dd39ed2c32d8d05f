import { parentPort } from 'node:worker_threads';
import type { LedgerStats, SealogError } from '@sealog/core';

/** Event name emitted on the object `pino.transport()` returns, in the app's thread. */
export const SEALOG_ERROR_EVENT = 'sealogError';

/** What the app receives with {@link SEALOG_ERROR_EVENT}: plain data, because it crosses the worker boundary. */
export interface SealogErrorEvent {
  code: SealogError['code'];
  message: string;
  stats: LedgerStats | undefined;
}

/**
 * Reports a sink failure without ever failing the stream: an `error` on the
 * destination would make thread-stream tear the worker down and lose every
 * record still queued. So: one stderr line with the code, plus a named event
 * relayed by thread-stream's `EVENT` message to the app's thread.
 */
export function report(err: SealogError, stats?: LedgerStats): void {
  process.stderr.write(`sealog: ${err.code}: ${err.message}\n`);
  if (parentPort === null) return;
  const event: SealogErrorEvent = { code: err.code, message: err.message, stats };
  try {
    parentPort.postMessage({ code: 'EVENT', name: SEALOG_ERROR_EVENT, args: [event] });
  } catch {
    // The app's thread is gone (exiting): the stderr line is all that can be done.
  }
}
