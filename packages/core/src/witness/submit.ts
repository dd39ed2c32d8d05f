// The log side of tlog-witness (issue 16): each new checkpoint goes to every
// configured witness with a consistency proof from the size that witness last
// cosigned; a valid cosignature is merged into the note, which is stored as one
// more checkpoint row (rows are append-only; verify unions the notes of one
// body) and appended to the anchor file. All of it runs beside the writer, on
// promises and timers: a witness that is down, slow or hostile costs retries,
// never a blocked log call or a lost record. The checkpoint stays stored
// unwitnessed until a witness answers, and verify reports it as such.

import { setImmediate as turn } from 'node:timers/promises';
import { appendAnchorAsync } from '../checkpoint/anchor.js';
import { SealogError } from '../errors.js';
import { CompactRange, consistencyProofStreaming } from '../merkle.js';
import { bytesEqual } from '../note/encoding.js';
import { parseVerifierKey, SIG_TYPE_COSIGNATURE, type VerifierKey } from '../note/keys.js';
import type { LedgerHead, Store } from '../store/types.js';
import { addCheckpoint, DEFAULT_WITNESS_TIMEOUT_MS, type WitnessCosigned } from './client.js';
import { mergeCosignatures, verifyWitnessCosignatures } from './quorum.js';

/** A witness as the `checkpoint.witnesses` option names it. */
export interface WitnessTarget {
  /** Its submission prefix: the client posts to `<url>/add-checkpoint`. */
  url: string;
  /** Its verifier key (`name+id+base64(0x04 ‖ pub)`): only lines that verify under it are kept. */
  key: string;
}

export interface WitnessSubmitterOptions {
  witnesses: readonly WitnessTarget[];
  store: Store;
  anchorFile?: string;
  timeoutMs?: number;
  onError: (err: SealogError) => void;
  /** Called with each merged note once it is stored (and anchored). */
  onCosigned?: (witness: string, size: number, note: string) => void;
}

/** First retry after a failure; doubles up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
/** The longest close() waits for a witness still answering the final checkpoint. */
const CLOSE_GRACE_MS = 2000;
/** A witness's size is relearned by rehashing the ledger at most this often per witness. */
const RECOMPUTE_EVERY_MS = 10 * 60_000;
/** Rows hashed per turn when a witness's size must be recomputed (after a restart). */
const RECOMPUTE_PAGE = 8192;

/** What one witness has cosigned for us, as far as we derived it. */
interface Known {
  size: number;
  range: CompactRange;
}

/** The newest seal waiting for one witness (older ones are skipped: the newest proves them). */
interface Pending {
  size: number;
  note: string;
  head: LedgerHead;
}

class WitnessLane {
  readonly key: VerifierKey;
  known: Known | undefined;
  pending: Pending | undefined;
  running = false;
  retryMs = 0;
  timer: NodeJS.Timeout | undefined;
  reported = false;
  /** The seal size whose 409 was already followed: a second 409 for it is a failure. */
  conflictAt = -1;
  /** When this lane last rehashed the ledger to learn a witness's size (at most once per RECOMPUTE_EVERY_MS). */
  recomputedAt = Number.NEGATIVE_INFINITY;
  /** Ends the request in flight when the submitter closes. */
  abort: AbortController | undefined;

  constructor(readonly target: WitnessTarget) {
    this.key = parseVerifierKey(target.key);
    if (this.key.type !== SIG_TYPE_COSIGNATURE) {
      throw new SealogError(
        'E_CONFIG',
        `checkpoint.witnesses: key ${this.key.name} is not a witness key (type 0x04, from \`sealog witness keygen\`)`,
      );
    }
  }
}

/**
 * Submits each checkpoint a writer seals to its witnesses (C2SP tlog-witness),
 * one lane per witness, in the background. {@link submit} never throws and
 * never waits; {@link close} waits for requests in flight (each bounded by
 * `timeoutMs`) and drops what is still pending: it stays unwitnessed.
 */
export class WitnessSubmitter {
  readonly #o: WitnessSubmitterOptions;
  readonly #lanes: WitnessLane[];
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;
  /** Past close's grace: an answer still arriving is not stored. */
  #abandoned = false;

  /** @throws SealogError E_CONFIG / E_KEY for a witness key that is not a 0x04 key. */
  constructor(options: WitnessSubmitterOptions) {
    this.#o = options;
    this.#lanes = options.witnesses.map((w) => new WitnessLane(w));
  }

  /** Queues a stored seal for every witness. */
  submit(seal: Pending): void {
    if (this.#closed) return;
    for (const lane of this.#lanes) {
      if (lane.pending === undefined || lane.pending.size <= seal.size) lane.pending = seal;
      this.#run(lane);
    }
  }

  /**
   * Stops retrying and waits for requests in flight, at most `graceMs`: a host
   * that ends its transport on a deadline (pino's 10 s) must not spend it here.
   */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#closed = true;
    for (const lane of this.#lanes) clearTimeout(lane.timer);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all([...this.#inFlight]), grace]);
    clearTimeout(timer);
    this.#abandoned = true;
    // Past the grace period a request still in flight is abandoned, so it neither keeps
    // the process alive for its own timeout nor stores into a store that is closing.
    for (const lane of this.#lanes) lane.abort?.abort();
  }

  #run(lane: WitnessLane): void {
    if (lane.running || lane.timer !== undefined || this.#closed || lane.pending === undefined) return;
    lane.running = true;
    const p = this.#attempt(lane).finally(() => {
      lane.running = false;
      this.#inFlight.delete(p);
      if (lane.pending !== undefined && !this.#closed) {
        if (lane.retryMs > 0) {
          lane.timer = setTimeout(() => {
            lane.timer = undefined;
            this.#run(lane);
          }, lane.retryMs);
          lane.timer.unref();
        } else this.#run(lane);
      }
    });
    this.#inFlight.add(p);
  }

