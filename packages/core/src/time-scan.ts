// The entry's own time without JSON.parse (issue 14: checking every row's ts
// against entryTime() made verify 45% slower; materialising each entry as
// objects cost more than hashing it). One pass over the bytes validates the
// whole entry as JSON and picks out the top-level `time` and `timestamp`.
//
// The entry is attacker input, so the rule is one-sided: this scanner only
// answers when it has *proved* what JSON.parse(buf.toString('utf8')) gives,
// and returns NaN ("ask JSON.parse") on anything else. It accepts a subset of
// JSON: a top-level object at most MAX_DEPTH deep whose top-level member names
// hold no `\`; it decides `time`/`timestamp` itself only when the value is an
// integer of ≤ 15 digits, a printable-ASCII string without `\`, null, or a
// literal or container. Whatever it accepts, JSON.parse accepts with the same
// result, because:
// - outside strings it takes only JSON's own bytes (any other byte, every
//   byte ≥ 0x80 and a byte-order mark included, means NaN);
// - inside strings every byte ≥ 0x20 other than `"` and `\` is content however
//   UTF-8 decoding treats it (an invalid sequence becomes U+FFFD but never
//   swallows an ASCII byte), escapes are checked, and bytes < 0x20 (invalid
//   in JSON) mean NaN; so a string ends exactly where JSON.parse ends it;
// - a top-level name without `\` is its bytes, and ASCII bytes decode to
//   themselves, so it is `time` exactly when its bytes are `time`;
// - JSON.parse keeps the last of duplicate names, and so does this scanner.
// Every call is one pass, O(length), with a fixed-size stack; it never throws.
// time-scan.test.ts checks it against JSON.parse on arbitrary and hostile input.

/** Deeper nesting is left to JSON.parse. */
const MAX_DEPTH = 256;
/** Integers of up to 15 digits are below 2^53, so summing digits is exact. */
const MAX_INT_DIGITS = 15;
/** As time.ts: longer strings are not dates. */
const MAX_DATE_STRING = 64;
/** As time.ts: the ECMAScript Date range. */
const MAX_DATE_MS = 8.64e15;

