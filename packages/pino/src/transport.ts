import type { Transform } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { isSealogError, openSink, SealogError, type Sink } from '@sealog/core';
import build from 'pino-abstract-transport';
import { report } from './diagnostics.js';
import { normalizeRecord, type PinoConfig } from './normalize.js';

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

/** The stream handed back to pino's worker: pino-abstract-transport's split2 stream plus a `flush`. */
export type SealogPinoStream = Transform & { flush(): Promise<void> };

/**
 * Opens the ledger and returns the transport stream. This is what the default
 * export calls with the plain-JSON `options` from `pino.transport()`; call it
 * from a wrapper module to add {@link PinoTransportHooks}.
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
  try {
    sink = await openSink(withoutPinoKeys(options), { onError: (err) => report(err, sink?.stats) });
  } catch (err) {
    throw startupError(err);
  }
  const opened = sink;
  const map = hooks.map;
  let source: (Transform & build.OnUnknown) | undefined;

  const stream = (await build(
    async (s) => {
      source = s;
      const config = s as unknown as PinoConfig;
      for await (const obj of s) {
        const line = (obj as { [UNPARSED]?: string })[UNPARSED];
        // A line that is not a JSON object (a non-pino writer upstream) is kept, not dropped.
        if (line !== undefined) opened.write({ time: Date.now(), unparsedLine: line });
        else opened.write(prepare(obj as Record<string, unknown>, config, map));
      }
    },
    {
      expectPinoConfig: true,
      parseLine,
      close: async () => {
        try {
          await opened.close();
        } catch (err) {
          // Rejecting here would become an 'error' in the app's thread (a crash if unhandled);
          // the diagnostic carries the count instead.
          report(asSealogError(err), opened.stats);
        }
        if (opened.stats.refused > 0) {
          report(
            new SealogError('E_IO', `${opened.stats.refused} record(s) were refused while the ledger failed`),
            opened.stats,
          );
        }
      },
    },
  )) as SealogPinoStream;

  // thread-stream's worker calls destination.flush() for `logger.flush(cb)`; it
  // has already handed us every byte, but parsed records may still sit in the
  // stream's buffers until the for-await loop takes them.
  stream.flush = async () => {
    while (source !== undefined && (source.readableLength > 0 || source.writableLength > 0)) await tick();
    await opened.flush();
  };
  return stream;
}

/** Marks a line that did not parse, so it stays in its place in the stream. */
const UNPARSED = Symbol('sealog.unparsed');

/**
 * pino-abstract-transport's default parser emits a non-JSON line as an
 * 'unknown' event at once, while parsed lines wait in the stream's buffer, so
 * the odd line was stored ahead of lines logged before it. Wrapping it instead
 * keeps every line in arrival order (audit order is evidence).
 */
function parseLine(line: string): unknown {
  try {
    const value: unknown = JSON.parse(line);
    return value === null ? { [UNPARSED]: line } : value;
  } catch {
    return { [UNPARSED]: line };
  }
}

function prepare(
  obj: Record<string, unknown>,
  config: PinoConfig,
  map: PinoTransportHooks['map'],
): Record<string, unknown> {
  const record = normalizeRecord(obj, config);
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
