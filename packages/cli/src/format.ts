// Rendering of ledger entries for `tail` and `query` (the short and cat modes are in pretty.ts). Entries come from a
// file an attacker (or a log injector) may control: every string shown is
// escaped so control characters, ANSI escapes and newlines cannot forge lines
// or repaint the terminal.

import { parseEntry } from '@sealog/core';

const PINO_LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields shown in their own column, not as key=value. */
export const HIDDEN = new Set(['time', 'timestamp', 'level', 'msg', 'message']);

/** Escapes C0/C1 controls, DEL, line/paragraph separators, bidi controls and lone surrogates as visible \x / \u sequences. */
export function escapeTerminal(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      if (c === '\n') return '\\n';
      if (c === '\r') return '\\r';
      if (c === '\t') return '\\t';
      const code = c.charCodeAt(0);
      return code <= 0xff
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    },
  );
}

/** Level label for pino numbers and winston strings. */
export function levelLabel(level: unknown): string {
  if (typeof level === 'number') return PINO_LEVELS[level] ?? String(level);
  if (typeof level === 'string') return escapeTerminal(level.toUpperCase().slice(0, 12));
  return '-';
}

/** The record's own time as ISO 8601 UTC, else the ledger's ts; an unreadable time is shown escaped. */
export function timeLabel(rec: Record<string, unknown>, ts: number): string {
  const t = rec.time ?? rec.timestamp;
  const d = typeof t === 'number' || typeof t === 'string' ? new Date(t) : new Date(ts);
  return Number.isFinite(d.getTime()) ? d.toISOString() : escapeTerminal(String(t));
}

/** U+2028/2029 are valid raw inside JSON strings but break lines in many tools: escape them. */
const escapeSeparators = (json: string) =>
  json.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** Where a record of a segmented ledger lies: its segment's index and its global position (base + seq). */
export interface SegmentPlace {
  segment: number;
  position: number;
}

/**
 * One JSON line for `-o json`: `{"seq":N,` then the stored entry's own members,
 * byte for byte (U+2028/2029 escaped, which denotes the same value). A record of
 * a segmented ledger starts `{"seq":N,"segment":K,"position":P,`. An entry with
 * a top-level member of one of those names is wrapped as `{"seq":N,…,"entry":{…}}`
 * instead, so the ledger's numbers are never ambiguous; an entry that is not a
 * one-line JSON object becomes `{"seq":N,…,"_sealog":{"unparsable":true},"raw":"…"}`.
 */
export function formatJson(seq: number, entry: Buffer, place?: SegmentPlace): string {
  const text = entry.toString('utf8');
  const rec = parseEntry(entry);
  const head = place
    ? `"seq":${seq},"segment":${place.segment},"position":${place.position}`
    : `"seq":${seq}`;
  if (!rec || /[\n\r]/.test(text)) {
    const raw = JSON.stringify({ _sealog: { unparsable: true }, raw: text });
    return escapeSeparators(`{${head},${raw.slice(1)}`);
  }
  const own = place ? ['seq', 'segment', 'position'] : ['seq'];
  if (own.some((k) => Object.hasOwn(rec, k))) return escapeSeparators(`{${head},"entry":${text}}`);
  // parseEntry proved `text` is an object: its first non-blank character is `{`.
  const body = text.slice(text.indexOf('{') + 1);
  return escapeSeparators(Object.keys(rec).length ? `{${head},${body}` : `{${head}}`);
}

/** CSV header for `--csv`; a segmented ledger's rows start with segment,seq,position. */
export const CSV_HEADER = 'seq,time,level,msg,fields';
export const SEGMENT_CSV_HEADER = 'segment,seq,position,time,level,msg,fields';

// CSV is hand-written here, not csv-stringify or papaparse (issue 19 asked why):
// we write one fixed five-column row per record and never parse CSV, so
// all that is needed is RFC 4180 quoting (the one regex below). What matters
// more here is done before quoting, and no CSV library does it for us:
// the cells are attacker-written log text, so terminal escapes are shown
// as text (escapeTerminal) and formulas are defused. csv-stringify's `escape_formulas`
// (since 6.3.0) defuses the same six leading characters the same way (a ' prefix) but
// would still need escapeTerminal before it; a dependency in every CLI install for
// one quoting regex is not worth it. format.test.ts pins quoting, escapes and formulas.
// Spreadsheet apps execute cells starting with these (CSV injection, OWASP): prefix a quote.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: terminal escapes shown as text first (CSV is read in terminals
 * too, and no cell then holds a raw CR or LF), then formulas defused, then RFC 4180 quoting.
 */
function csvCell(raw: string): string {
  const s = escapeTerminal(raw);
  const safe = FORMULA_START.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV row (RFC 4180 quoting, formula-injection safe): seq, time, level, msg, remaining fields as JSON. */
export function formatCsv(seq: number, ts: number, entry: Buffer, place?: SegmentPlace): string {
  const ids = place ? [String(place.segment), String(seq), String(place.position)] : [String(seq)];
  const rec = parseEntry(entry);
  if (!rec) return [...ids, '', '', '[unparsable entry]', csvCell(entry.toString('utf8'))].join(',');
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!HIDDEN.has(k)) rest[k] = v;
  const msg = rec.msg ?? rec.message;
  return [
    ...ids,
    csvCell(timeLabel(rec, ts)),
    csvCell(rec.level === undefined ? '' : levelLabel(rec.level)),
    csvCell(msg === undefined ? '' : typeof msg === 'string' ? msg : JSON.stringify(msg)),
    csvCell(Object.keys(rest).length ? JSON.stringify(rest) : ''),
  ].join(',');
}
