import {
  isSealogError,
  type LedgerStats,
  openSink,
  SealogError,
  type Sink,
  validateSinkOptions,
} from '@sealog/core';
import TransportStream from 'winston-transport';
import { recordFromInfo } from './record.js';

/** winston's own transport options, handled by winston-transport. Everything else goes to the sink. */
const WINSTON_KEYS = ['level', 'silent', 'handleExceptions', 'handleRejections', 'format'] as const;

/** Options: @sealog/core sink options (path, durability, batching, privacy, ...) plus winston's. */
export interface SealogTransportOptions extends TransportStream.TransportStreamOptions {
  /** Ledger file path. Required. */
  path: string;
  [sinkOption: string]: unknown;
}

const STATS_ZERO: LedgerStats = { committed: 0, pending: 0, refused: 0, failedCommits: 0 };

/**
 * A winston transport that seals every record into a sealog ledger.
 *
 * `log` queues the record and calls back at once (batching keeps disk I/O off
 * the hot path); `logger.end()` commits everything before the logger's
 * `finish`. Sink failures are reported as a `warn` event and one stderr line
 * with the code (never `error`: an error event unpipes a winston transport).
 *
 * @throws SealogError E_CONFIG synchronously for invalid options.
 */
export class SealogTransport extends TransportStream {
  readonly #opening: Promise<Sink | undefined>;
  #sink: Sink | undefined;
  #openFailed: SealogError | undefined;
  #buffer: Record<string, unknown>[] = [];
  #refusedBeforeOpen = 0;
  // winston's exception/rejection handlers call process.exit() once transports
  // emit `logged`; the SQLite commit is synchronous, so the exit hook saves the open batch.
  readonly #onExit = () => this.#commitOnExit();

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
    validateSinkOptions(sinkOpts);
    super(winstonOpts);
    process.on('exit', this.#onExit);
    this.#opening = openSink(sinkOpts, { onError: (err) => this.#report(err) }).then(
      (sink) => {
        this.#sink = sink;
        for (const r of this.#buffer) sink.write(r);
        this.#buffer = [];
        return sink;
      },
      (err: unknown) => {
        this.#openFailed = asSealogError(err);
        this.#refusedBeforeOpen += this.#buffer.length;
        this.#buffer = [];
        this.#fatal(this.#openFailed);
        return undefined;
      },
    );
  }

  /** Counters from the ledger; `refused` includes records lost because the ledger never opened. */
  get stats(): LedgerStats {
    const s = this.#sink?.stats ?? { ...STATS_ZERO, pending: this.#buffer.length };
    return { ...s, refused: s.refused + this.#refusedBeforeOpen };
  }

  /** Called by winston with the shared `info`; it is read, never written. */
  override log(info: unknown, callback: () => void): void {
    const record = recordFromInfo(info);
    if (this.#sink !== undefined) this.#write(this.#sink, record);
    else if (this.#openFailed === undefined) this.#buffer.push(record);
    else this.#refusedBeforeOpen++;
    setImmediate(() => this.emit('logged', info));
    callback();
  }

  /** Resolves once every record logged so far is committed. Rejects with E_IO if the ledger never opened. */
  async flush(): Promise<void> {
    const sink = await this.#opening;
    if (sink === undefined) throw this.#openFailed;
    await sink.flush();
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
      .then(() => this.#opening)
      .then((sink) => sink?.close())
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
    // With the synchronous SQLite store, flush() commits every queued batch before it returns.
    this.#sink?.flush().catch(() => undefined);
    const lost = this.#buffer.length;
    if (lost > 0)
      this.#report(
        new SealogError('E_IO', `${lost} record(s) lost: the process exited before the ledger opened`),
      );
  }

  #write(sink: Sink, record: Record<string, unknown>): void {
    try {
      sink.write(record);
    } catch (err) {
      this.#refusedBeforeOpen++;
      this.#report(asSealogError(err));
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
