import {
  closest,
  DEFAULT_MAX_QUEUE_BYTES,
  isSealogError,
  type LedgerStats,
  SealogError,
  SINK_OPTION_KEYS,
  validateSinkOptions,
} from '@sealog/core';
import TransportStream from 'winston-transport';
import { type CopyState, recordFromInfo } from './record.js';
import { LedgerThread } from './thread.js';
import { encodeLine } from './wire.js';

/** winston's own transport options, handled by winston-transport. Everything else goes to the sink. */
const WINSTON_KEYS = ['level', 'silent', 'handleExceptions', 'handleRejections', 'format'] as const;
/** Longest the process `exit` hook blocks waiting for the worker to commit (docs/transports.md). */
export const EXIT_FLUSH_TIMEOUT_MS = 10_000;

/** Options: @sealog/core sink options (path, durability, batching, privacy, ...) plus winston's. */
export interface SealogTransportOptions extends TransportStream.TransportStreamOptions {
  /** Ledger file path, or a postgres:// URL (docs/postgres.md). Required. */
  path: string;
  [sinkOption: string]: unknown;
}

/**
 * A mistyped winston option (`levl`, `handleExeptions`) would reach the sink, whose
 * message only knows sealog's keys: name the winston option it resembles instead.
 */
function unknownWinstonKey(sinkOpts: Record<string, unknown>): void {
  for (const k of Object.keys(sinkOpts)) {
    if (SINK_OPTION_KEYS.includes(k) || closest(k, SINK_OPTION_KEYS) !== undefined) continue;
    const guess = closest(k, WINSTON_KEYS);
    if (guess === undefined) continue;
    throw new SealogError(
      'E_CONFIG',
      `unknown option "${k}"; did you mean "${guess}"? (a winston transport option; known: ${[...WINSTON_KEYS, ...SINK_OPTION_KEYS].join(', ')})`,
    );
  }
}

/**
 * A winston transport that seals every record into a sealog ledger.
 *
 * The ledger (privacy pipeline, encoding, hashing, SQLite) runs in a worker
 * thread. `log` copies the record, queues it as one JSON line and calls back at
 * once; `logged` means "accepted", not "committed". `logger.end()` commits
 * everything and writes the final checkpoint before the logger's `finish`; at
 * process exit the open batch is committed synchronously (bounded by
 * EXIT_FLUSH_TIMEOUT_MS). Sink failures are reported as a `warn` event and one
 * stderr line with the code (never `error`: an error event unpipes a winston
 * transport), except a ledger that cannot open at all.
 *
 * @throws SealogError E_CONFIG synchronously for invalid options.
 */
