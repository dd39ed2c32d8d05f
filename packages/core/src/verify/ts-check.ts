import { indexTime, TIME_UNKNOWN } from '../time.js';
import type { Finding } from './types.js';

// The check that makes `records.ts` safe to select by (issue 14, finding 5):
// ts is an index copy of the entry's own time, outside every hash, so an
// attacker can move a sealed row out of any time range by editing it alone.
// Every row's ts must equal indexTime(entry) — the entry's own time, or
// TIME_UNKNOWN when the entry carries none — exactly, as the writer stores it.

function show(t: number): string {
  if (t === TIME_UNKNOWN) return 'time unknown';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : `${t} (${d.toISOString()})`;
}

/**
 * The finding for one row whose stored ts disagrees with its entry, or
 * undefined. `ts` is whatever the file holds (any type); `entry` the entry bytes.
 */
export function checkTs(seq: number, entry: Buffer, ts: unknown): Finding | undefined {
  const want = indexTime(entry);
  if (ts === want) return undefined;
  const shown =
    typeof ts === 'number' ? show(ts) : typeof ts === 'string' ? JSON.stringify(ts.slice(0, 40)) : String(ts);
  return {
    kind: 'index-modified',
    seq,
    message: `row ${seq}: time index ts is ${shown} but the entry's own time is ${show(want)} (index modified: a time range would leave the row out)`,
  };
}
