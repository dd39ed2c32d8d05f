// The writer side of RFC 3161 (issue 16, docs/timestamps.md §5): each
// checkpoint note the writer seals is sent to a TSA; the token that comes back
// (imprint and nonce checked, parsed, and verified when trust anchors are
// configured) is stored beside the checkpoints and appended to the anchor's
// token file. Like the witness submitter it runs beside the writer, on
// promises and timers: a TSA that is down, slow or wrong costs retries and a
// report, never a blocked log call or a lost record. One lane, in seal order.

import { createHash } from 'node:crypto';
import { appendAnchorTimestamp } from '../checkpoint/anchor-timestamps.js';
import { SealogError } from '../errors.js';
import { SegmentedStore } from '../segments/store.js';
import { SegmentTokens, type SegmentTokenTarget } from '../segments/timestamps.js';
import type { Store } from '../store/types.js';
import { requestTimestamp } from './client.js';
import { verifyTimestampToken } from './verify.js';

/** How the writer treats a checkpoint without a token (see docs/timestamps.md §5). */
export type TimestampMode = 'best-effort' | 'required';

export interface TimestampRequesterOptions {
  /** TSA URLs, in order of preference: the first that answers is used. */
  urls: readonly string[];
  mode: TimestampMode;
  /** TSA policy OID to ask for; the token must carry it. */
  policy?: string;
  /** Per-request deadline (each URL). Default DEFAULT_TIMESTAMP_TIMEOUT_MS. */
  timeoutMs?: number;
  /** PEM trust anchors: when given, a token must verify under them before it is stored. */
  trustAnchors?: string;
  store: Store;
  /**
   * The log's verifier key. Needed with a segmented store (segments/timestamps.ts):
   * the final checkpoints of closed segments are read back, and stamped only when it signed them.
   */
  ownKey?: string;
  /** The anchor file whose token file (`.timestamps`) gets each token too; not with a segmented store. */
  anchorFile?: string;
  onError: (err: SealogError) => void;
  /** `required`: a checkpoint still without a token this long after its seal is reported. Default 60 s. */
  requiredWithinMs?: number;
  /** Called with each token once it is stored (and in the anchor's token file). */
  onTimestamped?: (size: number, token: Uint8Array) => void;
}

/** Default per-request deadline. */
export const DEFAULT_TIMESTAMP_TIMEOUT_MS = 10_000;
/** `required`: how long a checkpoint may wait for its token before it is reported. */
export const DEFAULT_TIMESTAMP_REQUIRED_WITHIN_MS = 60_000;
/** Checkpoints waiting for a token at most; older ones are given up (and reported under `required`). */
export const MAX_PENDING_TIMESTAMPS = 64;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
/** The longest close() waits for a request still in flight (pino ends a transport within 10 s). */
const CLOSE_GRACE_MS = 2000;

interface Pending {
  size: number;
  /** The note as stored: the imprint input. */
  bytes: Buffer;
  sha256: Uint8Array;
  sealedAt: number;
  /** Set once a token was obtained (a failed store or anchor append does not ask again). */
  token?: Uint8Array;
  tsaTimeMs?: number;
  inStore?: boolean;
  /** `required`: reported as untimestamped already. */
  reported?: boolean;
  /** Segmented store: the segment that stores the note, and the note's size there. */
  target?: SegmentTokenTarget;
}

/**
 * Requests an RFC 3161 token for each checkpoint a writer seals and stores it.
 * {@link submit} never throws and never waits; {@link close} waits for the
 * request in flight at most `graceMs` and gives up the rest: those checkpoints
 * stay stored and anchored, untimestamped.
 */
