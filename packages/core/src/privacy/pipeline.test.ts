import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../encode.js';
import { validatePrivacyConfig } from './config.js';
import { createPrivacyPipeline } from './pipeline.js';

// apply() writes in place into the containers it made itself (toPlain's
// copies of Maps, Errors, toJSON values, and the first copy of any caller
// container a step changes) and copies the caller's containers, once. These
// tests hold it to the promise that makes that safe: the caller's record is
// never mutated, whatever its shape, and the output does not depend on it.

const keys = ['a', 'b', 'id', 'msg', 'n', 'secret', 'ip', 'user', 'm', 'x'];
const leaf = fc.oneof(
  fc.constantFrom('203.0.113.7', 'mail a@b.example now', 'hunter2', '', '42'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 50 }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie('node'), { maxKeys: 4 }),
    fc
      .dictionary(fc.constantFrom(...keys), tie('node'), { maxKeys: 3 })
      .map((o) => new Map(Object.entries(o))),
    fc.array(tie('node'), { maxLength: 2 }).map((a) => new Set(a)),
    tie('node').map((v) => ({ toJSON: () => v })),
    fc
      .tuple(fc.constantFrom('failed for a@b.example', 'x'), tie('node'))
      .map(([m, cause]) => new Error(m, { cause })),
  ),
})).node;

/** A record whose containers may be shared between several places (a DAG), frozen all the way down. */
const record = fc
  .tuple(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 }), value)
  .map(([rec, shared]) => deepFreeze({ ...rec, s1: shared, s2: shared, s3: { a: shared } }));

function deepFreeze<T>(v: T, seen = new Set<unknown>()): T {
  if (typeof v !== 'object' || v === null || seen.has(v)) return v;
  seen.add(v);
  if (v instanceof Map) for (const [, x] of v) deepFreeze(x, seen);
  else if (v instanceof Set) for (const x of v) deepFreeze(x, seen);
  else for (const k of Reflect.ownKeys(v)) deepFreeze((v as Record<string | symbol, unknown>)[k], seen);
  return Object.freeze(v);
}

const config = validatePrivacyConfig({
  redact: { paths: ['secret', '*.secret', 's1.a', 'x[*].a'] },
  pseudonymize: { paths: ['user.id', 'id', 's2.id', 'm.id', '*.b'], keys: [{ id: 'k1', env: 'K' }] },
  generalize: [
    { path: 'ip', ip: { v4Prefix: 24, v6Prefix: 48 } },
    { path: 's1.ip', ip: {} },
  ],
  scrub: { paths: ['msg', '*.msg', 's3.a.msg', 'm.message'], replace: 'pseudonym' },
  noise: {
    unit: 'user.id',
    budget: { epsilon: 1000, windowSeconds: 1 },
    // ε = 1000 on Δ = 10 steps: the noise is 0 except with probability ~e^-100, so runs compare.
    fields: {
      n: { mechanism: 'laplace', epsilon: 500, lower: 0, upper: 10, granularity: 1 },
      's2.n': { mechanism: 'laplace', epsilon: 500, lower: 0, upper: 10, granularity: 1 },
    },
  },
});
let now = 0;
const pipeline = createPrivacyPipeline(config, {
  env: { K: createHash('sha256').update('k').digest('hex') },
  now: () => (now += 10_000), // a fresh budget window for every record
});

describe('apply writes in place only into what it made', () => {
  it('never mutates the caller record, shared or frozen containers included, and its output does not depend on a prior apply (property)', () => {
    fc.assert(
      fc.property(record, (rec) => {
        const before = encodeRecord(rec).json;
        // Frozen input: a write into any of the caller's containers would throw here.
        const first = encodeRecord(pipeline.apply(rec)).json;
        expect(encodeRecord(rec).json).toBe(before);
        expect(encodeRecord(pipeline.apply(rec)).json).toBe(first);
      }),
      { numRuns: 300 },
    );
  });

  it('writes into the copy of a container the caller shares between two paths only where a path leads', () => {
    const shared = Object.freeze({ a: 'hunter2', id: 'alice', n: 3 });
    const rec = Object.freeze({ s1: shared, s2: shared, other: shared });
    const out = pipeline.apply(rec) as Record<string, Record<string, unknown>>;
    expect(out.other).toBe(shared); // no path leads into it: the caller's object, shared
    expect(out.s1).not.toBe(shared);
    expect(out.s2).not.toBe(shared);
    expect(out.s1).not.toBe(out.s2);
    expect(out.s1).toEqual({ a: '[Redacted]', id: 'alice', n: 3 });
    expect(out.s2?.a).toBe('hunter2'); // s2.a is not configured
    expect(out.s2?.id).toMatch(/^psn:k1:/);
    expect((out.s2 as { n: { dp: string } }).n.dp).toBe('laplace');
    expect(shared).toEqual({ a: 'hunter2', id: 'alice', n: 3 });
  });
});
