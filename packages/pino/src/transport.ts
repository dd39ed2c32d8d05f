import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import {
  DEFAULT_MAX_ENTRY_BYTES,
  Intake,
  isSealogError,
  openSink,
  openTransportPool,
  type PreparePool,
  REFUSE_LINE,
  SealogError,
  type Sink,
  type SinkOptions,
  validateSinkOptions,
} from '@sealog/core';
import { peekLine, pinoDecoder } from './decode.js';
import { report } from './diagnostics.js';
import type { PinoConfig } from './normalize.js';

/** Function-valued settings: they cannot cross the worker boundary, so they come from a wrapper module. */
export interface PinoTransportHooks {
  /**
   * Maps each record (already in the stored shape) before the privacy
   * pipeline and the ledger see it. Must return a plain object. If it throws,
   * the record is stored reduced to `time`, `level`, `levelLabel` and
   * `sealogMapFailed: true`, and an E_CONFIG diagnostic is reported: the raw
   * record is never stored unmapped, since the map may be what hides a field.
   */
  map?: (record: Record<string, unknown>) => Record<string, unknown>;
}

/** The stream handed back to pino's worker: it takes pino's output as text, plus a `flush`. */
export type SealogPinoStream = Writable & { flush(): Promise<void> };

/**
 * Opens the ledger and returns the transport stream. This is what the default
 * export calls with the plain-JSON `options` from `pino.transport()`; call it
 * from a wrapper module to add {@link PinoTransportHooks}.
 *
 * The stream never holds pino's worker back under the default `overload:
 * 'shed'`: every chunk is taken at once, split into lines and queued in the
 * intake (core intake.ts), which sheds (and seals a count of) what does not
 * fit. With `overload: 'block'` it stops taking chunks while the queue is
 * full, which slows the app only when pino runs the transport with `sync: true`.
 *
 * Throws (rejects) SealogError E_CONFIG for invalid options and E_IO /
 * E_NOT_LEDGER / E_STATE when the ledger cannot be opened; the message starts
 * with the code because pino relays only the message text to the app's thread.
 */
export async function createTransport(
  options: unknown,
  hooks: PinoTransportHooks = {},
): Promise<SealogPinoStream> {
  if (hooks.map !== undefined && typeof hooks.map !== 'function') {
    throw new SealogError('E_CONFIG', 'sealog E_CONFIG: hooks.map must be a function');
  }
  let sink: Sink | undefined;
  let validated: SinkOptions;
  try {
    const plain = withoutPinoKeys(options);
    validated = validateSinkOptions(plain);
    sink = await openSink(plain, { onError: (err) => report(err, sink?.stats) });
  } catch (err) {
    throw startupError(err);
  }
  const opened = sink;
  // pino sends its levels and messageKey once, before the first line (what
  // pino-abstract-transport's expectPinoConfig did); the decoder reads them then.
  const config = await PINO_CONFIG;
  const map = hooks.map;
  // With privacy configured, a line that is not a JSON record is stored as its length only.
  const decoderConfig = { ...config, withholdUnparsed: validated.privacy !== undefined };
  const decode = pinoDecoder(decoderConfig);
  let pool: PreparePool | undefined;
  try {
    // A map hook is a function: it cannot cross to a pool worker, so records are prepared here.
    pool = await openTransportPool(
      map === undefined ? validated.workers : 0,
      { module: new URL('./decode.js', import.meta.url).href, name: 'pinoDecoder', config: decoderConfig },
      validated,
      (err) => report(err, opened.stats),
    );
  } catch (err) {
    await opened.close().catch(() => {});
    throw startupError(err);
  }
  const intake = new Intake(opened, {
    policy: validated.overload ?? 'shed',
    decode: (line) => {
      const record = decode(line, Date.now());
      // pinoDecoder keeps every line (never REFUSE_LINE); the check keeps the types honest.
      return record === REFUSE_LINE ? { time: Date.now(), unparsedLine: '[refused]' } : applyMap(record, map);
    },
    peek: peekLine,
    onError: (err) => report(err, opened.stats),
    ...(pool ? { pool } : {}),
  });

  // A line split across chunks. A chunk without a newline is appended (a rope: no copy, no
  // rescan), so a long line costs its length once; past maxLine it is counted, not held.
  let tail = '';
  let skipping = false; // the rest of an over-long line, up to its newline, is skipped
  const maxLine = MAX_LINE_ENTRIES * (validated.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES);
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let nl = s.indexOf('\n');
      if (nl === -1) {
        if (!skipping) tail += s;
        if (tail.length > maxLine) {
          intake.refuse(tail);
          tail = '';
          skipping = true;
        }
        cb();
        return;
      }
      let ok = true;
      let start = 0;
      if (skipping) {
        skipping = false;
        start = nl + 1;
        nl = s.indexOf('\n', start);
      }
      // Every line is kept, empty ones too (as pino-abstract-transport's split2 did); `\r\n` ends a line.
      for (; nl !== -1; nl = s.indexOf('\n', start)) {
        let line = s.slice(start, nl);
        if (tail.length > 0) {
          line = tail + line;
          tail = '';
        }
        ok = intake.push(line.endsWith('\r') ? line.slice(0, -1) : line) && ok;
        start = nl + 1;
      }
      tail = s.slice(start);
      if (ok) cb();
      else intake.room().then(() => cb());
    },
    final(cb) {
      if (tail.length > 0) intake.push(tail);
      tail = '';
      close().then(() => cb());
    },
  }) as SealogPinoStream;

  const close = async () => {
    try {
      await intake.close(CLOSE_DRAIN_MS);
    } catch (err) {
      // Rejecting here would become an 'error' in the app's thread (a crash if unhandled);
      // the diagnostic carries the count instead.
      report(asSealogError(err), opened.stats);
    }
    if (opened.stats.refused > 0) {
      report(
        new SealogError(
          'E_IO',
          `${opened.stats.refused} record(s) in all were not stored (overload or a failing store); sealed gap records count them`,
        ),
        opened.stats,
      );
    }
  };

  // thread-stream's worker calls destination.flush() for `logger.flush(cb)`;
  // it has handed us every byte, and queued lines are prepared and committed.
  stream.flush = () => intake.flush();
  return stream;
}

