// The winston worker's per-line step as a prepare-pool decoder (issue 15,
// item 1): the line format is wire.ts's, written by this package's app-side
// thread. A line that does not decode is refused, as worker.ts refuses it:
// not stored, counted in the batch's `refused`, reported by the caller.
import { type LineDecoder, REFUSE_LINE } from '@sealog/core';
import { decodeLine } from './wire.js';

/** Decodes wire.ts lines; an unreadable line becomes REFUSE_LINE. Never throws. */
export function winstonDecoder(): LineDecoder {
  return (line) => {
    try {
      return decodeLine(line);
    } catch {
      // The error may quote the line: it is neither kept nor reported.
      return REFUSE_LINE;
    }
  };
}
