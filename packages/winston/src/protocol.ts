// The wire between SealogTransport (app thread) and its ledger worker. Records
// travel as one string of '\n'-separated lines (wire.ts) per batch: one
// postMessage per batch, one copy, no structured clone of record objects.
// Control messages are small objects. Counters live in a SharedArrayBuffer so
// the app thread reads them without a round trip and can block on them at exit.

import type { GapSummary } from '@sealog/core';

/** Slots of the shared BigInt64Array, written by the worker only. */
export const SLOT = {
  /** Records committed to the ledger. */
  committed: 0,
  /** Records the worker could not accept (ledger never opened, unreadable line, ledger refusal). */
  refused: 1,
  /** Commits that failed (and were retried). */
  failedCommits: 2,
  /** Highest `sync` request id answered: the app thread waits on this slot at exit. */
  synced: 3,
  /** Lines posted that the worker no longer holds (committed, or counted as not stored). */
  settled: 4,
  /** 1 once the worker's ledger is open (or failed to open): until then no progress is a stall. */
  opened: 5,
} as const;
export const SLOT_COUNT = 6;

/** What the worker is started with: plain JSON options (already validated) and the counters. */
export interface WorkerData {
  options: Record<string, unknown>;
  counters: SharedArrayBuffer;
}

/**
 * To the worker: a string is a batch of lines; `flush` and `close` are answered
 * with `done`; `sync` is answered through SLOT.synced (the app thread is blocked).
 */
export type ToWorker = string | { t: 'flush' | 'close' | 'sync'; id: number } | { t: 'gap'; gap: GapSummary };

export interface WireError {
  code: string;
  message: string;
}

/** From the worker: a reported failure, the ledger failing to open, or a request answered. */
export type FromWorker =
  | { t: 'warn'; error: WireError }
  | { t: 'openFailed'; error: WireError }
  | { t: 'done'; id: number; error?: WireError };