/**
 * How long close may prepare what is queued before counting the rest in a gap
 * record: pino's thread-stream destroys a transport that has not ended 10 s
 * after `end()`, losing everything it held, uncounted.
 */
const CLOSE_DRAIN_MS = 6000;
/** A line longer than this many maxEntryBytes is counted in a gap record, not held: it could not be stored whole anyway. */
const MAX_LINE_ENTRIES = 8;

/**
 * The config pino posts to the worker, once, when this pino announces it
 * (pino ≥ 9.x). Listened for when this module loads, not when a transport
 * opens: with several `targets` in one worker, pino posts the message once,
 * and a target that opens later (a wrapper, a slow PostgreSQL) would wait for
 * it for ever. Every transport of this worker shares the one answer.
 */
const PINO_CONFIG: Promise<PinoConfig> = (() => {
  const data = workerData as { workerData?: { pinoWillSendConfig?: unknown } } | undefined;
  if (parentPort === null || data?.workerData?.pinoWillSendConfig !== true) return Promise.resolve({});
  const port = parentPort;
  return new Promise((resolve) => {
    const onMessage = (m: { code?: unknown; config?: PinoConfig }) => {
      if (m?.code !== 'PINO_CONFIG') return;
      port.off('message', onMessage);
      resolve({ levels: m.config?.levels, messageKey: m.config?.messageKey });
    };
    port.on('message', onMessage);
  });
})();

function applyMap(record: Record<string, unknown>, map: PinoTransportHooks['map']): Record<string, unknown> {
  if (map === undefined) return record;
  try {
    return map(record);
  } catch (err) {
    report(new SealogError('E_CONFIG', 'the map hook threw; the record was stored reduced', { cause: err }));
    return { time: record.time, level: record.level, levelLabel: record.levelLabel, sealogMapFailed: true };
  }
}

/** Keys pino and thread-stream add to a single target's options; they are not the user's. */
const PINO_KEYS = new Set(['$context', 'pinoWillSendConfig']);

function withoutPinoKeys(options: unknown): unknown {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (!PINO_KEYS.has(k)) out[k] = v;
  return out;
}

function asSealogError(err: unknown): SealogError {
  return isSealogError(err) ? err : new SealogError('E_IO', String(err), { cause: err });
}

function startupError(err: unknown): SealogError {
  const e = asSealogError(err);
  return new SealogError(e.code, `sealog ${e.code}: ${e.message}`, { cause: e });
}
