import type { BundleReport } from '../../core/src/bundle/verify.js';

// The records of a bundle, readable: time, level, message, then the other
// fields, with the exact stored JSON one click away; a search box and pages so
// every record can be reached. Record contents come from the party under
// audit: only ever set with textContent, and parsed in a try.

type Entry = BundleReport['entries'][number];

/** Rows per page; the verdict and counts always cover every record. */
export const PAGE_ROWS = 1000;

// pino's numeric levels; winston's are already names.
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

let query = '';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));

/** A numeric time (pino: ms since the epoch) as ISO 8601; anything else as written. */
function timeText(v: unknown): string {
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 8.64e15) return new Date(v).toISOString();
  return v === undefined ? '' : str(v);
}

function levelText(v: unknown): string {
  if (typeof v === 'number') return LEVELS[v] ?? String(v);
  return v === undefined ? '' : str(v);
}

/** key=value; a value with spaces, quotes or "=" is shown as JSON so the pairs stay unambiguous. */
function fieldsText(o: Record<string, unknown>, skip: Set<string>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (skip.has(k)) continue;
    const s = typeof v === 'string' && !/[\s"=]/.test(v) && v !== '' ? v : JSON.stringify(v);
    out.push(`${k}=${s}`);
  }
  return out.join(' ');
}

interface Readable {
  time: string;
  level: string;
  msg: string;
  fields: string;
}

/** A stored record as time, level name, message and the other fields; undefined when not a JSON object. */
function readable(text: string): Readable | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const timeKey = 'time' in r ? 'time' : 'timestamp';
  const msgKey = 'msg' in r ? 'msg' : 'message';
  return {
    time: timeText(r[timeKey]),
    level: levelText(r.level),
    msg: r[msgKey] === undefined ? '' : str(r[msgKey]),
    fields: fieldsText(r, new Set([timeKey, 'level', msgKey])),
  };
}

function recordRow(e: Entry): HTMLTableRowElement {
  const tr = el('tr', undefined, e.ok ? 'pass' : 'fail');
  tr.dataset.seq = String(e.seq ?? '');
  const r = readable(e.text);
  tr.append(el('td', String(e.seq ?? '?')), el('td', e.ok ? 'PASS' : `FAIL: ${e.message}`, 'result'));
  tr.append(el('td', r?.time ?? '', 'time'), el('td', r?.level ?? '', 'level'));
  const rest = el('td');
  if (r) rest.append(el('div', r.msg, 'msg'), el('div', r.fields, 'fields'));
  const raw = el('details');
  raw.append(el('summary', 'exact stored JSON'), el('code', e.text, 'raw'));
  rest.append(raw);
  tr.append(rest);
  return tr;
}

/** Appends the records section (search box, pager, table) for `entries` to `root`. */
export function drawRecords(root: HTMLElement, entries: readonly Entry[]): void {
  // Searched: what the row shows (level names, ISO times) and the stored JSON.
  const hay = entries.map((e) => {
    const r = readable(e.text);
    const shown = r ? `${r.time} ${r.level} ${r.msg} ${r.fields}` : '';
    return `${e.seq ?? ''} ${e.ok ? 'pass' : `fail ${e.message}`} ${shown} ${e.text}`.toLowerCase();
  });
  const search = el('input');
  search.id = 'search';
  search.type = 'search';
  search.placeholder = 'Search records (all words must appear)';
  search.value = query;
  search.setAttribute('aria-label', 'Search records');
  const prev = el('button', '← previous');
  prev.id = 'records-prev';
  const next = el('button', 'next →');
  next.id = 'records-next';
  const where = el('span');
  where.id = 'records-page';
  const bar = el('div', undefined, 'pager');
  bar.append(search, prev, where, next);
  const table = el('table', undefined, 'records');
  table.id = 'records';
  root.append(bar, table);

  let page = 0;
  let shown: number[] = [];
  const filter = (): void => {
    const words = query
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w !== '');
    shown = [];
    for (let i = 0; i < entries.length; i++) if (words.every((w) => hay[i]!.includes(w))) shown.push(i);
    page = 0;
  };
  const draw = (): void => {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
    page = Math.min(Math.max(page, 0), pages - 1);
    const from = page * PAGE_ROWS;
    const to = Math.min(from + PAGE_ROWS, shown.length);
    const matching = query.trim() === '' ? '' : ` matching “${query.trim()}”`;
    where.textContent =
      shown.length === 0
        ? `no record matches “${query.trim()}”`
        : `records ${from + 1}–${to} of ${shown.length}${matching} (page ${page + 1} of ${pages})`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    const head = el('tr');
    for (const h of ['seq', 'result', 'time', 'level', 'message and fields']) head.append(el('th', h));
    table.replaceChildren(head, ...shown.slice(from, to).map((i) => recordRow(entries[i]!)));
  };
  search.addEventListener('input', () => {
    query = search.value;
    filter();
    draw();
  });
  prev.addEventListener('click', () => {
    page--;
    draw();
  });
  next.addEventListener('click', () => {
    page++;
    draw();
  });
  filter();
  draw();
}
