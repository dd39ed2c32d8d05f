import type { AnchorHeads, OwnKey, SignedHead } from '../chain/trust.js';
import type { SealogError } from '../errors.js';

/**
 * What a signing writer trusts: its own key, and the heads that key signed which
 * it found outside the ledger (the anchor file). See chain/derive.ts.
 */
export interface WriterTrust {
  own: OwnKey;
  /** Heads found outside the ledger when the store opened. */
  heads: readonly SignedHead[];
  /**
   * The anchor file, re-read before the store extends over rows other writers
   * appended: their seals must come out of those rows too.
   */
  anchor?: AnchorHeads;
  /** Told once when the ledger stops extending what this writer derived (E_TAMPER). */
  onDiverge?: (err: SealogError) => void;
}

/** One encoded record waiting to be appended. */
export interface PendingEntry {
  /** Canonical JSON bytes: exactly what is hashed and stored. */
  readonly entry: Buffer;
  /** Event time, ms since the epoch (index only, not authenticated). */
  readonly ts: number;
}

/** The ledger head after a commit: enough to sign a checkpoint. */
export interface LedgerHead {
  /** Number of records; the next record gets seq = size. */
  readonly size: number;
  /** RFC 6962 root over all `size` leaves. */
  readonly root: Buffer;
  /** chain[size - 1], or 32 zero bytes when empty. */
  readonly chainHead: Buffer;
  /** The compact range at `size` (stored beside a checkpoint so a writer can resume from it). */
  readonly compact?: Buffer;
}

export interface CommitResult extends LedgerHead {
  /** seq of the first record of the committed batch. */
  readonly firstSeq: number;
}

/** Signs a checkpoint of `head`; returns the note and the time it claims. */
export type SealSigner = (head: LedgerHead) => Promise<{ note: string; createdAt: number }>;

/** A checkpoint stored under a store's checkpoint lock. */
export interface LockedSeal {
  size: number;
  note: string;
  createdAt: number;
  /**
   * False when another writer had just stored a checkpoint of this head that this key
   * signed: ours was not stored again. `note` is always the one this writer signed.
   */
  fresh: boolean;
  /** The head this writer derived and signed. */
  head: LedgerHead;
}

/**
 * Durable, sequenced storage of entries. `append` is atomic: either the whole
 * batch is committed with consecutive seqs and a continuous chain, or nothing
 * is. Implementations: SQLite (embedded default); others follow the same contract.
 */
export interface Store {
  /** How messages name the ledger: a file path, or a URL without its secrets. */
  readonly display?: string;
  append(batch: readonly PendingEntry[]): CommitResult | Promise<CommitResult>;
  /**
   * The head this store derived by hashing entries itself (its last commit or
   * refresh). A store opened with a {@link WriterTrust} that found the ledger
   * rewritten throws E_TAMPER instead: it never offers an underived head for signing.
   */
  head(): LedgerHead | Promise<LedgerHead>;
  /** Stores a signed checkpoint note of `head` with its resume state (only after those records are committed). */
  addCheckpoint(head: LedgerHead, note: string, createdAt: number): void | Promise<void>;
  /**
   * Stores an RFC 3161 token for the checkpoint note whose SHA-256 (of the note
   * as stored, the token's imprint) is `noteSha256`, beside the checkpoints
   * (append-only `checkpoint_timestamps`). `tsaTimeMs` is the token's genTime,
   * an index copy. Stores without it cannot keep tokens (docs/timestamps.md §5).
   * @throws SealogError E_IO (the insert failed), E_CONFIG (the ledger has no
   *   table for tokens and this writer may not add it).
   */
  addTimestamp?(
    size: number,
    noteSha256: Uint8Array,
    token: Uint8Array,
    tsaTimeMs: number,
  ): void | Promise<void>;
  /** Set once a signing store found the ledger no longer extends what it derived (already reported through WriterTrust.onDiverge). */
  readonly divergence?: SealogError | undefined;
  /** Hashes rows other writers committed since, so the next head covers them. */
  refresh?(): void | Promise<void>;
  /**
   * Leaf hashes of rows [from, to), hashed here from the stored entries (a
   * witness checks the consistency proof they make). @throws SealogError
   * E_STATE when a row in the range is missing.
   */
  leafHashes?(from: number, to: number): Buffer[] | Promise<Buffer[]>;
  close(): void | Promise<void>;
  /**
   * Stores shared by writers on several hosts sign under a lock: reads the head, signs
   * it with `sign` and stores the note in one locked step. Resolves undefined when
   * `wait` is false and another writer holds the lock (it is sealing now). Stores
   * without it are sealed with head() then addCheckpoint().
   */
  sealLocked?(sign: SealSigner, options: { wait: boolean }): Promise<LockedSeal | undefined>;
}
