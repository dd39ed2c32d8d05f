// The pino transport's per-line step as a prepare-pool decoder (issue 15,
// item 1): what transport.ts does to each line before the sink sees it, so a
// pool worker stores the very record the in-thread path stores. Runs on a
// pool worker: plain data in (the pino config), no hooks.
import type { LineDecoder, LinePeek } from '@sealog/core';
import { normalizeRecord, type PinoConfig } from './normalize.js';

/**
 * Decodes one line as the transport does: a JSON object is normalised
 * (normalize.ts); a JSON scalar is wrapped as `{ data, time }` (as
 * pino-abstract-transport does); `null` and a line that is not JSON are kept
 * as `{ time, unparsedLine }`. `time` is the batch's receive time. Never throws.
 *
 * The transport's `map` hook (PinoTransportHooks) is not applied: it is a
 * function and cannot cross to a worker thread.
 */
/** How the transport wants lines it cannot parse kept. */
export interface DecodeOptions {
  /**
   * Store only the length of a line that is not a JSON record, not its text.
   * The transport sets it whenever privacy is configured: such a line (a
   * non-pino writer upstream, a cut-off stream) may hold a field the privacy
   * pipeline would have redacted, and it has no fields to apply paths to.
   */
  withholdUnparsed?: boolean;
}

export function pinoDecoder(config: PinoConfig & DecodeOptions): LineDecoder {
  const unparsed = (line: string, now: number): Record<string, unknown> =>
    config.withholdUnparsed === true
      ? // The privacy pipeline works on fields; a line it cannot parse has none it could redact.
        { time: now, unparsedLine: `[withheld: ${line.length} characters that are not a JSON record]` }
      : { time: now, unparsedLine: line };
  return (line, now) => {
    let value: unknown;
    try {
      // The line is attacker-influenced text: JSON.parse is the only parser, and its failure is data.
      value = JSON.parse(line);
    } catch {
      return unparsed(line, now);
    }
    if (value === null) return unparsed(line, now);
    if (typeof value !== 'object') value = { data: value, time: now };
    try {
      return normalizeRecord(value as Record<string, unknown>, config);
    } catch {
      // Only an array with messageKey "length" gets here (strict-mode delete throws);
      // the transport's stream would fail on it, the pool keeps the line instead.
      return unparsed(line, now);
    }
  };
}

/**
 * pino writes `{"level":30,"time":1700000000000,...`, or `"time":"2026-…Z"` with
 * `timestamp: pino.stdTimeFunctions.isoTime`: read both without parsing the line.
 * The quoted forms are bounded (32 and 40 characters) so a hostile line costs nothing.
 */
const HEAD = /^\{"level":(-?\d{1,15}|"[^"\\]{0,32}")(?:,"time":(-?\d{1,16}|"[^"\\]{1,40}"))?/;

/** The level and time a shed line is counted under (Intake `peek`): runs at the rate the app logs. */
export function peekLine(line: string): LinePeek {
  const m = HEAD.exec(line);
  if (m === null) return { level: undefined, time: Date.now() };
  const raw = m[1] as string;
  const level = raw.startsWith('"') ? raw.slice(1, -1) : Number(raw);
  return { level, time: peekTime(m[2]) };
}

function peekTime(raw: string | undefined): number {
  if (raw === undefined) return Date.now();
  const ms = raw.startsWith('"') ? Date.parse(raw.slice(1, -1)) : Number(raw);
  return Number.isFinite(ms) ? ms : Date.now();
}
