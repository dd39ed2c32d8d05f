import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecordReference } from './__tests__/encode-reference.js';
import {
  Coerced,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_STRING_LENGTH,
  type EncodeLimits,
  encodeRecord,
} from './encode.js';
import { toPlain } from './plain.js';

// The fast encoder (issue 15) must write exactly the bytes the encoder before
// it wrote, for every input: the reference is that encoder, kept verbatim in
// __tests__/encode-reference.ts. Both return { json, coerced }; both must match.

const same = (record: unknown, limits?: EncodeLimits): void => {
  expect(encodeRecord(record, limits)).toEqual(encodeRecordReference(record, limits));
};

// Code units that take every branch of string writing: ASCII, C0 controls,
// quote, backslash, DEL, lone and paired surrogates, BOM, U+2028/9, the rest.
const unit = fc
  .oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    fc.integer({ min: 0, max: 0x1f }),
    fc.constantFrom(0x22, 0x5c, 0x7f, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfeff, 0x2028, 0x2029, 0xffff),
    fc.integer({ min: 0x80, max: 0xffff }),
  )
  .map((c) => String.fromCharCode(c));
const nasty = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit, maxLength: 24 }) },
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constant('\ud83d\ude00'),
);
// Keys that sort in interesting places: integer-like ones (Object.keys lists them first),
// the reserved _sealog and its rename, __proto__, toJSON, and shared prefixes.
const key = fc.oneof(
  { weight: 4, arbitrary: nasty },
  fc.constantFrom('_sealog', '__sealog', '_sealoh', '_seal', '__proto__', 'toJSON', 'constructor'),
  fc.constantFrom('0', '1', '10', '2', '-1', '01', '4294967295', '4294967294', '1.5', ''),
  fc.constantFrom('a', 'ab', 'aa', 'B', 'b', 'Z', 'z', '\u00e9', '\ufb33', '\u20ac'),
);
const num = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, 0.1, 1e21, 1e-7, 2 ** 53, -(2 ** 31), Number.MAX_VALUE, Number.MIN_VALUE),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);
const thrower = (): unknown => {
  const o: Record<string, unknown> = { ok: 1 };
  Object.defineProperty(o, 'bad', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  return o;
};
const leaf = fc.oneof(
  { weight: 6, arbitrary: nasty },
  { weight: 4, arbitrary: num },
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    Coerced.CIRCULAR,
    Coerced.THROWS,
    Coerced.UNSERIALIZABLE,
    Symbol('s'),
    function named() {},
    () => 1,
    new Error('boom', { cause: 'c' }),
    new TypeError('t'),
  ),
  // Fresh objects each time: withCycles may add members to them.
  fc.constant(null).map(thrower),
  fc
    .constantFrom<() => unknown>(
      () => ({ toJSON: () => 'replaced' }),
      () => ({ toJSON: () => undefined }),
      () => ({ toJSON: () => ({ nested: [1, 'x'] }) }),
      () => ({
        toJSON() {
          throw new Error('toJSON');
        },
      }),
    )
    .map((make) => make()),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('object'),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(tie('value'), { maxLength: 4 }).map((a) => new Set(a)),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
  ),
  object: fc.oneof(
    fc.dictionary(key, tie('value'), { maxKeys: 8 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: false }),
  ),
}));
const record = fc.dictionary(key, value, { maxKeys: 12 });

/** Adds references back to ancestors (cycles) at positions chosen by `picks`. */
function withCycles(root: Record<string, unknown>, picks: number[]): Record<string, unknown> {
  const path: object[] = [];
  let n = 0;
  const walk = (o: unknown): void => {
    if (typeof o !== 'object' || o === null || path.includes(o) || Object.isFrozen(o)) return;
    if (Object.getPrototypeOf(o) !== Object.prototype && !Array.isArray(o)) return;
    path.push(o);
    for (const k of Object.keys(o)) {
      try {
        walk((o as Record<string, unknown>)[k]);
      } catch {
        // a throwing getter: nothing below it to link
      }
    }
    const pick = picks[n++ % Math.max(1, picks.length)] ?? 0;
    if (pick % 3 === 0) (o as Record<string, unknown>)[`cyc${pick}`] = path[pick % path.length];
    path.pop();
  };
  walk(root);
  return root;
}

const limits = fc.record(
  {
    maxDepth: fc.integer({ min: 1, max: 6 }),
    maxStringLength: fc.integer({ min: 1, max: 30 }),
    maxEntryBytes: fc.integer({ min: 20, max: 600 }),
  },
  { requiredKeys: [] },
);