  /** One request for the lane's pending seal. Never throws. */
  async #attempt(lane: WitnessLane): Promise<void> {
    const seal = lane.pending as Pending;
    lane.abort = new AbortController();
    try {
      const known = lane.known ?? { size: 0, range: new CompactRange() };
      if (known.size > seal.size) {
        lane.pending = undefined; // the witness is past this seal (another writer): wait for the next
        return;
      }
      // From size 0 the proof is empty: nothing is read (a first request after a restart).
      const proof =
        known.size === 0
          ? []
          : await consistencyProofStreaming(known.range, seal.size, this.#pages(known.size, seal.size));
      const answer = await addCheckpoint(
        lane.target.url,
        { oldSize: known.size, proof, note: seal.note },
        { timeoutMs: this.#o.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS, signal: lane.abort.signal },
      );
      if (this.#closed && lane.abort.signal.aborted) return;
      if (answer.ok) {
        await this.#stored(lane, seal, answer);
        return;
      }
      if (answer.kind === 'conflict') {
        await this.#conflict(lane, seal, answer.witnessSize);
        return;
      }
      this.#failed(lane, `${answer.kind}: ${answer.message}`);
    } catch (err) {
      this.#failed(lane, err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * The witness holds another size for us (a restart, another writer): prove from
   * it next time, once per seal. A second 409 for the same seal, a size we cannot
   * have signed, or a rehash asked for again too soon is a failure with backoff:
   * a witness must not be able to keep the writer's thread hashing the ledger.
   */
  async #conflict(lane: WitnessLane, seal: Pending, size: number): Promise<void> {
    if (size > seal.size) {
      lane.pending = undefined; // the witness is past this seal: wait for the next one
      return;
    }
    if (lane.conflictAt === seal.size || size === lane.known?.size) {
      this.#failed(lane, `it answered 409 (size ${size}) again for checkpoint ${seal.size}`);
      return;
    }
    const now = Date.now();
    if (now - lane.recomputedAt < RECOMPUTE_EVERY_MS) {
      this.#failed(
        lane,
        `it answered 409 (size ${size}); its size is learned at most once per ${RECOMPUTE_EVERY_MS / 1000} s`,
      );
      return;
    }
    lane.conflictAt = seal.size;
    lane.recomputedAt = now;
    lane.known = await this.#rangeAt(size);
  }

  /** Keeps only the witness's own valid lines, stores the merged note, anchors it. */
  async #stored(lane: WitnessLane, seal: Pending, answer: WitnessCosigned): Promise<void> {
    // Lines the note already holds are not a cosignature (a "witness" echoing the log's own lines).
    const own = answer.lines.filter((line, i) => {
      const sig = answer.signatures[i];
      return (
        sig !== undefined &&
        sig.name === lane.key.name &&
        bytesEqual(sig.keyId, lane.key.keyId) &&
        !seal.note.includes(line)
      );
    });
    const merged = mergeCosignatures(seal.note, own);
    if (own.length === 0 || !verifyWitnessCosignatures(merged, [lane.key], 1).quorumMet) {
      this.#failed(lane, 'its answer holds no valid cosignature by its key');
      return;
    }
    // An answer within close's grace is stored (that is what the grace is for); past it, the
    // store may be closing.
    if (this.#abandoned) return;
    await this.#o.store.addCheckpoint(seal.head, merged, Date.now());
    if (this.#o.anchorFile !== undefined) await appendAnchorAsync(this.#o.anchorFile, merged);
    lane.known = { size: seal.size, range: rangeOf(seal.head) };
    if (lane.pending === seal) lane.pending = undefined;
    lane.retryMs = 0;
    lane.reported = false;
    this.#o.onCosigned?.(lane.key.name, seal.size, merged);
  }

  #failed(lane: WitnessLane, why: string): void {
    if (this.#closed) return; // abandoned on close: the checkpoint stays unwitnessed, as documented
    lane.retryMs = Math.min(RETRY_MAX_MS, lane.retryMs === 0 ? RETRY_MIN_MS : lane.retryMs * 2);
    if (lane.reported) return; // one report per outage, not one per retry
    lane.reported = true;
    this.#o.onError(
      new SealogError(
        'E_IO',
        `witness ${lane.key.name} (${lane.target.url}) did not cosign checkpoint ${lane.pending?.size ?? '?'}: ${why}; the checkpoint is stored unwitnessed and sent again later`,
      ),
    );
  }

  /** Leaf hashes of [from, to), a page at a time, with a turn of the event loop after each. */
  async *#pages(from: number, to: number): AsyncGenerator<Buffer[]> {
    const read = this.#o.store.leafHashes;
    if (read === undefined)
      throw new SealogError('E_CONFIG', 'this store cannot read leaf hashes for witnesses');
    for (let lo = from; lo < to; lo += RECOMPUTE_PAGE) {
      if (this.#abandoned) throw new SealogError('E_CLOSED', 'closed while reading leaves for a witness');
      yield await read.call(this.#o.store, lo, Math.min(to, lo + RECOMPUTE_PAGE));
      await turn();
    }
  }

  /** The compact range at `size`, hashed here from the stored rows (never read from a state row). */
  async #rangeAt(size: number): Promise<Known> {
    const range = new CompactRange();
    for await (const page of this.#pages(0, size)) for (const leaf of page) range.append(leaf);
    return { size, range };
  }
}

function rangeOf(head: LedgerHead): CompactRange {
  if (head.compact === undefined) throw new SealogError('E_STATE', 'the sealed head has no compact range');
  return CompactRange.decode(head.size, head.compact);
}
