// The parallel half of the write path, as one function: a record goes through
// the transforms (privacy, noise), gets its receive time if it has none, and
// is encoded to the canonical bytes the committer will hash. The in-thread
// path and every pool worker call exactly this, so an entry's bytes never
// depend on which thread prepared it (tested in prepare-pool.property.test.ts).

import { type EncodeLimits, encodeRecord } from './encode.js';
import { SealogError } from './errors.js';
import type { RecordTransform } from './stages.js';
import type { PendingEntry } from './store/types.js';
import { indexTime, stampTime } from './time.js';

/** The marker a record is reduced to when a privacy transform fails: raw values never pass. */
export const TRANSFORM_FAILED: Readonly<Record<string, unknown>> = Object.freeze({
  _sealog: { suppressed: 'transform-failed' },
});

/**
 * Applies `transforms` in order. A transform that throws reduces the record to
 * {@link TRANSFORM_FAILED} and reports E_PRIVACY (the error names no value).
 */
export function transformRecord(
  record: Record<string, unknown>,
  transforms: readonly RecordTransform[],
  onError: (err: SealogError) => void,
): Record<string, unknown> {
  let r = record;
  for (const t of transforms) {
    try {
      r = t.apply(r);
    } catch (err) {
      onError(
        new SealogError('E_PRIVACY', 'a privacy transform failed; the record was reduced to a marker', {
          cause: err,
        }),
      );
      return { ...TRANSFORM_FAILED };
    }
  }
  return r;
}

/**
 * Encodes a transformed record as the entry the ledger stores: canonical JSON
 * bytes plus its index time. Every entry carries its own time (the receive
 * time `now` is added when it has none), and `ts` is derived from what was
 * encoded: the verifier checks one against the other. Never throws.
 */
export function encodeEntry(record: unknown, limits: EncodeLimits, now: number): PendingEntry {
  const stamped = stampTime(record, now);
  const { json, coerced } = encodeRecord(stamped.record, limits);
  const entry = Buffer.from(json, 'utf8');
  // A coerced entry may have lost or changed its time (entry-too-large keeps a prefix of fields).
  return { entry, ts: coerced.length === 0 && stamped.ts !== undefined ? stamped.ts : indexTime(entry) };
}