export class TimestampRequester {
  readonly #o: TimestampRequesterOptions;
  readonly #timeoutMs: number;
  readonly #within: number;
  readonly #pending: Pending[] = [];
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = 0;
  /** One report per outage: set by the first failure, cleared by the next success. */
  #outage = false;
  #closed = false;
  /** Failed attempts so far (close stops at the first new one). */
  #failures = 0;
  /** Past close's grace: nothing more is stored or reported. */
  #abandoned = false;
  /** A segmented store: each token goes to the segment that stores its note. */
  readonly #segments: SegmentTokens | undefined;

  /** @throws SealogError E_CONFIG when the store cannot keep tokens or no URL is given. */
  constructor(options: TimestampRequesterOptions) {
    if (options.store instanceof SegmentedStore && options.ownKey !== undefined) {
      this.#segments = new SegmentTokens(options.store, options.ownKey);
    } else if (typeof options.store.addTimestamp !== 'function') {
      throw new SealogError('E_CONFIG', 'checkpoint.timestamp: this store cannot keep timestamp tokens');
    }
    if (options.urls.length === 0) throw new SealogError('E_CONFIG', 'checkpoint.timestamp.urls is empty');
    this.#o = options;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMESTAMP_TIMEOUT_MS;
    this.#within = options.requiredWithinMs ?? DEFAULT_TIMESTAMP_REQUIRED_WITHIN_MS;
  }

