// Human-readable rendering of ledger entries for `tail`. Entries come from a
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
const HIDDEN = new Set(['time', 'timestamp', 'level', 'msg', 'message']);

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

function timeLabel(rec: Record<string, unknown>, ts: number): string {
  const t = rec.time ?? rec.timestamp;
  const d = typeof t === 'number' || typeof t === 'string' ? new Date(t) : new Date(ts);
  return Number.isFinite(d.getTime()) ? d.toISOString() : escapeTerminal(String(t));
}

/** One readable line: `#seq time LEVEL message key=value ...`. */
export function formatLine(seq: number, ts: number, entry: Buffer): string {
  const rec = parseEntry(entry);
  if (!rec) return `#${seq} [unparsable entry] ${escapeTerminal(entry.toString('utf8').slice(0, 400))}`;
  const msg = rec.msg ?? rec.message;
  const parts = [`#${seq}`, timeLabel(rec, ts), levelLabel(rec.level).padEnd(5)];
  if (msg !== undefined) parts.push(escapeTerminal(typeof msg === 'string' ? msg : JSON.stringify(msg)));
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k)) continue;
    parts.push(`${escapeTerminal(k)}=${escapeTerminal(typeof v === 'string' ? v : JSON.stringify(v))}`);
  }
  return parts.join(' ');
}

/** U+2028/2029 are valid raw inside JSON strings but break lines in many tools: escape them. */
const escapeSeparators = (json: string) =>
  json.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/**
 * One JSON line for `--json`: the stored entry when it is a JSON object (U+2028/2029 escaped, which
 * denotes the same value), else a marked wrapper holding the raw text.
 */
export function formatJson(seq: number, entry: Buffer): string {
  const text = entry.toString('utf8');
  if (parseEntry(entry) && !/[\n\r]/.test(text)) return escapeSeparators(text);
  return escapeSeparators(JSON.stringify({ _sealog: { unparsable: true, seq }, raw: text }));
}

/** CSV header for `--csv`. */
export const CSV_HEADER = 'seq,time,level,msg,fields';

// Spreadsheet apps execute cells starting with these (CSV injection): prefix a quote.
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(s: string): string {
  const safe = FORMULA_START.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV row (RFC 4180 quoting, formula-injection safe): seq, time, level, msg, remaining fields as JSON. */
export function formatCsv(seq: number, ts: number, entry: Buffer): string {
  const rec = parseEntry(entry);
  if (!rec) return [String(seq), '', '', '[unparsable entry]', csvCell(entry.toString('utf8'))].join(',');
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!HIDDEN.has(k)) rest[k] = v;
  const msg = rec.msg ?? rec.message;
  return [
    String(seq),
    csvCell(timeLabel(rec, ts)),
    csvCell(levelLabel(rec.level)),
    csvCell(msg === undefined ? '' : typeof msg === 'string' ? msg : JSON.stringify(msg)),
    csvCell(Object.keys(rest).length ? JSON.stringify(rest) : ''),
  ].join(',');
}
