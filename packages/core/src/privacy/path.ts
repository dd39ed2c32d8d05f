// Field paths in pino's redaction syntax (fast-redact): dot notation `a.b`,
// bracket notation `a["x-y"]`, `a['x']`, `` a[`x`] ``, indices `a[0]`, and the
// wildcard `*` / `[*]`, which matches every key (or element) at exactly that one
// level, in first, middle or last position (`*.password` is one level deep,
// not "anywhere"). Unlike fast-redact we allow several wildcards in one path.
// Paths come from configuration, so errors name the offending path.

import { SealogError } from '../errors.js';

/** The `*` segment: every own key of an object, every index of an array. */
export const WILDCARD: unique symbol = Symbol('sealog.wildcard');
export type Segment = string | typeof WILDCARD;

const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENTS = 32;
// A bare (dot-notation) key: anything but the syntax characters, quotes and whitespace.
const BARE = /^[^.[\]'"`\s]+$/;

/**
 * Parses one path into segments.
 * @throws SealogError E_CONFIG naming `field` and the path when it cannot be parsed.
 */
export function parsePath(path: unknown, field: string): Segment[] {
  const fail = (why: string): never => {
    throw new SealogError(
      'E_CONFIG',
      `${field} ${JSON.stringify(path)} is not a valid path: ${why} (use pino syntax: a.b, a[*].b, a["x-y"], a[0])`,
    );
  };
  if (typeof path !== 'string') {
    throw new SealogError('E_CONFIG', `${field} must be a string path like "user.email"`);
  }
  if (path.length === 0) fail('it is empty');
  if (path.length > MAX_PATH_LENGTH) fail(`it is longer than ${MAX_PATH_LENGTH} characters`);
  const segments: Segment[] = [];
  let i = 0;
  let first = true;
  while (i < path.length) {
    const c = path[i];
    if (c === '[') {
      const [segment, next] = bracket(path, i + 1, fail);
      segments.push(segment);
      i = next;
    } else {
      if (!first) {
        if (c !== '.') fail(`unexpected "${c}" at offset ${i}`);
        i++;
      }
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      const word = path.slice(i, end);
      if (word === '') fail(`empty key at offset ${i}`);
      if (!BARE.test(word)) fail(`key "${word}" needs brackets and quotes, e.g. ["${word}"]`);
      segments.push(word === '*' ? WILDCARD : word);
      i = end;
    }
    first = false;
    if (segments.length > MAX_SEGMENTS) fail(`more than ${MAX_SEGMENTS} segments`);
  }
  return segments;
}

/** Parses `[...]` content starting after `[`; returns the segment and the offset after `]`. */
function bracket(path: string, start: number, fail: (why: string) => never): [Segment, number] {
  const q = path[start];
  if (q === '"' || q === "'" || q === '`') {
    let key = '';
    let i = start + 1;
    for (;;) {
      if (i >= path.length) fail('unterminated quoted key');
      const c = path[i] as string;
      if (c === '\\') {
        // Only \\ and \<quote> escapes: keys are literal text, not JS string syntax.
        const n = path[i + 1];
        if (n !== '\\' && n !== q) fail(`unsupported escape at offset ${i}`);
        key += n;
        i += 2;
      } else if (c === q) {
        i++;
        break;
      } else {
        key += c;
        i++;
      }
    }
    if (path[i] !== ']') fail(`expected "]" at offset ${i}`);
    return [key, i + 1];
  }
  const close = path.indexOf(']', start);
  if (close < 0) fail('unterminated "["');
  const inner = path.slice(start, close);
  if (inner === '*') return [WILDCARD, close + 1];
  // Canonical array indices only: "01" or "-1" would never match an element.
  if (/^(0|[1-9]\d{0,8})$/.test(inner)) return [inner, close + 1];
  return fail(`bracket content "${inner}" must be *, an index like 0, or a quoted key like ["${inner}"]`);
}

/** A stable text form of parsed segments, for comparing paths written differently. */
export function pathKey(segments: readonly Segment[]): string {
  return JSON.stringify(segments.map((s) => (s === WILDCARD ? 0 : s)));
}