  /** Queues a checkpoint note exactly as it was stored/anchored. */
  submit(seal: { size: number; note: string }): void {
    if (this.#closed) return;
    this.#pending.push(pending(seal.size, seal.note));
    while (this.#pending.length > MAX_PENDING_TIMESTAMPS)
      this.#untimestamped(this.#pending.shift()!, 'given up');
    this.#run();
  }

  /**
   * Stops retrying, and for at most `graceMs` goes on with what is queued (the
   * final checkpoint is sealed just before) until one attempt fails; then gives
   * up the rest: those checkpoints stay stored and anchored, untimestamped.
   */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        over = true;
        resolve();
      }, graceMs);
    });
    const drain = async () => {
      await this.#running;
      const failures = this.#failures;
      while (!over && this.#pending.length > 0 && this.#failures === failures) await this.#attempt();
    };
    await Promise.race([drain(), grace]);
    clearTimeout(timer);
    for (const p of this.#pending.splice(0)) this.#untimestamped(p, 'left at close');
    this.#abandoned = true;
  }

  #run(): void {
    if (this.#running || this.#timer !== undefined || this.#closed || this.#pending.length === 0) return;
    this.#running = this.#attempt().finally(() => {
      this.#running = undefined;
      if (this.#closed || this.#pending.length === 0) return;
      if (this.#retryMs === 0) return this.#run();
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#run();
      }, this.#retryMs);
      this.#timer.unref();
    });
  }

  /** Gets, stores and anchors the token of the oldest pending checkpoint. Never throws. */
  async #attempt(): Promise<void> {
    const p = this.#pending[0]!;
    if (this.#segments !== undefined && p.target === undefined && !this.#locate(p)) return;
    try {
      if (p.token === undefined) {
        const got = await this.#request(p);
        if (!got) return;
      }
      if (this.#abandoned) return;
      if (!p.inStore) {
        if (p.target !== undefined) this.#segments!.put(p.target, p.sha256, p.token!, p.tsaTimeMs!);
        else await this.#o.store.addTimestamp!(p.size, p.sha256, p.token!, p.tsaTimeMs!);
        p.inStore = true;
      }
      // A segmented store keeps tokens in its segments only (each segment's anchor is its own file).
      if (this.#o.anchorFile !== undefined && p.target === undefined) {
        await appendAnchorTimestamp(this.#o.anchorFile, {
          size: p.size,
          noteSha256: p.sha256,
          token: p.token!,
        });
      }
      if (this.#pending[0] === p) this.#pending.shift();
      this.#retryMs = 0;
      this.#outage = false;
      this.#o.onTimestamped?.(p.size, p.token!);
    } catch (err) {
      const e = err instanceof SealogError ? err : new SealogError('E_IO', String(err), { cause: err });
      this.#failed(p, `the token could not be kept: ${e.message}`);
    }
  }

  /**
   * Segmented store: finds the segment that stores the note, and queues right
   * after it the final checkpoints of segments closed since, not yet stamped.
   * A note no segment holds is dropped with a report.
   */
  #locate(p: Pending): boolean {
    try {
      const { target, finals } = this.#segments!.locate(p.bytes);
      p.target = target;
      const more = finals.map((f) => ({ ...pending(f.target.size, f.note), target: f.target }));
      this.#pending.splice(1, 0, ...more);
      return true;
    } catch (err) {
      if (this.#pending[0] === p) this.#pending.shift();
      this.#o.onError(
        new SealogError(
          'E_IO',
          `no RFC 3161 timestamp is kept for checkpoint ${p.size}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
      return false;
    }
  }

  /** Tries each URL in order until one grants a token that checks. False when none did (reported). */
  async #request(p: Pending): Promise<boolean> {
    const why: string[] = [];
    for (const url of this.#o.urls) {
      try {
        const got = await requestTimestamp(url, p.bytes, {
          timeoutMs: this.#timeoutMs,
          ...(this.#o.policy !== undefined ? { policy: this.#o.policy } : {}),
        });
        if (this.#o.trustAnchors !== undefined) {
          verifyTimestampToken(got.token, p.bytes, {
            trustAnchors: this.#o.trustAnchors,
            ...(this.#o.policy !== undefined ? { policy: this.#o.policy } : {}),
          });
        }
        p.token = got.token;
        p.tsaTimeMs = got.genTime.getTime();
        return true;
      } catch (err) {
        why.push(`${originOf(url)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.#failed(p, why.join('; '));
    return false;
  }

  #failed(p: Pending, why: string): void {
    this.#failures++;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs === 0 ? RETRY_MIN_MS : this.#retryMs * 2);
    if (this.#abandoned) return;
    if (!this.#outage) {
      this.#outage = true; // one report per outage, not one per retry
      this.#o.onError(
        new SealogError(
          'E_IO',
          `no RFC 3161 timestamp for ${named(p)}: ${why}; the checkpoint is stored and anchored untimestamped, and asked for again later`,
        ),
      );
    }
    if (this.#o.mode !== 'required') return;
    const now = Date.now();
    for (const q of this.#pending) if (now - q.sealedAt >= this.#within) this.#untimestamped(q, 'overdue');
  }

  /** `required`: each checkpoint that ends up (or stays too long) without a token is reported once. */
  #untimestamped(p: Pending, how: 'overdue' | 'given up' | 'left at close'): void {
    if (this.#o.mode !== 'required' || p.reported || this.#abandoned) return;
    p.reported = true;
    const when =
      how === 'overdue'
        ? `still has no timestamp token ${Math.round((Date.now() - p.sealedAt) / 1000)} s after it was sealed`
        : how === 'given up'
          ? `was given up without a timestamp token (more than ${MAX_PENDING_TIMESTAMPS} checkpoints waiting)`
          : 'has no timestamp token: the writer closed before a TSA answered';
    this.#o.onError(
      new SealogError(
        'E_IO',
        `${named(p)} ${when}; checkpoint.timestamp.mode is "required": \`sealog verify --tsa required\` will not count it as timestamped`,
      ),
    );
  }
}

function pending(size: number, note: string): Pending {
  const bytes = Buffer.from(note, 'utf8');
  return {
    size,
    bytes,
    sha256: new Uint8Array(createHash('sha256').update(bytes).digest()),
    sealedAt: Date.now(),
  };
}

/** How messages name a checkpoint: by segment and its size there in a segmented ledger. */
function named(p: Pending): string {
  return p.target ? `segment ${p.target.index}'s checkpoint ${p.target.size}` : `checkpoint ${p.size}`;
}

/** The URL's origin, for messages (never its path or credentials). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'TSA';
  }
}
