import { SealogError } from '../errors.js';
import type { Ed25519Signer } from '../note/keys.js';
import { asCheckpointKey } from '../signer/file.js';
import type { CheckpointKey } from '../signer/types.js';
import type { Sealer } from '../stages.js';
import type { CommitResult, Store } from '../store/types.js';
import type { TimestampRequester } from '../timestamp/requester.js';
import type { WitnessSubmitter } from '../witness/submit.js';
import { sealHead } from './seal.js';

/** Start a seal once this many records are unsealed (what commits while it runs waits for the next). */
export const DEFAULT_CHECKPOINT_EVERY_RECORDS = 1000;
/** …and no later than this long after the first unsealed commit. */
export const DEFAULT_CHECKPOINT_EVERY_MS = 60_000;
/** When idle, re-sign the same size this often, so "nothing appended until T" stays provable. */
export const DEFAULT_CHECKPOINT_HEARTBEAT_MS = 300_000;

export interface CheckpointerOptions {
  store: Store;
  /** The log's keys: a file key, or a CheckpointKey from any backend (signer/). */
  signer: CheckpointKey | Ed25519Signer;
  /** Origin line; must equal the key name. Defaults to the key name. */
  origin?: string;
  everyRecords?: number;
  everyMs?: number;
  heartbeatMs?: number;
  /** File each signed note is also appended to (see anchor.ts for the format). */
  anchorFile?: string;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  onError?: (err: SealogError) => void;
  /** Called after each checkpoint is stored (and anchored). */
  onCheckpoint?: (size: number, note: string) => void;
  /** Sends each stored checkpoint to witnesses for cosigning (witness/submit.ts). */
  witnesses?: WitnessSubmitter;
  /** Asks a TSA for a token over each note it stores or anchors (timestamp/requester.ts). */
  timestamps?: TimestampRequester;
}

/**
 * Writer-side checkpointer: signs the committed head every `everyRecords`
 * records or `everyMs` after the first unsealed commit (whichever first), as an
 * idle heartbeat every `heartbeatMs`, and on close. Seals are serialized and run
 * off the commit path; each signs `store.head()`, which only ever reports
 * committed records (of any writer), so a checkpoint never covers uncommitted
 * rows. Timers are unref()'d: they never keep a process alive.
 */
export class Checkpointer implements Sealer {
  readonly #o: Required<
    Omit<CheckpointerOptions, 'signer' | 'anchorFile' | 'onCheckpoint' | 'witnesses' | 'timestamps'>
  > &
    Pick<CheckpointerOptions, 'anchorFile' | 'onCheckpoint' | 'witnesses' | 'timestamps'> & {
      signer: CheckpointKey;
    };
  #sealedSize = -1;
  #lastSealAt: number;
  #unsealedSince: number | undefined;
  #latestSize = -1;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #queued = false;
  /** After a failed seal, no retry before this time (no hot loop on a full disk). */
  #retryAt = 0;
  /** A store that refuses to sign (E_TAMPER) refuses with the same finding every time: report it once. */
  #refusal: unknown;

