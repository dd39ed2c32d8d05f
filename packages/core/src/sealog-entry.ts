import { canonicalJson } from './encode.js';
import type { PendingEntry } from './store/types.js';

// sealog's own records in a ledger (key rotations, erasures, shredded keys,
// prune and hold statements): an entry like any other, with the `_sealog`
// member at the top level that the privacy pipeline never lets an app's own
// record keep. One shape, written and read here.

/** `{"_sealog":meta,"level":30,"levelLabel":"info","msg":msg,"time":now}` as canonical JSON. */
export function sealogEntry(meta: Record<string, unknown>, msg: string, now: number): PendingEntry {
  const record = { _sealog: meta, level: 30, levelLabel: 'info', msg, time: now };
  return { entry: Buffer.from(canonicalJson(record), 'utf8'), ts: now };
}

/**
 * The `_sealog` object of a stored entry, if the entry is JSON with one. The
 * entry comes from the ledger file: never throws.
 */
export function sealogMeta(entry: string): Record<string, unknown> | undefined {
  let record: unknown;
  try {
    record = JSON.parse(entry);
  } catch {
    return undefined;
  }
  const meta = (record as { _sealog?: unknown } | null)?._sealog;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
}

/** The string at `_sealog[key]` of a stored entry (a statement's signed note), if it has one. Never throws. */
export function sealogString(entry: string, key: string): string | undefined {
  // Cheap test first: verifiers call this on every candidate row.
  if (!entry.includes(`"${key}"`)) return undefined;
  const value = sealogMeta(entry)?.[key];
  return typeof value === 'string' ? value : undefined;
}
