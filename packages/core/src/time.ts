import { types } from 'node:util';
import { scanTime } from './time-scan.js';

// A record's time, the one rule shared by the writer (records.ts `ts` column),
// the verifier (which checks every row's ts against it) and every reader that
// selects by time (query, export, report, tail). `ts` is only an index: an
// attacker can edit it without touching a hash, so every reader either checks
// it against this function of the entry bytes or does not use it (issue 14,
// finding 5; docs/verify.md "Completeness of a time range").

/**
 * `ts` of a row whose entry carries no usable time. Below every valid Date
 * (±8.64e15 ms), so no real time equals it; rows holding it are in every
 * time range ("time unknown" cannot be excluded).
 */
export const TIME_UNKNOWN = Number.MIN_SAFE_INTEGER;
/** The ECMAScript Date range, in ms either side of the epoch. */
const MAX_DATE_MS = 8.64e15;
/** Longer strings are not dates (a bound on what Date.parse is handed). */
const MAX_DATE_STRING = 64;

function inRange(ms: number): number | undefined {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms + 0 : undefined; // + 0: no -0
}

/**
 * The own time of a parsed entry, in ms since the epoch: a numeric `time`
 * (pino, truncated to ms), else `time` or `timestamp` (winston) as a date
 * string. Undefined when the entry is not an object or neither is usable.
 */
export function ownTime(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const r = value as { time?: unknown; timestamp?: unknown };
  if (typeof r.time === 'number') return inRange(Math.trunc(r.time));
  const t = r.time ?? r.timestamp;
  if (typeof t !== 'string' || t.length > MAX_DATE_STRING) return undefined;
  return inRange(Date.parse(t));
}

/** {@link ownTime} of stored entry bytes (hostile: any bytes; never throws). */
export function entryTime(entry: Uint8Array): number | undefined {
  // Cheap reject: JSON can only name `time`/`timestamp` with these bytes
  // (an escaped key like "\u0074ime" is caught by the parse path below too).
  const buf = Buffer.isBuffer(entry) ? entry : Buffer.from(entry.buffer, entry.byteOffset, entry.length);
  if (!buf.includes('"time') && !buf.includes('\\u')) return undefined;
  try {
    return ownTime(JSON.parse(buf.toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The `ts` the writer stores for an entry and the verifier expects: its own
 * time, or {@link TIME_UNKNOWN}. Exactly `entryTime(entry) ?? TIME_UNKNOWN`;
 * the verifier runs it on every row, so the byte scanner (time-scan.ts)
 * answers first and JSON.parse only decides what it leaves open.
 */
export function indexTime(entry: Uint8Array): number {
  const t = scanTime(entry, TIME_UNKNOWN);
  return Number.isNaN(t) ? (entryTime(entry) ?? TIME_UNKNOWN) : t; // NaN: the scanner left it to JSON.parse
}

/** True when a row's entry time lies in [from, to) (either bound optional); time-unknown rows always do. */
export function inTimeRange(time: number, from: number | undefined, to: number | undefined): boolean {
  if (time === TIME_UNKNOWN) return true;
  return (from === undefined || time >= from) && (to === undefined || time < to);
}

/** A plain data property's value, or a marker when reading it could run code or lie. */
const OPAQUE = Symbol('opaque');
function dataValue(obj: object, key: string): unknown {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (d === undefined) return undefined;
  if (!('value' in d) || !d.enumerable) return OPAQUE;
  return d.value;
}

/**
 * What the writer stores for a record received at `now`: the record (with
 * `time: now` added when it has no usable time and no `time` member of its
 * own, so every entry carries an authenticated time), and its `ts` when that
 * can be told without encoding; undefined means "take {@link indexTime} of the
 * encoded entry". Never throws.
 */
export function stampTime(record: unknown, now: number): { record: unknown; ts: number | undefined } {
  if (typeof record !== 'object' || record === null || Array.isArray(record) || types.isProxy(record)) {
    return { record, ts: undefined };
  }
  try {
    const time = dataValue(record, 'time');
    const stamp = dataValue(record, 'timestamp');
    // Values that the encoder writes verbatim and JSON.parse reads back the same.
    if (typeof time === 'number' && Number.isFinite(time))
      return { record, ts: inRange(Math.trunc(time)) ?? TIME_UNKNOWN };
    const plainString = (v: unknown) => typeof v === 'string' && /^[\x20-\x7e]{0,64}$/.test(v);
    if (plainString(time)) return { record, ts: inRange(Date.parse(time as string)) ?? TIME_UNKNOWN };
    if (time === undefined || time === null) {
      if (plainString(stamp)) {
        const ms = inRange(Date.parse(stamp as string));
        if (ms !== undefined) return { record, ts: ms };
      } else if (stamp !== undefined && stamp !== null) return { record, ts: undefined };
      // No usable time: the receive time goes into the entry, where the chain covers it.
      const proto = Object.getPrototypeOf(record);
      if (time === undefined && (proto === Object.prototype || proto === null)) {
        return { record: { ...record, time: now }, ts: now };
      }
      return { record, ts: time === null && stamp == null ? TIME_UNKNOWN : undefined };
    }
  } catch {
    // A throwing getter or a record that cannot be copied: the encoded entry decides.
  }
  return { record, ts: undefined };
}
