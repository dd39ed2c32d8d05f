// What the ledger stores for a winston `info`. winston hands the SAME object to
// every transport, so nothing here may write to it; and the app may mutate its
// meta objects after the call returns, so the record is a copy taken now.
//
// Stored: every own enumerable string-keyed field (after the logger's formats),
// with `level` taken from info[Symbol.for('level')] (the uncolorized level).
// Not stored: info[Symbol.for('message')] (the formatted output line, which
// would duplicate the fields and could carry values the privacy pipeline
// removes from them) and info[Symbol.for('splat')] (raw interpolation args;
// use format.splat() so they land in `message` / the fields).

const LEVEL = Symbol.for('level');
const MAX_COPY_DEPTH = 64;

/** Builds the stored record from `info` without touching it. Never throws. */
export function recordFromInfo(info: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof info !== 'object' || info === null) return { message: info };
  try {
    const seen = new Map<object, unknown>();
    for (const k of Object.keys(info)) out[k] = copy((info as Record<string, unknown>)[k], 1, seen);
    if (info instanceof Error) {
      // logger.error(err) without format.errors(): the info IS the Error, whose message/stack are not enumerable.
      if (!Object.hasOwn(out, 'message')) out.message = info.message;
      if (!Object.hasOwn(out, 'stack') && info.stack !== undefined) out.stack = info.stack;
    }
    const level = (info as Record<symbol, unknown>)[LEVEL];
    if (typeof level === 'string') out.level = level;
  } catch {
    // A throwing getter or proxy: keep what was read and mark it, never fail the app's log call.
    out.sealogUnreadableInfo = true;
  }
  return out;
}

/** Copies plain objects and arrays; other values (Error, Date, Buffer, ...) are kept for the encoder. */
function copy(value: unknown, depth: number, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_COPY_DEPTH) return value;
  const prior = seen.get(value);
  if (prior !== undefined) return prior; // a cycle stays a cycle; the encoder marks it
  if (Array.isArray(value)) {
    const arr: unknown[] = [];
    seen.set(value, arr);
    for (const v of value) arr.push(copy(v, depth + 1, seen));
    return arr;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const obj: Record<string, unknown> = {};
  seen.set(value, obj);
  for (const k of Object.keys(value)) obj[k] = copy((value as Record<string, unknown>)[k], depth + 1, seen);
  return obj;
}
