import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from './encode.js';
import { toPlain } from './plain.js';
import { validatePrivacyConfig } from './privacy/config.js';
import { createPrivacyPipeline } from './privacy/pipeline.js';

// toPlain is the one shape every transform and the encoder see: it must encode
// to the very bytes of the original, for any record shape.

/** Values that take every branch of the encoder: Maps, Sets, toJSON, Errors, Buffers, marks. */
const exotic = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.constantFrom(Number.NaN, 10n, Symbol('s'), () => 1, undefined, new Date(0), new Date(Number.NaN)),
    fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 3 }),
    fc
      .dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 3 })
      .map((o) => new Map(Object.entries(o))),
    fc.array(tie('value'), { maxLength: 3 }).map((a) => new Set(a)),
    tie('value').map((v) => ({ toJSON: () => v })),
    fc.tuple(fc.string(), tie('value')).map(([m, cause]) => new Error(m, { cause })),
    fc.array(tie('value'), { maxLength: 2 }).map((errs) => new AggregateError(errs, 'agg')),
  ),
})).value;

describe('toPlain', () => {
  it('encodes to the same bytes as the original (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), exotic, { maxKeys: 5 }), (rec) => {
        expect(encodeRecord(toPlain(rec)).json).toBe(encodeRecord(rec).json);
        expect(encodeRecord(toPlain(rec, 2), { maxDepth: 2 }).json).toBe(
          encodeRecord(rec, { maxDepth: 2 }).json,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('keeps cycles and throwing getters marked, and shares plain data', () => {
    const rec: Record<string, unknown> = { a: { b: 1 } };
    rec.self = rec;
    Object.defineProperty(rec, 'bad', {
      enumerable: true,
      get: () => {
        throw new Error('no');
      },
    });
    const out = toPlain(rec);
    expect(encodeRecord(out).json).toBe(encodeRecord(rec).json);
    expect(out.a).toBe(rec.a); // untouched plain subtree: the same object
    const plain = { x: [1, { y: 'z' }] };
    expect(toPlain(plain)).toBe(plain);
  });
});

/**
 * Every object reachable from `v` through own properties, Map entries, Set
 * members and toJSON results (the caller's too: the generators' toJSON returns
 * the same value every time).
 */
function reachable(v: unknown, out = new Set<object>()): Set<object> {
  if (typeof v !== 'object' || v === null || out.has(v)) return out;
  out.add(v);
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function' && !(v instanceof Date)) reachable(toJSON.call(v), out);
  if (v instanceof Map) for (const [k, x] of v) reachable(x, reachable(k, out));
  else if (v instanceof Set) for (const x of v) reachable(x, out);
  else
    for (const k of Reflect.ownKeys(v)) {
      try {
        reachable((v as Record<string | symbol, unknown>)[k], out);
      } catch {
        // a throwing getter holds nothing reachable
      }
    }
  return out;
}

describe('toPlain own', () => {
  it('reports exactly the containers it made: none reachable from the input, every other output container the input own (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), exotic, { maxKeys: 5 }), (rec) => {
        const input = reachable(rec);
        const owned = new Set<object>();
        const out = toPlain(rec, undefined, (c) => owned.add(c));
        for (const o of owned) expect(input.has(o)).toBe(false);
        const isContainer = (o: object) =>
          Array.isArray(o) ||
          Object.getPrototypeOf(o) === Object.prototype ||
          Object.getPrototypeOf(o) === null;
        for (const o of reachable(out)) {
          if (!isContainer(o)) continue;
          // A container in the output is either the caller's (shared, untouched) or one toPlain made.
          expect(input.has(o) || owned.has(o)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('no configured raw value reaches the encoded bytes, for any record shape', () => {
  const key = randomBytes(32).toString('base64');
  const pipeline = createPrivacyPipeline(
    validatePrivacyConfig({
      redact: { paths: ['secret', 'box.secret'] },
      pseudonymize: { paths: ['user.email'], keys: [{ id: 'k1', env: 'K' }] },
      scrub: { paths: ['err.message'], kinds: ['email'] },
    }),
    { env: { K: key } },
  );
  /** A value placed in a container of any kind the encoder expands. */
  const wrap = (v: unknown) =>
    fc
      .constantFrom<(x: unknown) => unknown>(
        (x) => x,
        (x) => new Map([['secret', x]]),
        (x) => ({ toJSON: () => ({ secret: x }) }),
      )
      .map((f) => f(v));

  it('redact / pseudonymize / scrub hold inside Maps, toJSON values, nested and aggregate errors (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{12,20}$/),
        fc.stringMatching(/^[a-z]{8,12}$/),
        fc.integer({ min: 0, max: 2 }),
        (raw, local, shape) =>
          fc.assert(
            fc.property(wrap(raw), (box) => {
              const email = `${local}@mail.example`;
              const inner = new Error(`for ${email}`);
              const err =
                shape === 0
                  ? new Error(`failed ${email}`)
                  : shape === 1
                    ? new Error(`failed ${email}`, { cause: inner })
                    : new AggregateError([inner], `failed ${email}`);
              const rec = {
                secret: raw,
                box: box instanceof Map || (box as { toJSON?: unknown }).toJSON ? box : { secret: box },
                user: new Map([['email', email]]),
                err,
              };
              const json = encodeRecord(pipeline.apply(rec)).json;
              expect(json).not.toContain(raw);
              expect(json).not.toContain(email);
            }),
            { numRuns: 3 },
          ),
      ),
      { numRuns: 100 },
    );
  });
});
