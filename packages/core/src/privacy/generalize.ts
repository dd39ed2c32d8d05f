// Generalization: keep a coarser version of a value (network instead of host,
// hour instead of millisecond, age band instead of age). A value that cannot
// be generalized is replaced by a marker, never passed through raw: a
// malformed IP in X-Forwarded-For is still somebody's data.

import { type IpPrefixes, truncateIp } from './ip.js';

export const INVALID_IP = '[invalid:ip]';
export const INVALID_TIME = '[invalid:time]';
export const INVALID_NUMBER = '[invalid:number]';
export const INVALID_STRING = '[invalid:string]';

export type TimeGranularity = 'second' | 'minute' | 'hour' | 'day';
export const TIME_GRANULARITIES: readonly TimeGranularity[] = ['second', 'minute', 'hour', 'day'];

const UNIT_MS: Record<TimeGranularity, number> = { second: 1e3, minute: 60e3, hour: 3600e3, day: 86400e3 };
// ISO 8601 date or date-time as loggers write it; Date.parse alone accepts far too much ("1", "May").
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** IP text → its network in CIDR form; anything else → INVALID_IP. */
export function generalizeIp(p: IpPrefixes): (v: unknown) => unknown {
  return (v) => {
    if (v === null || v === undefined) return v;
    return (typeof v === 'string' && truncateIp(v.trim(), p)) || INVALID_IP;
  };
}

/**
 * Truncates a time (UTC) to the start of its second/minute/hour/day. Epoch
 * milliseconds stay a number (pino's `time`); ISO strings and Dates become an
 * ISO string.
 */
export function generalizeTime(g: TimeGranularity): (v: unknown) => unknown {
  const unit = UNIT_MS[g];
  const floor = (ms: number) => Math.floor(ms / unit) * unit;
  return (v) => {
    if (v === null || v === undefined) return v;
    if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) <= 8.64e15 ? floor(v) : INVALID_TIME;
    let ms = Number.NaN;
    if (v instanceof Date) ms = v.getTime();
    else if (typeof v === 'string' && ISO_LIKE.test(v)) ms = Date.parse(v);
    return Number.isFinite(ms) ? new Date(floor(ms)).toISOString() : INVALID_TIME;
  };
}

/**
 * Bucket labels for ascending boundaries b0 < b1 < ... : `<b0`, `b0-(b1-1)`
 * for integer boundaries (read as the half-open [b0, b1)), `[b0,b1)` otherwise,
 * and `>=bn` for the last.
 */
export function bucketLabels(bounds: readonly number[]): string[] {
  const ints = bounds.every(Number.isInteger);
  const labels = [`<${bounds[0]}`];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const lo = bounds[i] as number;
    const hi = bounds[i + 1] as number;
    labels.push(ints ? (hi - 1 === lo ? `${lo}` : `${lo}-${hi - 1}`) : `[${lo},${hi})`);
  }
  labels.push(`>=${bounds[bounds.length - 1]}`);
  return labels;
}

/** A number → the label of its bucket (binary search over the boundaries). */
export function generalizeBuckets(bounds: readonly number[]): (v: unknown) => unknown {
  const labels = bucketLabels(bounds);
  return (v) => {
    if (v === null || v === undefined) return v;
    if (typeof v !== 'number' || !Number.isFinite(v)) return INVALID_NUMBER;
    let lo = 0;
    let hi = bounds.length;
    // Count of boundaries <= v is the bucket index.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((bounds[mid] as number) <= v) lo = mid + 1;
      else hi = mid;
    }
    return labels[lo];
  };
}

/** The first `n` UTF-16 units of a string or number, one fewer rather than half a surrogate pair. */
export function generalizePrefix(n: number): (v: unknown) => unknown {
  return (v) => {
    if (v === null || v === undefined) return v;
    if (typeof v === 'number' && Number.isFinite(v)) return prefix(String(v), n);
    return typeof v === 'string' ? prefix(v, n) : INVALID_STRING;
  };
}

function prefix(s: string, n: number): string {
  if (s.length <= n) return s;
  let end = n;
  // Do not cut between a high and a low surrogate.
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}
