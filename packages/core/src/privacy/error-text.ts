// An error's text is written more than once. V8's `stack` starts with
// "<name>: <message>"; pino's err serializer folds every cause's message into
// `message` and appends each cause's stack ("caused by: ..."); errorFields (the
// encoder, winston's wire) keeps `cause` and AggregateError's `errors`; pino
// keeps `aggregateErrors`. The documented GDPR config scrubbed `err.message`
// and the raw address stayed in `err.stack` (issue 14, finding 9a). So a
// transform of an error's `message` is applied to all of that error's text:
// its stack, a string cause, and the message (and stack) of every nested error.

import type { Cow, LeafAction } from './rewrite.js';
import { REMOVE } from './rewrite.js';

/** How a stack follows its error's message: `before`/`after` are the message's old and new value. */
export type StackRule = (stack: string, before: unknown, after: unknown, type: string) => string;

/** Nested causes followed at most this deep (records are plain data, cycles already stand-ins). */
const MAX_NESTING = 16;
/** A V8 stack frame line: "    at fn (file:line:col)". */
const FRAME = /^\s+at \S/;
const NESTED_LISTS = ['errors', 'aggregateErrors'] as const;

/**
 * An error as it reaches the walker (toPlain's errorFields, pino's serializer,
 * winston's `{ message, stack }` record): an object with a string stack or type.
 */
export function isErrorLike(c: object): boolean {
  const r = c as Record<string, unknown>;
  return typeof r.stack === 'string' || typeof r.type === 'string';
}

/** The message text a rewritten message leaves in the stack. */
function textOf(after: unknown): string {
  if (typeof after === 'string') return after;
  return after === REMOVE || after === null || after === undefined ? '' : '[Redacted]';
}

/**
 * Default rule (redact, pseudonymize, generalize, noise): the stack keeps only
 * its frame lines under a new "<type>: <new message>" header. Every other line
 * (the old header, a multi-line message, pino's "caused by:" headers) may hold
 * the old text and goes; a frame line equal to a line of the old message
 * (a message with "\n    at ..." in it) goes too.
 */
export const rebuildStack: StackRule = (stack, before, after, type) => {
  const own = new Set(
    typeof before === 'string'
      ? before
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '')
      : [],
  );
  const frames = stack.split('\n').filter((l) => FRAME.test(l) && !own.has(l.trim()));
  const text = textOf(after);
  return [text === '' ? type : `${type}: ${text}`, ...frames].join('\n');
};

function typeOf(c: Record<string, unknown>, stack: string): string {
  if (typeof c.type === 'string' && /^[\w$.]{1,100}$/.test(c.type)) return c.type;
  if (typeof c.name === 'string' && /^[\w$.]{1,100}$/.test(c.name)) return c.name;
  return /^([A-Za-z_$][\w$.]{0,99})(?::|\n|$)/.exec(stack)?.[1] ?? 'Error';
}

/**
 * Called by the walker after `action` turned `before` into `after` at
 * `container.message`. Returns the container (copied on write) with its stack,
 * string cause and nested errors made to follow.
 */
export function followMessage(
  container: object,
  action: LeafAction,
  before: unknown,
  after: unknown,
  cow: Cow,
  depth = 0,
): object {
  let c = container;
  const r = () => c as Record<string, unknown>;
  const stack = r().stack;
  if (typeof stack === 'string') {
    const next = (action.stack ?? rebuildStack)(stack, before, after, typeOf(r(), stack));
    if (next !== stack) c = cow.set(c, 'stack', next);
  }
  if (depth >= MAX_NESTING) return c;
  const cause = r().cause;
  if (typeof cause === 'string') {
    const next = action(cause);
    if (next !== cause) c = cow.set(c, 'cause', next);
  } else if (isNestedError(cause)) {
    const next = nested(cause, action, cow, depth + 1);
    if (next !== cause) c = cow.set(c, 'cause', next);
  }
  for (const k of NESTED_LISTS) {
    const list = r()[k];
    if (!Array.isArray(list)) continue;
    let out: object = list;
    for (let i = 0; i < list.length; i++) {
      const e: unknown = list[i];
      if (!isNestedError(e)) continue;
      const next = nested(e, action, cow, depth + 1);
      if (next !== e) out = cow.set(out, String(i), next);
    }
    if (out !== list) c = cow.set(c, k, out);
  }
  return c;
}

function isNestedError(v: unknown): v is object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.hasOwn(v, 'message');
}

/** A nested error gets the transform of its parent's message, then its own text follows. */
function nested(e: object, action: LeafAction, cow: Cow, depth: number): object {
  const before = (e as Record<string, unknown>).message;
  const after = action(before);
  const out = after === before ? e : cow.set(e, 'message', after);
  return followMessage(out, action, before, after, cow, depth);
}
