export { type Coercion, canonicalJson, type Encoded, type EncodeLimits, encodeRecord } from './encode.js';
export { isSealogError, SealogError, type SealogErrorCode } from './errors.js';
export { chainHash, EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, ZERO_HASH } from './hash.js';
export {
  DEFAULT_BATCH_DELAY_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_PENDING,
  Ledger,
  type LedgerOptions,
  type LedgerStats,
} from './ledger.js';
export {
  CompactRange,
  consistencyProof,
  inclusionProof,
  type LeafSource,
  rootFromLeaves,
  subtreeRoot,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export {
  openSink,
  type RecordTransform,
  type Sealer,
  Sink,
  type SinkHooks,
  type SinkOptions,
  validateSinkOptions,
} from './sink.js';
export { LedgerReader, type StoredCheckpoint, type StoredRecord } from './store/reader.js';
export { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DURABILITY, type Durability, SqliteStore } from './store/sqlite.js';
export type { CommitResult, LedgerHead, PendingEntry, Store } from './store/types.js';
