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

/**
 * Set by {@link recordFromInfo}: `plain` stays true only when the record holds
 * nothing but JSON values (plus Dates) in a tree without shared references, so
 * that `JSON.stringify` carries it to the ledger worker without loss.
 */
export interface CopyState {
  plain: boolean;
}

/** Builds the stored record from `info` without touching it. Never throws. */
export function recordFromInfo(info: unknown, state: CopyState = { plain: true }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof info !== 'object' || info === null) {
    state.plain = isPlainLeaf(info);
    return { message: info };
  }
  try {
    const seen = new Map<object, unknown>();
    for (const k of Object.keys(info))
      setOwn(out, k, copy((info as Record<string, unknown>)[k], 1, seen, state));
    if (info instanceof Error) {
      // logger.error(err) without format.errors(): the info IS the Error, whose message/stack are not enumerable.
      if (!Object.hasOwn(out, 'message')) out.message = info.message;
      if (!Object.hasOwn(out, 'stack') && info.stack !== undefined) out.stack = info.stack;
      if (!isPlainLeaf(out.message) || !isPlainLeaf(out.stack)) state.plain = false;
    }
    const level = (info as Record<symbol, unknown>)[LEVEL];
    if (typeof level === 'string') out.level = level;
  } catch {
    // A throwing getter or proxy: keep what was read and mark it, never fail the app's log call.
    out.sealogUnreadableInfo = true;
  }
  return out;
}

/** A leaf JSON.stringify writes exactly as the encoder would (Date: both use its toJSON). */
function isPlainLeaf(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      // A valid Date becomes the same ISO string either way (privacy transforms accept both);
      // an invalid one is null in JSON but a marked value to the transforms, so it goes tagged.
      return (
        value === null ||
        (value instanceof Date &&
          Object.getPrototypeOf(value) === Date.prototype &&
          !Number.isNaN(value.getTime()))
      );
    default:
      return false; // bigint, function, symbol: the encoder marks these, JSON.stringify would not
  }
}

/** Copies plain objects and arrays; other values (Error, Date, Buffer, ...) are kept for the encoder. */
function copy(value: unknown, depth: number, seen: Map<object, unknown>, state: CopyState): unknown {
  if (typeof value !== 'object' || value === null) {
    if (state.plain && !isPlainLeaf(value)) state.plain = false;
    return value;
  }
  if (depth > MAX_COPY_DEPTH) {
    state.plain = false; // kept by reference: whatever is inside was not looked at
    return value;
  }
  const prior = seen.get(value);
  if (prior !== undefined) {
    state.plain = false; // a cycle stays a cycle (the encoder marks it); JSON.stringify would throw
    return prior;
  }
  if (Array.isArray(value)) {
    const arr: unknown[] = [];
    seen.set(value, arr);
    for (const v of value) arr.push(copy(v, depth + 1, seen, state));
    return arr;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (state.plain && !isPlainLeaf(value)) state.plain = false; // Error, Map, Buffer, class instances
    return value;
  }
  const obj: Record<string, unknown> = {};
  seen.set(value, obj);
  for (const k of Object.keys(value))
    setOwn(obj, k, copy((value as Record<string, unknown>)[k], depth + 1, seen, state));
  return obj;
}

/**
 * Defines an own data property. Plain assignment of a `__proto__` key would set
 * the copy's prototype instead (a logged `{"__proto__": …}` from JSON.parse is
 * an ordinary own key and must stay one).
 */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
