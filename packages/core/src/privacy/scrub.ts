// Free-text scrubbing: find e-mails, IPs, card numbers, tokens and JWTs in
// message strings (see scan.ts for exactly what matches) and replace each with
// a tag like "[email]" or with its pseudonym, so two messages about the same
// address still join without showing it.

import type { StackRule } from './error-text.js';
import type { PseudonymKey } from './keys.js';
import { pseudonymizer } from './pseudonymize.js';
import type { PseudonymCache } from './psn-cache.js';
import type { LeafAction } from './rewrite.js';
import { type ScrubKind, scan } from './scan.js';

/** How a match is replaced: a fixed tag, or the keyed pseudonym of the matched text. */
export type ScrubReplace = 'tag' | 'pseudonym';

export interface ScrubOptions {
  kinds: readonly ScrubKind[];
  replace: ScrubReplace;
  /** Required when `replace` is 'pseudonym'. */
  key?: PseudonymKey;
  digestBytes?: number;
  /** Pseudonyms already computed (the pipeline shares its pseudonymize cache). */
  cache?: PseudonymCache;
}

/** What replaces a match: its tag, or with `replace: 'pseudonym'` its pseudonym. */
type Replacer = (match: string, kind: ScrubKind) => string;

function replacer(o: ScrubOptions): Replacer {
  if (o.replace !== 'pseudonym' || !o.key) return (_, kind) => `[${kind}]`;
  const psn = pseudonymizer(o.key, o.digestBytes ?? 16, o.cache);
  return (match) => psn(match);
}

/** Returns `text` with every match replaced (the same string if nothing matched). */
export function scrubText(text: string, o: ScrubOptions): string {
  return scrubWith(text, o.kinds, replacer(o));
}

function scrubWith(text: string, kinds: readonly ScrubKind[], replace: Replacer): string {
  const spans = scan(text, kinds);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const sp of spans) {
    out += text.slice(at, sp.start) + replace(text.slice(sp.start, sp.end), sp.kind);
    at = sp.end;
  }
  return out + text.slice(at);
}

/**
 * How a stack follows a scrubbed message: every match found in the message is
 * replaced wherever the stack repeats it (the scanner's view of the stack's
 * context could differ), then the stack is scrubbed as free text itself (it
 * still holds the message as it was when the error was made).
 */
function scrubStack(kinds: readonly ScrubKind[], replace: Replacer): StackRule {
  return (stack, before) => {
    let s = stack;
    if (typeof before === 'string') {
      for (const sp of scan(before, kinds)) {
        const match = before.slice(sp.start, sp.end);
        s = s.split(match).join(replace(match, sp.kind));
      }
    }
    return scrubWith(s, kinds, replace);
  };
}

/** The leaf action for a scrub path: strings are scrubbed, anything else is left as it is. */
export function scrubValue(o: ScrubOptions): LeafAction {
  const replace = replacer(o);
  const kinds = o.kinds;
  const action: LeafAction = (v) => (typeof v === 'string' ? scrubWith(v, kinds, replace) : v);
  action.stack = scrubStack(kinds, replace);
  return action;
}
