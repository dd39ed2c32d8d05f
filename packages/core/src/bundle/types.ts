import type { BundleRotation } from './rotations.js';

// The evidence bundle, version 1 (docs/evidence.md): one JSON document that
// carries everything a recipient needs to check exported records offline.
// Hashes and entry bytes are standard base64 (RFC 4648 §4), as in checkpoints.

/**
 * `type` member of every evidence bundle, named like the single-proof bundles
 * of proof/bundle.ts (`sealog/inclusion-proof/v1`); the version is part of it.
 */
export const BUNDLE_TYPE = 'sealog/evidence-bundle/v1';

/** Most entries in one bundle: bounds the verifier's work on a hostile file. */
export const MAX_BUNDLE_ENTRIES = 1_000_000;
/** Largest bundle file accepted (bytes of JSON). */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
/** Largest single entry (bytes); the encoder caps entries at 1 MiB, this leaves room. */
export const MAX_ENTRY_BYTES = 2 * 1024 * 1024;
/** Longest proof: a tree of 2^53 leaves has paths of at most 53 hashes. */
export const MAX_PROOF_HASHES = 64;
/** Most verifier keys and anchor checkpoints carried. */
export const MAX_BUNDLE_KEYS = 16;
export const MAX_BUNDLE_ANCHORS = 64;
/** Most RFC 3161 tokens carried (a few per included checkpoint), and per checkpoint note. */
export const MAX_BUNDLE_TIMESTAMPS = 256;
export const MAX_TIMESTAMPS_PER_NOTE = 4;
/** Most extra notes of the bundle checkpoint carried for their witness cosignatures (one per witness). */
export const MAX_BUNDLE_COSIGNED_NOTES = 16;
/** Most key rotation entries carried (one per hand-over since the first key). */
export const MAX_BUNDLE_ROTATIONS = 16;

/** One exported record: its exact stored bytes and its RFC 9162 inclusion proof. */
export interface BundleEntry {
  /** Leaf index in the ledger (0-based). */
  seq: number;
  /** Hex SHA-256(0x00 ‖ entry): a diagnostic only (lets a verifier say "entry changed"); never trusted. */
  leaf: string;
  /** The exact stored entry bytes (canonical JSON), base64. */
  entry: string;
  /** PATH(seq, D[checkpoint size]) of RFC 9162 §2.1.3.1, leaf side first, base64 hashes. */
  proof: string[];
}

/** An anchor-file checkpoint and its RFC 9162 §2.1.4 consistency proof to the bundle checkpoint. */
export interface BundleAnchor {
  /** The signed checkpoint note, exact text. */
  note: string;
  /** PROOF(anchor size, D[bundle checkpoint size]), base64 hashes. */
  proof: string[];
}

/**
 * An RFC 3161 token over one checkpoint note the bundle carries (`checkpoint`
 * or an `anchors[].note`), as the writer stored it (docs/timestamps.md §5). The
 * verifier finds the note by `noteSha256` and checks the token against its own
 * TSA trust anchors; nothing here is trusted.
 */
export interface BundleTimestamp {
  /** The size of the checkpoint the note seals. */
  size: number;
  /** SHA-256 of the exact note text (the token's imprint), base64. */
  noteSha256: string;
  /** The DER TimeStampToken, base64 (at most 64 KiB decoded). */
  token: string;
}

/** What was exported, summarised for people and machines. Derived data: the verifier re-checks it. */
export interface BundleManifest {
  origin: string;
  /** File name of the ledger exported (no directory). */
  ledger: string;
  /** ISO 8601 time of the export (the exporter's clock; not signed). */
  exportedAt: string;
  /** The selection as the exporter asked for it, e.g. ["--from 2026-01-01T00:00:00Z", "--level warn"]. */
  selection: string[];
  entryCount: number;
  firstSeq: number;
  lastSeq: number;
  /** Seq numbers present, as inclusive ranges [[a, b], ...], ascending. */
  seqs: [number, number][];
  /** Rows between firstSeq and lastSeq that are NOT in the bundle. */
  withheld: number;
  checkpoint: { size: number; root: string; signedTime: string | null };
  /** Records in the ledger at export time; those at seq ≥ checkpoint.size are not covered. */
  ledgerSize: number;
}

/** A complete evidence bundle (schema version 1). */
export interface Bundle {
  type: typeof BUNDLE_TYPE;
  manifest: BundleManifest;
  /** The signed checkpoint note every proof leads to, exact text. */
  checkpoint: string;
  /** Verifier keys (signed-note vkeys) of the log and its time cosigner. */
  keys: string[];
  entries: BundleEntry[];
  anchors: BundleAnchor[];
  /**
   * RFC 3161 tokens of the included checkpoints, when the ledger (or the anchor's
   * token file) has any. Optional: bundles made before it existed have none, and
   * verifiers that do not know it ignore it.
   */
  timestamps?: BundleTimestamp[];
  /**
   * Other stored notes of the bundle checkpoint's body (same origin, size and
   * root) that carry signature lines `checkpoint` lacks: the writer stores each
   * witness's cosignature as one more note (docs/witness.md), while RFC 3161
   * tokens stamp the note it signed first, which stays `checkpoint`. Exact
   * stored text, at most 16. Optional: absent when there are none.
   */
  cosignedNotes?: string[];
  /**
   * The ledger's key rotation entries that lead from the first key to the one
   * that signed `checkpoint` (docs/keys.md "Rotation"), each with its inclusion
   * proof and a consistency proof from its hand-over size. Optional: absent
   * when the ledger never rotated.
   */
  rotations?: BundleRotation[];
  /** The recipient README (also written as README.txt). */
  readme: string;
}