// Bytes inside a string: 0 printable ASCII, 1 `"`, 2 `\`, 3 invalid (< 0x20), 4 DEL or ≥ 0x80.
const IN_STRING = new Uint8Array(256);
IN_STRING.fill(3, 0, 0x20);
IN_STRING.fill(4, 0x7f, 0x100);
IN_STRING[0x22] = 1;
IN_STRING[0x5c] = 2;
const WS = new Uint8Array(256);
for (const c of ' \t\n\r') WS[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;

// What a top-level `time` / `timestamp` holds.
const ABSENT = 0;
const NUL = 1;
const INT = 2; // ≤ 15 digits, optional minus
const STR = 3; // printable ASCII, no `\`
const OTHER = 4; // true, false, an object, an array
const HARD = 5; // a fraction, an exponent, a long integer, a string with `\` or other bytes

/** 1 = object, 2 = array, by depth (index 0 unused). Calls never overlap: JS runs one at a time. */
const stack = new Uint8Array(MAX_DEPTH + 1);
/** Set by str(): 1 = the string held a byte that is not printable ASCII, 3 = it held a `\`. */
let strFlags = 0;

/** Index past the closing quote of the string whose content starts at `i`, or -1 if invalid. */
function str(b: Uint8Array, i: number, n: number): number {
  let f = 0;
  for (;;) {
    // Four bytes a step while all are plain (most of an entry is string content).
    while (
      i + 4 <= n &&
      (IN_STRING[b[i]!]! | IN_STRING[b[i + 1]!]! | IN_STRING[b[i + 2]!]! | IN_STRING[b[i + 3]!]!) === 0
    )
      i += 4;
    while (i < n && IN_STRING[b[i]!] === 0) i++;
    if (i >= n) return -1;
    const k = IN_STRING[b[i]!];
    if (k === 1) {
      strFlags = f;
      return i + 1;
    }
    if (k === 3) return -1;
    if (k === 4) {
      f |= 1;
      i++;
      continue;
    }
    f = 3; // `\`: exactly one escape follows
    const e = b[i + 1];
    if (e === 0x75) {
      if (i + 6 > n || !HEX[b[i + 2]!] || !HEX[b[i + 3]!] || !HEX[b[i + 4]!] || !HEX[b[i + 5]!]) return -1;
      i += 6;
    } else if (i + 1 < n && ESCAPE[e!] === 1) i += 2;
    else return -1;
  }
}

function ws(b: Uint8Array, i: number, n: number): number {
  while (i < n && WS[b[i]!] === 1) i++;
  return i;
}

function digits(b: Uint8Array, i: number, n: number): number {
  while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
  return i;
}

/** True when the n bytes at b[s] spell `time` (n = 4) or `timestamp` (n = 9). */
function isTime(b: Uint8Array, s: number, n: number): boolean {
  if (b[s] !== 0x74 || b[s + 1] !== 0x69 || b[s + 2] !== 0x6d || b[s + 3] !== 0x65) return false;
  if (n === 4) return true;
  return (
    b[s + 4] === 0x73 && b[s + 5] === 0x74 && b[s + 6] === 0x61 && b[s + 7] === 0x6d && b[s + 8] === 0x70
  );
}

/**
 * The entry's own time in ms, as `entryTime()` in time.ts; `unknown` where
 * that is undefined; NaN when this scanner does not decide and the caller
 * must parse. Never throws; O(entry length).
 */
export function scanTime(b: Uint8Array, unknown: number): number {
  const n = b.length;
  let i = b[0] === 0x7b ? 0 : ws(b, 0, n);
  if (b[i] !== 0x7b) return Number.NaN; // not an object: rare, JSON.parse decides
  i++;
  let depth = 1;
  stack[1] = 1;
  let tk = ABSENT; // top-level time: kind and bytes [ts, te)
  let ts = 0;
  let te = 0;
  let sk = ABSENT; // top-level timestamp
  let ss = 0;
  let se = 0;
  // Canonical JSON has no whitespace: each `ws()` runs only when the expected byte is not there.
  if (b[i] === 0x7d) return end(b, i + 1, n) ? unknown : Number.NaN;
  for (;;) {
    // A member name (in an object) or a value (in an array) starts at i.
    let member = 0; // 1: this value is top-level `time`, 2: `timestamp`
    if (b[i] !== 0x22 && b[i] !== 0x7b && b[i] !== 0x5b) i = ws(b, i, n);
    if (stack[depth] === 1) {
      if (b[i] !== 0x22) return Number.NaN;
      const s = i + 1;
      i = str(b, s, n);
      if (i < 0) return Number.NaN;
      if (depth === 1) {
        if (strFlags === 3) return Number.NaN; // "\u0074ime" names `time` too
        const len = i - 1 - s;
        if ((len === 4 || len === 9) && isTime(b, s, len)) member = len === 4 ? 1 : 2;
      }
      if (b[i] !== 0x3a) i = ws(b, i, n);
      if (b[i] !== 0x3a) return Number.NaN;
      i++;
      if (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09) i = ws(b, i, n);
    }
    // The value at i.
    const c = b[i];
    const s = i;
    let k = OTHER;
    if (c === 0x22) {
      i = str(b, i + 1, n);
      if (i < 0) return Number.NaN;
      k = strFlags === 0 ? STR : HARD;
    } else if (c === 0x7b || c === 0x5b) {
      if (member === 1) tk = OTHER;
      else if (member === 2) sk = OTHER;
      if (depth === MAX_DEPTH) return Number.NaN;
      i = ws(b, i + 1, n);
      if (b[i] !== (c === 0x7b ? 0x7d : 0x5d)) {
        stack[++depth] = c === 0x7b ? 1 : 2;
        continue;
      }
      i++; // an empty container
      member = 0;
    } else if ((c! >= 0x30 && c! <= 0x39) || c === 0x2d) {
      // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
      if (c === 0x2d) i++;
      if (b[i] === 0x30) i++;
      else if (b[i]! >= 0x31 && b[i]! <= 0x39) i = digits(b, i + 1, n);
      else return Number.NaN;
      k = i - s - (c === 0x2d ? 1 : 0) <= MAX_INT_DIGITS ? INT : HARD;
      if (b[i] === 0x2e) {
        const d = digits(b, i + 1, n);
        if (d === i + 1) return Number.NaN;
        i = d;
        k = HARD;
      }
      if (b[i] === 0x65 || b[i] === 0x45) {
        i++;
        if (b[i] === 0x2b || b[i] === 0x2d) i++;
        const d = digits(b, i, n);
        if (d === i) return Number.NaN;
        i = d;
        k = HARD;
      }
    } else if (c === 0x74) {
      if (i + 4 > n || b[i + 1] !== 0x72 || b[i + 2] !== 0x75 || b[i + 3] !== 0x65) return Number.NaN;
      i += 4;
    } else if (c === 0x66) {
      if (i + 5 > n || b[i + 1] !== 0x61 || b[i + 2] !== 0x6c || b[i + 3] !== 0x73 || b[i + 4] !== 0x65)
        return Number.NaN;
      i += 5;
    } else if (c === 0x6e) {
      if (i + 4 > n || b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return Number.NaN;
      i += 4;
      k = NUL;
    } else return Number.NaN;
    if (member === 1) {
      tk = k;
      ts = s;
      te = i;
    } else if (member === 2) {
      sk = k;
      ss = s;
      se = i;
    }
    // After a value: `,` and the next one, or closers.
    for (;;) {
      let d = b[i];
      if (d !== 0x2c && d !== 0x7d && d !== 0x5d) {
        i = ws(b, i, n);
        d = b[i];
      }
      if (d === 0x2c) {
        i++;
        break;
      }
      if (d !== (stack[depth] === 1 ? 0x7d : 0x5d)) return Number.NaN;
      i++;
      if (--depth === 0) {
        if (!end(b, i, n)) return Number.NaN;
        // ownTime(): a numeric `time`, else `time ?? timestamp` as a date string.
        if (tk !== ABSENT && tk !== NUL) return timeOf(b, tk, ts, te, true, unknown);
        return timeOf(b, sk, ss, se, false, unknown);
      }
    }
  }
}

/** True when only whitespace follows i (JSON.parse rejects anything else after the value). */
function end(b: Uint8Array, i: number, n: number): boolean {
  return ws(b, i, n) === n;
}

/**
 * ownTime() of one member's value of kind `k` at [s, e); `numeric` says
 * whether a number counts (`time`) or only a date string (`timestamp`).
 */
function timeOf(b: Uint8Array, k: number, s: number, e: number, numeric: boolean, unknown: number): number {
  if (k === INT && numeric) {
    const neg = b[s] === 0x2d;
    let v = 0;
    for (let d = neg ? s + 1 : s; d < e; d++) v = v * 10 + (b[d]! - 0x30);
    return neg ? 0 - v : v; // 0 - 0 is +0, as inRange()'s `+ 0`; ≤ 15 digits is within ±8.64e15
  }
  if (k === STR) {
    if (e - s - 2 > MAX_DATE_STRING) return unknown;
    const text = String.fromCharCode.apply(null, b.subarray(s + 1, e - 1) as unknown as number[]);
    const ms = Date.parse(text);
    return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms + 0 : unknown;
  }
  if (k === HARD) return Number.NaN;
  return unknown; // absent, null, a literal, a container, or a number as `timestamp`
}