export class SealogTransport extends TransportStream {
  readonly #thread: LedgerThread;
  readonly #maxDepth: number | undefined;
  #openFailed: SealogError | undefined;
  // winston's exception/rejection handlers call process.exit() once transports emit
  // `logged`; the exit hook blocks until the worker has committed the open batch.
  readonly #onExit = () => this.#commitOnExit();
  #logged: unknown[] = [];
  readonly #emitLogged = () => {
    const infos = this.#logged;
    this.#logged = [];
    for (const info of infos) this.emit('logged', info);
  };

  constructor(options: SealogTransportOptions) {
    const winstonOpts: TransportStream.TransportStreamOptions = {};
    const sinkOpts: Record<string, unknown> = {};
    if (typeof options !== 'object' || options === null) {
      throw new SealogError(
        'E_CONFIG',
        'new SealogTransport(options) needs an object like { path: "./audit.db" }',
      );
    }
    for (const [k, v] of Object.entries(options)) {
      if ((WINSTON_KEYS as readonly string[]).includes(k)) Object.assign(winstonOpts, { [k]: v });
      else sinkOpts[k] = v;
    }
    unknownWinstonKey(sinkOpts);
    const sink = validateSinkOptions(sinkOpts);
    super(winstonOpts);
    this.#maxDepth = typeof sinkOpts.maxDepth === 'number' ? sinkOpts.maxDepth : undefined;
    this.#thread = new LedgerThread(
      sinkOpts,
      {
        onWarn: (err) => this.#report(err),
        onFatal: (err) => {
          this.#openFailed ??= err;
          this.#fatal(err);
        },
      },
      { policy: sink.overload ?? 'shed', maxQueueBytes: sink.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES },
    );
    process.on('exit', this.#onExit);
  }

  /** Counters from the ledger worker; `refused` includes records lost because the ledger never opened. */
  get stats(): LedgerStats {
    return this.#thread.stats;
  }

  /** Called by winston with the shared `info`; it is read, never written. */
  override log(info: unknown, callback: () => void): void {
    const state: CopyState = { plain: true };
    const record = recordFromInfo(info, state);
    this.#thread.write(encodeLine(record, state.plain, this.#maxDepth), record);
    // One immediate per turn for all `logged` events (one per record cost ~1 µs each on the app's thread).
    if (this.#logged.push(info) === 1) setImmediate(this.#emitLogged);
    callback();
  }

  /** Resolves once every record logged so far is committed. Rejects with E_IO if the ledger never opened. */
  flush(): Promise<void> {
    return this.#thread.flush();
  }

  /** winston-transport calls this when the logger unpipes it (logger.close(), logger.remove()). */
  override close(): void {
    // After a failed open, pipe's error handling unpipes us and winston re-adds us (winston#1364):
    // stay writable so later records are counted as refused instead of raising write-after-end.
    if (this.#openFailed === undefined && !this.writableEnded) this.end();
  }

  /** Runs on end(), before `finish`: winston's logger waits for that `finish`, so its own `finish` means committed. */
  override _final(callback: (err?: Error | null) => void): void {
    // One macrotask first: the `logged` events queued by setImmediate in log() fire before `finish`.
    new Promise<void>((res) => setImmediate(res))
      .then(() => this.#thread.close())
      .catch((err: unknown) => this.#report(asSealogError(err)))
      .finally(() => {
        process.off('exit', this.#onExit);
        const refused = this.stats.refused;
        if (refused > 0) this.#report(new SealogError('E_IO', `${refused} record(s) could not be written`));
        this.emit('closed');
        callback();
      });
  }

  #commitOnExit(): void {
    if (this.#thread.syncFlush(EXIT_FLUSH_TIMEOUT_MS)) {
      const { refused } = this.stats;
      if (refused > 0) this.#report(new SealogError('E_IO', `${refused} record(s) could not be written`));
    } else {
      const { pending } = this.stats;
      this.#report(
        new SealogError(
          'E_IO',
          `the process exited while ${pending} record(s) were still being committed (waited ${EXIT_FLUSH_TIMEOUT_MS} ms)`,
        ),
      );
    }
  }

  #report(err: SealogError): void {
    process.stderr.write(`sealog: ${err.code}: ${err.message}\n`);
    this.emit('warn', err);
  }

  /** The ledger cannot be opened: the transport is dead, so `error` is right, but only if someone listens. */
  #fatal(err: SealogError): void {
    this.#report(err);
    const parent = (this as { parent?: { listenerCount(e: string): number } | null }).parent;
    if ((parent?.listenerCount('error') ?? 0) > 0 || this.listenerCount('error') > ownErrorListeners(this)) {
      this.emit('error', err);
    }
  }
}

/** Error listeners winston and stream.pipe attach themselves; an app listener is anything beyond these. */
function ownErrorListeners(t: TransportStream): number {
  const internal = (t as unknown as Record<string, unknown>).__winstonerror;
  return t.listeners('error').filter((l) => l === internal || l.name === 'onerror').length;
}

function asSealogError(err: unknown): SealogError {
  return isSealogError(err) ? err : new SealogError('E_IO', String(err), { cause: err });
}
