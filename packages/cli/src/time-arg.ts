import { UsageError } from './command.js';

// Times typed on the command line (--from, --to, --since), read strictly.
// Date.parse read "2026-12-01 17:45:47" as local time while every time we
// print is UTC, and "1" as the year 2001 (issue 19, item 3): a time filter
// that guesses selects the wrong records without a word. So only the forms
// below are accepted, a time without a zone is UTC, and anything else is a
// usage error that lists them. Hand-written rather than a date library:
// those are lenient by design (chrono-node reads "1" as a time too), and
// journalctl's grammar (systemd.time(7)) has no maintained JS port; the
// subset here is small enough to test form by form (test/cli-filters.test.ts).
// Durations (prune --keep, verify --retention) use the same units and parts,
// so a form accepted by --since is accepted there too.

/** The accepted forms, for usage texts and error messages. */
export const TIME_FORMS = `T is one of (times without a zone are UTC, as printed):
                        2026-01-31T12:00:00Z, 2026-01-31 12:00:00[.123], a zone
                        Z, +01:00, +0100 or " UTC"; 2026-01-31 (00:00 UTC);
                        12:00[:00] (today, UTC); now, today, yesterday, tomorrow
                        (days start at 00:00 UTC); @1767225600 (epoch seconds),
                        or 10 digits (seconds) or 13 digits (ms) alone;
                        a time ago: 15m, 1h30m, "2 minutes ago", -1w, "3 days ago"
                        (units ms, s/sec/second(s), m/min/minute(s), h/hour(s),
                        d/day(s), w/week(s))`;

const HINT =
  'give an ISO time like 2026-01-31T12:00:00Z (UTC when no zone is given), a date like 2026-01-31, ' +
  '@<epoch seconds>, now, today, yesterday, or a time ago like 15m, -1w or "2 hours ago" (units: ms, s, m, h, d, w)';

const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: DAY_MS,
  day: DAY_MS,
  days: DAY_MS,
  w: 7 * DAY_MS,
  week: 7 * DAY_MS,
  weeks: 7 * DAY_MS,
};
/** Longest input looked at: every accepted form is far shorter. */
const MAX_LENGTH = 64;
/** The ECMAScript Date range, in ms either side of the epoch. */
const MAX_DATE_MS = 8.64e15;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?: ?([Zz]|UTC|utc|[+-]\d{2}(?::?\d{2})?))?)?$/;
const CLOCK = /^\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?: ?(?:[Zz]|UTC|utc|[+-]\d{2}(?::?\d{2})?))?$/;
const EPOCH = /^@(\d{1,12})(?:\.(\d{1,9}))?$/;
const PART = /(\d{1,9}) ?([A-Za-z]+) ?/gy;

