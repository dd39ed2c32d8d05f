export { type ExportOptions, type ExportProgress, type ExportResult, exportBundle } from './bundle/export.js';
export { BUNDLE_FILE, readBundleFile, verifyBundlePath, writeBundle } from './bundle/files.js';
export { exportStream, STREAM_TYPE, type StreamExportResult } from './bundle/stream.js';
export {
  BUNDLE_TYPE,
  type Bundle,
  type BundleAnchor,
  type BundleEntry,
  type BundleManifest,
  type BundleTimestamp,
  MAX_BUNDLE_ENTRIES,
} from './bundle/types.js';
export {
  type AnchorResult,
  type BundleReport,
  type BundleTimestampResult,
  type CheckpointInfo,
  type EntryResult,
  verifyBundle,
} from './bundle/verify.js';
export type { BundleTsaOptions } from './bundle/verify-timestamps.js';
export { AnchorHeads, OwnKey, type SignedHead } from './chain/trust.js';
export { ANCHOR_NOTE_SEPARATOR, appendAnchor, splitAnchorNotes } from './checkpoint/anchor.js';
export {
  ANCHOR_TIMESTAMP_TAG,
  type AnchorTimestamp,
  anchorTimestampsPath,
  appendAnchorTimestamp,
  splitAnchorTimestamps,
} from './checkpoint/anchor-timestamps.js';
export { bindAnchor, ledgerIdentity } from './checkpoint/binding.js';
export {
  type Checkpoint,
  formatCheckpoint,
  MAX_CHECKPOINT_BYTES,
  parseCheckpoint,
} from './checkpoint/body.js';
export {
  type CheckpointOptions,
  type CheckpointTimestampOptions,
  createSubmitters,
  createWriterTrust,
  loadCheckpointKey,
  validateCheckpointOptions,
} from './checkpoint/config.js';
export { type Seal, sealHead } from './checkpoint/seal.js';
export {
  Checkpointer,
  type CheckpointerOptions,
  DEFAULT_CHECKPOINT_EVERY_MS,
  DEFAULT_CHECKPOINT_EVERY_RECORDS,
  DEFAULT_CHECKPOINT_HEARTBEAT_MS,
} from './checkpoint/sealer.js';
export {
  type OpenedCheckpoint,
  openCheckpoint,
  signCheckpoint,
  signCheckpointWith,
} from './checkpoint/signed.js';
export { type Releases, releases } from './dp/budget-accounting.js';
export { type BudgetSummary, readSqliteBudgets, summarizeBudgets } from './dp/budget-read.js';
export {
  type DpReport,
  type DpReportGroup,
  type DpReportOptions,
  dpReport,
  type FieldPlan,
  type NoisedReport,
  type NoisePlan,
  noisedAggregate,
  onGrid,
  planNoise,
  round3,
  validateNoiseConfig,
} from './dp/index.js';
export {
  type Coercion,
  canonicalJson,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENTRY_BYTES,
  type Encoded,
  type EncodeLimits,
  encodeRecord,
  errorFields,
} from './encode.js';
export { isSealogError, SealogError, type SealogErrorCode } from './errors.js';
export { GapCounter, type GapReason, type GapSummary, gapEntry, parseGap } from './gap.js';
export { chainHash, EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, ZERO_HASH } from './hash.js';
export {
  DEFAULT_STALL_MS,
  Intake,
  type IntakeOptions,
  type LinePeek,
  type OverloadPolicy,
} from './intake.js';
export {
  DEFAULT_BATCH_DELAY_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_QUEUE_BYTES,
  Ledger,
  type LedgerOptions,
  type LedgerStats,
  recordTime,
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
export { cosignatureMessage, cosignerAt, decodeTimestampedSignature } from './note/cosignature.js';
export { loadSignerKeyFile, writeKeyFile } from './note/keyfile.js';
export {
  Cosigner,
  computeKeyId,
  Ed25519Signer,
  type GeneratedKey,
  generateKey,
  makeVerifierKey,
  type NoteSigner,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE,
  SIG_TYPE_ED25519,
  type SignatureType,
  TIME_COSIGNER_SUFFIX,
  type VerifierKey,
} from './note/keys.js';
export {
  cosign,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  type ParsedNote,
  parseNote,
  signNote,
  type VerifiedNote,
  type VerifiedSignature,
  verifyCosignature,
  verifyNote,
} from './note/note.js';
export { SINK_OPTION_KEYS } from './options.js';
export {
  type DecoderSpec,
  type LineDecoder,
  type PrepareSinkOptions,
  REFUSE_LINE,
} from './pipeline/decoders.js';
export {
  DEFAULT_POOL_SIZE,
  openTransportPool,
  type PoolSpec,
  PreparedBatch,
  PreparePool,
} from './pipeline/pool.js';
export {
  checkShredReason,
  createPrivacyPipeline,
  type GeneralizeRule,
  type KeySource,
  keyShreddedEntry,
  loadKeyring,
  loadPseudonymKey,
  MAX_SHRED_REASON,
  type PrivacyConfig,
  type PrivacyContext,
  type PrivacyPipeline,
  PseudonymKey,
  PseudonymKeyring,
  pseudonymOf,
  type ScrubKind,
  type ShredResult,
  scrubText,
  shredKeyFile,
  validatePrivacyConfig,
} from './privacy/index.js';
export {
  CONSISTENCY_TYPE,
  type ConsistencyBundle,
  INCLUSION_TYPE,
  type InclusionBundle,
} from './proof/bundle.js';
export type { ProofFailure, ProofProblem, ProvenCheckpoint } from './proof/check.js';
export {
  type ConsistencySuccess,
  makeConsistencyBundle,
  proveConsistency,
  verifyConsistencyProof,
} from './proof/consistency.js';
export {
  type InclusionSuccess,
  makeInclusionBundle,
  proveInclusion,
  verifyInclusionProof,
} from './proof/inclusion.js';
export { type ClosedErasure, eraseInClosedSegment } from './segments/erase-closed.js';
export { isSegmentDir, listSegments, segmentAnchorFile, segmentFileName } from './segments/layout.js';
export { type DirLock, lockSegmentDir } from './segments/lock.js';
export {
  type NoticeSink,
  type OpenedSegment,
  openSegment,
  querySegments,
  type SegmentNotice,
  type SegmentQuery,
  type SegmentRecord,
  segmentSlots,
} from './segments/reader.js';
export {
  applyPrune,
  type PruneItem,
  type PrunePlan,
  planPrune,
  refuseUnsealedStatements,
  removeCompanions,
} from './segments/retention-prune.js';
export { appendSealed, laterSegmentExists, refuseClosedSegment } from './segments/retention-write.js';
export { type HoldStatement, MAX_STATEMENT_REASON, type Statement } from './segments/statements.js';
export { SegmentedStore, type SegmentedStoreOptions, type SegmentsOptions } from './segments/store.js';
export { type SegmentsVerifyOptions, verifySegments } from './segments/verify.js';
export type {
  HoldSummary,
  PrunedSummary,
  PruneRecord,
  SegmentFinding,
  SegmentFindingKind,
  SegmentSummary,
  SegmentsReport,
} from './segments/verify-types.js';
export {
  type ErasureStatement,
  erasureEntry,
  MAX_ERASED_ROWS,
  markerOf,
  parseErasure,
  signErasure,
} from './signer/erasure.js';
export { asCheckpointKey, fileCheckpointKey } from './signer/file.js';
export { openPkcs11Key } from './signer/pkcs11.js';
export { createPkcs11Key } from './signer/pkcs11-keygen.js';
export {
  DEFAULT_PKCS11_TIMEOUT_MS,
  type Pkcs11KeyOptions,
  readPkcs11OptionsFile,
  validatePkcs11Options,
} from './signer/pkcs11-options.js';
export {
  type ChainProblem,
  chainKeys,
  followKeyChain,
  type KeyChain,
  type KeySpan,
  parseRotation,
  type RotationStatement,
  rotationEntry,
  rotationNoteOf,
  signRotation,
} from './signer/rotation.js';
export type { CheckpointKey, Signer } from './signer/types.js';
export {
  openSink,
  type RecordTransform,
  type Sealer,
  Sink,
  type SinkHooks,
  type SinkOptions,
  validateSinkOptions,
} from './sink.js';
export {
  type BackupOptions,
  type BackupProgress,
  type BackupResult,
  backupLedger,
  type LedgerFacts,
} from './store/backup.js';
export { type ConnectedStore, type ConnectOptions, connectStore } from './store/connect.js';
export { type EraseResult, eraseBodies, erasureLeaves } from './store/erase.js';
export { DEFAULT_PG_SCHEMA, isPostgresUrl, type PgTarget, parsePgUrl } from './store/postgres/url.js';
export { queryRecords, type RecordQuery } from './store/query.js';
export {
  LedgerReader,
  parseEntry,
  type StoredCheckpoint,
  type StoredRecord,
  type StoredTimestamp,
} from './store/reader.js';
export { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DURABILITY, type Durability, SqliteStore } from './store/sqlite.js';
export { checkedTime } from './store/time-window.js';
export type {
  CommitResult,
  LedgerHead,
  LockedSeal,
  PendingEntry,
  SealSigner,
  Store,
  WriterTrust,
} from './store/types.js';
export { closest } from './suggest.js';
export { type TilesOptions, type TilesResult, writeTiles } from './tiles/publish.js';
export { entryTime, inTimeRange, TIME_UNKNOWN } from './time.js';
export {
  createTimestampRequest,
  DEFAULT_TIMESTAMP_TIMEOUT_MS,
  type GrantedResponse,
  MAX_TIMESTAMP_TOKEN_BYTES,
  parseTimestampResponse,
  parseTimestampToken,
  type RequestTimestampOptions,
  requestTimestamp,
  type TimestampInfo,
  type TimestampMode,
  type TimestampRequest,
  TimestampRequester,
  type TimestampRequesterOptions,
  type TimestampResult,
  timestampImprint,
  type VerifiedTimestamp,
  type VerifyTimestampOptions,
  verifyTimestampToken,
} from './timestamp/index.js';
export { handoversFrom } from './verify/rotations.js';
export { TSA_EARLY_TOLERANCE_MS, TSA_LATE_TOLERANCE_MS } from './verify/timestamped.js';
export {
  type CheckpointResult,
  type CheckpointTotals,
  type CheckpointWitness,
  DEFAULT_MAX_UNSEALED,
  type ErasureResult,
  type Finding,
  type FindingKind,
  isFailure,
  MAX_FINDINGS,
  MAX_LISTED_CHECKPOINTS,
  REPORT_VERSION,
  type TsaSummary,
  type VerifyOptions,
  type VerifyReport,
  type WitnessSummary,
} from './verify/types.js';
export { verifyLedger } from './verify/verify.js';
export {
  addCheckpoint,
  DEFAULT_WITNESS_TIMEOUT_MS,
  MAX_WITNESS_RESPONSE_BYTES,
  type WitnessCosigned,
  type WitnessFailure,
  type WitnessResult,
} from './witness/client.js';
export { validateWitnessConfig, type WitnessConfig } from './witness/config.js';
export {
  type GeneratedWitnessKey,
  generateWitnessKey,
  loadWitnessKeyFile,
  parseWitnessKey,
  writeWitnessKeyFile,
} from './witness/key.js';
export {
  mergeCosignatures,
  verifyWitnessCosignatures,
  type WitnessCosignature,
  type WitnessQuorumResult,
} from './witness/quorum.js';
export {
  type AddCheckpointRequest,
  formatAddCheckpointRequest,
  MAX_PROOF_LINES,
  MAX_WITNESS_REQUEST_BYTES,
  parseAddCheckpointRequest,
} from './witness/request.js';
export {
  createWitnessServer,
  DEFAULT_WITNESS_REQUEST_TIMEOUT_MS,
  type WitnessServerOptions,
} from './witness/server.js';
export { DEFAULT_WITNESS_BUSY_TIMEOUT_MS, type WitnessHead, WitnessState } from './witness/state.js';
export {
  TLOG_SIZE_CONTENT_TYPE,
  Witness,
  type WitnessLog,
  type WitnessOutcome,
  type WitnessReply,
} from './witness/witness.js';
