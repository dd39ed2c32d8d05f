// The contracts between the stages of the write path, on the ground floor:
// this module imports nothing of sealog's but the store's result types, so the
// privacy, noise and checkpoint modules depend on it and never on the sink
// that wires them together (docs/architecture.md "write path").
//
//   record ─► RecordTransform* (privacy, noise) ─► encode ─► Ledger (queue, commit) ─► Sealer* (checkpoints)

import type { CommitResult } from './store/types.js';

/** A per-record transform applied before encoding (the privacy pipeline, the noise step). */
export interface RecordTransform {
  apply(record: Record<string, unknown>): Record<string, unknown>;
  /** Called once on close, after the last record was committed and before the ledger closes. */
  close?(): void;
}

/** Seals the ledger: told of every commit, asked for a final seal on close. */
export interface Sealer {
  onCommit(result: CommitResult): void;
  close(): Promise<void> | void;
}
