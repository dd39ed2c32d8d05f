// The human output modes of `tail` and `query` (issue 19, item 6), after
// journalctl's `-o short` / `-o cat` and pino-pretty's level colours. Every
// string from the record is passed through escapeTerminal before it is shown;
// the only raw escape sequences printed are our own SGR colour codes, added
// after escaping. Plain ANSI rather than node:util styleText: styleText checks
// process.stdout and NO_COLOR itself (Node ≥ 22), which would override the
// caller's decision (output.ts useColor) and make the output untestable.

import { markerOf, parseEntry } from '@sealog/core';
import { escapeTerminal, HIDDEN, levelLabel, timeLabel } from './format.js';

/** Longest value (in code points) `-o short` prints before cutting it with `…`; `-o json` has them whole. */
export const SHORT_VALUE_MAX = 80;

// pino-pretty's default level colours (colorette): gray, blue, green, yellow, red, red background.
const LEVEL_SGR: Record<string, number> = {
  TRACE: 90,
  DEBUG: 34,
  INFO: 32,
  WARN: 33,
  ERROR: 31,
  FATAL: 41,
};
const MSG_SGR = 36; // cyan, as pino-pretty's message

const sgr = (code: number | undefined, s: string, color: boolean) =>
  color && code !== undefined ? `\u001b[${code}m${s}\u001b[${code >= 40 ? 49 : 39}m` : s;

/** Cuts at a code point (never inside a surrogate pair), before escaping, so no escape is cut either. */
function shorten(s: string): string {
  const cps = Array.from(s);
  return cps.length > SHORT_VALUE_MAX ? `${cps.slice(0, SHORT_VALUE_MAX - 1).join('')}…` : s;
}

/**
 * An erased record's body is gone (docs/lifecycle.md "Erasure of a record's body"): its
 * marker names the statement holding the reason. Reading is not verifying: `sealog verify`
 * says whether that statement authorises it.
 */
const erasedText = (by: number) => `[erased: see the erasure statement at entry ${by}]`;

const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * `-o short`: `#seq time LEVEL message key=value …` on one line (`id` is the seq,
 * or `segment:seq` for a segmented ledger). Values longer than
 * SHORT_VALUE_MAX are shortened; a `levelLabel` that only repeats the level (as
 * the pino transport writes it) is left out.
 */
export function formatShort(id: number | string, ts: number, entry: Buffer, color = false): string {
  const rec = parseEntry(entry);
  if (!rec) return `#${id} [unparsable entry] ${escapeTerminal(shorten(entry.toString('utf8')))}`;
  const by = markerOf(entry);
  if (by !== undefined) return `#${id} ${timeLabel(rec, ts)} ${erasedText(by)}`;
  const level = levelLabel(rec.level);
  const parts = [
    `#${id}`,
    timeLabel(rec, ts),
    sgr(LEVEL_SGR[level], level, color) + ' '.repeat(Math.max(0, 5 - level.length)),
  ];
  const msg = rec.msg ?? rec.message;
  if (msg !== undefined) parts.push(sgr(MSG_SGR, escapeTerminal(text(msg)), color));
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k)) continue;
    if (k === 'levelLabel' && typeof v === 'string' && v.toUpperCase() === level) continue;
    parts.push(`${escapeTerminal(k)}=${escapeTerminal(shorten(text(v) ?? 'undefined'))}`);
  }
  return parts.join(' ');
}

/** `-o cat`: the message alone, escaped; an empty line for a record without one (one line per record). */
export function formatCat(entry: Buffer): string {
  const rec = parseEntry(entry);
  if (!rec) return escapeTerminal(shorten(entry.toString('utf8')));
  const by = markerOf(entry);
  if (by !== undefined) return erasedText(by);
  const msg = rec.msg ?? rec.message;
  return msg === undefined ? '' : escapeTerminal(text(msg));
}
