import { closest, parseEntry, type SegmentQuery, type StoredRecord } from '@sealog/core';
import { UsageError } from './command.js';
import { parseTimeArg, TIME_FORMS } from './time-arg.js';

/** parseArgs option specs shared by `tail` and `query`. */
export const FILTER_OPTIONS = {
  level: { type: 'string' },
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  where: { type: 'string', multiple: true },
  grep: { type: 'string' },
  seq: { type: 'string' },
  segment: { type: 'string' },
} as const;

export interface FilterValues {
  level?: string | undefined;
  since?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  where?: string[] | undefined;
  grep?: string | undefined;
  seq?: string | undefined;
  segment?: string | undefined;
}

export const FILTER_USAGE = `filters (combine freely):
      --level L       L and more severe (pino: trace debug info warn error fatal;
                      winston/syslog names too; or a pino number)
      --from T        at or after time T;  --to T  before time T
      --since T       the same as --from T (journalctl's name): --since 15m,
                      --since yesterday, --since "2 hours ago"
                      ${TIME_FORMS}
      --where K=V     field K (dotted path) equals V;  K~=V  contains V (repeatable)
      --grep S        the stored entry text contains S
      --seq A..B      seq from A to B inclusive (A.. or ..B for open ends); in a
                      segment directory, the seq within each segment file
      --segment K     a segment directory's segment K only (or A..B, A.., ..B)
`;

// Severity on pino's scale, for pino, winston (npm) and syslog level names.
const SEVERITY: Record<string, number> = {
  trace: 10,
  silly: 10,
  debug: 20,
  verbose: 20,
  http: 25,
  info: 30,
  notice: 35,
  warn: 40,
  warning: 40,
  error: 50,
  crit: 60,
  alert: 60,
  emerg: 60,
  fatal: 60,
};

/** Severity of a stored level value (pino number or level name), or undefined if unknown. */
export function severity(level: unknown): number | undefined {
  if (typeof level === 'number' && Number.isFinite(level)) return level;
  if (typeof level === 'string') return SEVERITY[level.toLowerCase()];
  return undefined;
}

const LEVEL_LIST =
  'trace debug info warn error fatal (pino); silly verbose http (winston); notice warning crit alert emerg (syslog); or a number like 30';

/** The minimum severity `--level` names. @throws UsageError listing the levels. */
function parseLevel(v: string): number {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const key = v.toLowerCase();
  if (Object.hasOwn(SEVERITY, key)) return SEVERITY[key]!;
  const guess = closest(v, Object.keys(SEVERITY));
  throw new UsageError(
    `--level ${JSON.stringify(v.slice(0, 64))} is not a level${guess ? `; did you mean "${guess}"?` : ''} (levels: ${LEVEL_LIST})`,
  );
}

/** `A..B` (inclusive), `A..`, `..B`, or for --segment also a lone `K`, as [from, to). */
function parseRange(name: 'seq' | 'segment', v: string): { from: number; to: number } {
  const one = name === 'segment' ? /^(\d{1,15})$/.exec(v) : null;
  const m = one ? [v, one[1]!, one[1]!] : /^(\d{0,15})\.\.(\d{0,15})$/.exec(v);
  if (!m || (m[1] === '' && m[2] === ''))
    throw new UsageError(
      `--${name} must look like ${name === 'segment' ? 'K, ' : ''}A..B, A.. or ..B, got "${v.slice(0, 64)}"`,
    );
  const from = m[1] === '' ? 0 : Number(m[1]);
  const to = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]) + 1;
  if (to <= from) throw new UsageError(`--${name} ${v} is empty`);
  return { from, to };
}

function get(obj: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = obj;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/**
 * Builds a query from filter options; throws UsageError naming the bad option.
 * The segment range (--segment) applies only to a segment directory: see segmentOnlyFor.
 */
export function buildQuery(values: FilterValues, now = Date.now()): SegmentQuery {
  const q: SegmentQuery = {};
  const tests: ((rec: Record<string, unknown>) => boolean)[] = [];
  if (values.seq !== undefined) {
    const { from, to } = parseRange('seq', values.seq);
    q.seqFrom = from;
    q.seqTo = to;
  }
  if (values.segment !== undefined) {
    const { from, to } = parseRange('segment', values.segment);
    q.segmentFrom = from;
    q.segmentTo = to;
  }
  // Both given: the later bound wins, so each narrows the range.
  if (values.since !== undefined) q.tsFrom = parseTimeArg('since', values.since, now);
  if (values.from !== undefined)
    q.tsFrom = Math.max(q.tsFrom ?? -Infinity, parseTimeArg('from', values.from, now));
  if (values.to !== undefined) q.tsTo = parseTimeArg('to', values.to, now);
  if (values.level !== undefined) {
    const min = parseLevel(values.level);
    tests.push((r) => (severity(r.level) ?? -1) >= min);
  }
  for (const w of values.where ?? []) {
    const m = /^([^=~]+)(~?=)(.*)$/s.exec(w);
    if (!m) throw new UsageError(`--where must be K=V or K~=V, got "${w}"`);
    const path = m[1]!.split('.');
    const want = m[3]!;
    tests.push(
      m[2] === '=' ? (r) => asText(get(r, path)) === want : (r) => asText(get(r, path)).includes(want),
    );
  }
  const grep = values.grep;
  // The time range is not tested here: queryRecords applies it to each entry's
  // own time and checks the ts index it used (core store/time-window.ts).
  if (grep === undefined && tests.length === 0) return q;
  q.match = (rec: StoredRecord) => {
    if (grep !== undefined && !rec.entry.includes(grep)) return false;
    if (tests.length === 0) return true;
    const r = parseEntry(rec.entry);
    return r !== undefined && tests.every((test) => test(r));
  };
  return q;
}

/**
 * --segment names segments of a directory: refuse it for a single ledger rather
 * than ignore it. The ledger is not named: a postgres:// URL may hold a password.
 */
export function segmentOnlyFor(values: FilterValues, segmented: boolean): void {
  if (values.segment !== undefined && !segmented)
    throw new UsageError(
      '--segment applies to a segment directory (seg-000001.db, …), not to a single ledger file or database',
    );
}
