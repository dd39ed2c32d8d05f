// Free-text scrubbing: find e-mails, IPs, card numbers, tokens and JWTs in
// message strings (see scan.ts for exactly what matches) and replace each with
// a tag like "[email]" or with its pseudonym, so two messages about the same
// address still join without showing it.

import type { PseudonymKey } from './keys.js';
import { pseudonymOfText } from './pseudonymize.js';
import { type ScrubKind, scan } from './scan.js';

/** How a match is replaced: a fixed tag, or the keyed pseudonym of the matched text. */
export type ScrubReplace = 'tag' | 'pseudonym';

export interface ScrubOptions {
  kinds: readonly ScrubKind[];
  replace: ScrubReplace;
  /** Required when `replace` is 'pseudonym'. */
  key?: PseudonymKey;
  digestBytes?: number;
}

/** Returns `text` with every match replaced (the same string if nothing matched). */
export function scrubText(text: string, o: ScrubOptions): string {
  const spans = scan(text, o.kinds);
  if (spans.length === 0) return text;
  const key = o.key;
  const digestBytes = o.digestBytes ?? 16;
  let out = '';
  let at = 0;
  for (const sp of spans) {
    const match = text.slice(sp.start, sp.end);
    out += text.slice(at, sp.start);
    out += o.replace === 'pseudonym' && key ? pseudonymOfText(match, key, digestBytes) : `[${sp.kind}]`;
    at = sp.end;
  }
  return out + text.slice(at);
}

/** The leaf action for a scrub path: strings are scrubbed, anything else is left as it is. */
export function scrubValue(o: ScrubOptions): (v: unknown) => unknown {
  return (v) => (typeof v === 'string' ? scrubText(v, o) : v);
}