  /** @throws SealogError E_KEY if the origin differs from the key name, E_CONFIG for bad intervals. */
  constructor(options: CheckpointerOptions) {
    const signer = asCheckpointKey(options.signer);
    const origin = options.origin ?? signer.name;
    if (origin !== signer.name) {
      throw new SealogError(
        'E_KEY',
        `checkpoint.origin ${JSON.stringify(origin)} differs from the key name ${JSON.stringify(signer.name)}; the origin line must be the key name`,
      );
    }
    this.#o = {
      store: options.store,
      signer,
      origin,
      everyRecords: positive(
        'checkpoint.everyRecords',
        options.everyRecords,
        DEFAULT_CHECKPOINT_EVERY_RECORDS,
      ),
      everyMs: positive('checkpoint.everyMs', options.everyMs, DEFAULT_CHECKPOINT_EVERY_MS, MAX_TIMER_MS),
      heartbeatMs: positive(
        'checkpoint.heartbeatMs',
        options.heartbeatMs,
        DEFAULT_CHECKPOINT_HEARTBEAT_MS,
        MAX_TIMER_MS,
      ),
      anchorFile: options.anchorFile,
      onCheckpoint: options.onCheckpoint,
      witnesses: options.witnesses,
      timestamps: options.timestamps,
      now: options.now ?? Date.now,
      onError: options.onError ?? ((err) => process.stderr.write(`sealog: ${err.code}: ${err.message}\n`)),
    };
    this.#lastSealAt = this.#o.now();
    this.#arm();
  }

  /** Called after each commit; never throws, never blocks on signing or fsync. */
  onCommit(result: CommitResult): void {
    if (this.#closed) return;
    this.#latestSize = Math.max(this.#latestSize, result.size);
    this.#unsealedSince ??= this.#o.now();
    const base = Math.max(this.#sealedSize, 0);
    if (this.#latestSize - base >= this.#o.everyRecords && this.#o.now() >= this.#retryAt) {
      this.#enqueue();
    } else {
      this.#arm();
    }
  }

  /** Waits for pending seals, then seals the final committed head. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return this.#queue;
    this.#closed = true;
    this.#clear();
    this.#queue = this.#queue
      .then(() => this.#seal())
      .then(() => Promise.all([this.#o.witnesses?.close(), this.#o.timestamps?.close()]))
      .then(() => undefined);
    return this.#queue;
  }

  /** Seals as soon as the running seal (if any) is done: a segment was closed and awaits its final checkpoint. */
  sealSoon(): void {
    if (!this.#closed) this.#enqueue();
  }

  /** Pending seals finished; for tests and the CLI. */
  idle(): Promise<void> {
    return this.#queue;
  }

  #enqueue(): void {
    this.#clear();
    if (this.#queued) return; // the queued seal reads the head when it runs, so it covers this too
    this.#queued = true;
    this.#queue = this.#queue
      .then(() => this.#seal())
      .then(() => {
        if (!this.#closed) this.#arm();
      });
  }

  async #seal(): Promise<void> {
    this.#queued = false;
    try {
      // Periodic seals skip when another writer of a shared store is sealing; the final one waits.
      const opts: Parameters<typeof sealHead>[2] = {
        origin: this.#o.origin,
        nowMs: this.#o.now(),
        wait: this.#closed,
      };
      if (this.#o.anchorFile !== undefined) opts.anchorFile = this.#o.anchorFile;
      const seal = await sealHead(this.#o.store, this.#o.signer, opts);
      if (!seal) {
        this.#retryAt = this.#o.now() + LOCK_BUSY_RETRY_MS;
        return;
      }
      const { size, note, createdAtMs } = seal;
      this.#o.witnesses?.submit({ size, note, head: seal.head });
      // A note neither stored nor anchored (another writer stored this head) exists nowhere to stamp.
      if (seal.stored || this.#o.anchorFile !== undefined) this.#o.timestamps?.submit({ size, note });
      this.#sealedSize = size;
      this.#lastSealAt = createdAtMs;
      if (this.#latestSize <= size) this.#unsealedSince = undefined;
      this.#o.onCheckpoint?.(size, note);
    } catch (err) {
      this.#retryAt = this.#o.now() + Math.min(this.#o.everyMs, RETRY_AFTER_FAILURE_MS);
      // The store told onError when it diverged: the seal it now refuses is the same finding.
      if (err === this.#refusal || err === this.#o.store.divergence) return;
      if (err instanceof SealogError && err.code === 'E_TAMPER') this.#refusal = err;
      this.#o.onError(
        err instanceof SealogError
          ? err
          : new SealogError('E_IO', 'signing a checkpoint failed', { cause: err }),
      );
    }
  }

  /** One timer: the count/time deadline while records are unsealed, else the heartbeat. */
  #arm(): void {
    this.#clear();
    if (this.#closed) return;
    const due =
      this.#unsealedSince !== undefined
        ? this.#unsealedSince + this.#o.everyMs
        : this.#lastSealAt + this.#o.heartbeatMs;
    const at = Math.max(due, this.#retryAt);
    this.#timer = setTimeout(() => this.#enqueue(), Math.max(0, at - this.#o.now()));
    this.#timer.unref();
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const RETRY_AFTER_FAILURE_MS = 5000;
/** Another writer held the checkpoint lock: look again this much later. */
const LOCK_BUSY_RETRY_MS = 200;

// setTimeout silently turns delays above 2^31-1 ms (~24.8 days) into 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function positive(name: string, v: unknown, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max) {
    throw new SealogError(
      'E_CONFIG',
      `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}