function fail(flag: string, text: string, why?: string): never {
  const shown = JSON.stringify(text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH)}…` : text);
  throw new UsageError(why ? `--${flag} ${shown}: ${why}` : `--${flag} ${shown} is not a time; ${HINT}`);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ms at 00:00 UTC of the day holding `t`. */
const midnight = (t: number) => t - (((t % DAY_MS) + DAY_MS) % DAY_MS);

function iso(flag: string, text: string, m: RegExpExecArray): number {
  const num = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  const [y, mo, d, h, mi, s] = [num(1), num(2), num(3), num(4), num(5), num(6)];
  if (mo < 1 || mo > 12) fail(flag, text, `month ${mo} is not from 01 to 12`);
  const inMonth = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!;
  if (d < 1 || d > inMonth) fail(flag, text, `day ${d} is not in ${m[1]}-${m[2]}`);
  if (h > 23) fail(flag, text, `hour ${h} is not from 00 to 23`);
  if (mi > 59) fail(flag, text, `minute ${mi} is not from 00 to 59`);
  if (s > 59) fail(flag, text, `second ${s} is not from 00 to 59`);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it reads years 0-99 as 1900-1999
  t.setUTCHours(h, mi, s, ms);
  return t.getTime() - offsetMs(flag, text, m[8]);
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function offsetMs(flag: string, text: string, zone: string | undefined): number {
  if (zone === undefined || /^(z|utc)$/i.test(zone)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const h = Number(m[2]);
  const mi = Number(m[3] ?? 0);
  if (h > 23 || mi > 59) fail(flag, text, `offset ${zone} is not from -23:59 to +23:59`);
  return (m[1] === '-' ? -1 : 1) * (h * 3_600_000 + mi * 60_000);
}

/** "15m", "1h 30m", "2 minutes" (each part a number and a unit), or undefined. */
function duration(text: string): number | undefined {
  PART.lastIndex = 0;
  let total = 0;
  let parts = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    // Short units are case-sensitive: journalctl's M is months, not minutes.
    const name = m[2]!.length > 2 ? m[2]!.toLowerCase() : m[2]!;
    const unit = Object.hasOwn(UNIT_MS, name) ? UNIT_MS[name] : undefined;
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    parts++;
  }
  return parts > 0 ? total : undefined;
}

/**
 * A duration typed on the command line (`365d`, `52w`, `1d12h`, "30 days", "1h 30m"),
 * in ms: the parts and units --since accepts.
 * @throws UsageError naming `--<flag>`.
 */
export function parseDurationArg(flag: string, text: string): number {
  const t = text.trim();
  const ms = t.length > MAX_LENGTH ? undefined : duration(t);
  if (ms === undefined || !Number.isSafeInteger(ms)) {
    const shown = JSON.stringify(text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH)}…` : text);
    throw new UsageError(
      `--${flag} ${shown} is not a duration: write numbers with units (ms, s/sec, m/min, h/hour, d/day, w/week), e.g. 365d, 52w, 1d12h or "30 days"`,
    );
  }
  return ms;
}

/**
 * Parses a command-line time (the forms in {@link TIME_FORMS}) to ms since the
 * epoch, `now` being the current time.
 * @throws UsageError naming `--<flag>`, the value and what to write instead.
 */
export function parseTimeArg(flag: string, text: string, now: number): number {
  const t = text.trim();
  if (t.length > MAX_LENGTH || t === '') fail(flag, text);
  const result = parse(flag, text, t, now);
  if (!Number.isFinite(result) || Math.abs(result) > MAX_DATE_MS)
    fail(flag, text, 'out of range of dates (±275,000 years)');
  return result;
}

function parse(flag: string, text: string, t: string, now: number): number {
  const word = t.toLowerCase();
  if (word === 'now') return now;
  if (word === 'today') return midnight(now);
  if (word === 'yesterday') return midnight(now) - DAY_MS;
  if (word === 'tomorrow') return midnight(now) + DAY_MS;
  const m = ISO.exec(t);
  if (m) return iso(flag, text, m);
  if (CLOCK.test(t)) {
    const d = new Date(midnight(now));
    const today = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    return iso(flag, text, ISO.exec(`${today} ${t}`) ?? fail(flag, text));
  }
  const e = EPOCH.exec(t);
  if (e) return Number(e[1]) * 1000 + (e[2] === undefined ? 0 : Number(e[2].padEnd(3, '0').slice(0, 3)));
  if (/^\d+$/.test(t)) {
    // 10 digits are epoch seconds (2001-2286), 13 are epoch ms (pino's `time`); anything
    // else is a guess: "1" became 2001 and "2026" 2026-01-01 under Date.parse.
    if (t.length === 10) return Number(t) * 1000;
    if (t.length === 13) return Number(t);
    const example = t.length === 4 ? `${t}-01-01` : '2026-01-31';
    fail(
      flag,
      text,
      `a bare number is not a time (only 10 digits are read as epoch seconds, 13 as ms); write @${t.slice(0, 12)} for epoch seconds, or a date like ${example}`,
    );
  }
  // journalctl's relative forms: "2 minutes ago", "-1w"; and a duration alone, "15m", means ago too.
  const rel = /^(?:-\s?(.+)|(.+?) ago|(.+))$/i.exec(t)!;
  const ms = duration((rel[1] ?? rel[2] ?? rel[3])!);
  if (ms === undefined) fail(flag, text);
  return now - ms;
}