describe('encodeRecord equals the encoder before issue 15, byte for byte', () => {
  it('property: arbitrary records with nasty strings, keys, coercions, default limits', () => {
    fc.assert(
      fc.property(record, (r) => same(r)),
      { numRuns: 1500 },
    );
  });

  it('property: arbitrary records under small limits (depth, string cut, entry cut)', () => {
    fc.assert(
      fc.property(record, limits, (r, l) => same(r, l)),
      { numRuns: 1500 },
    );
  });

  it('property: records with cycles, and their toPlain copies', () => {
    fc.assert(
      fc.property(record, fc.array(fc.nat(50), { maxLength: 6 }), limits, (r, picks, l) => {
        const cyclic = withCycles(r, picks);
        same(cyclic);
        same(cyclic, l);
        same(toPlain(cyclic));
      }),
      { numRuns: 500 },
    );
  });

  it('property: anything fast-check can build, as the record or under one key', () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
    });
    fc.assert(
      fc.property(anything, (v) => {
        same(v);
        same({ v });
        same({ v }, { maxDepth: 2, maxStringLength: 3, maxEntryBytes: 40 });
      }),
      { numRuns: 1000 },
    );
  });

  it('property: plain JSON records in shuffled key order (the typical input)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 40 }), (r) => {
        same(r);
        same(JSON.parse(JSON.stringify(r)));
      }),
      { numRuns: 500 },
    );
  });

  it('audit records as the benchmark logs them', () => {
    for (let i = 0; i < 2000; i++) {
      same({
        level: 30,
        time: 1_700_000_000_000 + i,
        msg: 'user exported invoices for customer support@example.com',
        user: { id: `u-${100000 + (i % 5000)}`, email: `user${i}@example.com`, password: 'hunter2' },
        client: { ip: `203.0.${(i >> 8) & 255}.${i & 255}`, ua: 'Mozilla/5.0 (X11; Linux x86_64)' },
        req: { method: 'POST', url: '/api/v1/invoices/export', headers: { authorization: 'Bearer x' } },
        action: 'invoice.export',
        latencyMs: 20 + (i % 500) + (i % 7) / 8,
      });
    }
  });

  it('at the depth limit: one below, at, and one above, default and small maxDepth', () => {
    for (const maxDepth of [undefined, 1, 2, 8]) {
      const d = maxDepth ?? DEFAULT_MAX_DEPTH;
      for (const levels of [d - 2, d - 1, d, d + 1, d + 5]) {
        let deep: unknown = { leaf: 'x', n: 1 };
        for (let i = 0; i < levels; i++) deep = i % 2 ? { d: deep } : [deep, Coerced.UNSERIALIZABLE];
        same({ deep }, { maxDepth });
      }
    }
  });

  it('at the string limit: length maxStringLength - 1, equal and + 1, in values and keys', () => {
    for (const len of [
      DEFAULT_MAX_STRING_LENGTH - 1,
      DEFAULT_MAX_STRING_LENGTH,
      DEFAULT_MAX_STRING_LENGTH + 1,
    ]) {
      for (const fill of ['x', '"', '\ud800', '\ud83d\ude00'.repeat(2)]) {
        const s = fill.repeat(Math.ceil(len / fill.length)).slice(0, len);
        same({ s });
        same({ [s]: 1 });
        same({ s }, { maxStringLength: len - 1 });
      }
    }
  });

  it('near and over the entry limit: many small fields, a few big ones, more than 1000 dropped names', () => {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) wide[`f${i}`] = i % 10 === 0 ? 'v'.repeat(2000) : `value ${i}`;
    same(wide);
    same(wide, { maxEntryBytes: 4096 });
    same(wide, { maxEntryBytes: 300_000 });
    const big = { level: 30, msg: 'm', blob: 'b'.repeat(DEFAULT_MAX_ENTRY_BYTES), _sealog: 'mine', time: 1 };
    same(big);
    const limit = { maxEntryBytes: 5000 };
    for (const n of [4990, 4996, 4997, 4998, 5000, 5001, 5010])
      same({ a: 'é'.repeat(n / 2 - 4), z: 1 }, limit);
  });

  it('records whose listing or reading throws', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('keys');
        },
      },
    );
    const protoThrows = new Proxy(
      { a: 1 },
      {
        getPrototypeOf() {
          throw new Error('proto');
        },
      },
    );
    const metaThrows = Object.defineProperty({ a: 1 }, '_sealog', {
      enumerable: true,
      get() {
        throw new Error('meta');
      },
    });
    for (const r of [
      hostile,
      { child: hostile },
      { child: protoThrows },
      { a: { b: protoThrows } },
      metaThrows,
    ])
      same(r);
    same('text');
    same(42);
    same([1, 2]);
    same(new Uint8Array(2));
    same(null);
    same(undefined);
  });
});
