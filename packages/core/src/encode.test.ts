import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, encodeRecord } from './encode.js';

const enc = (v: unknown, limits = {}) => encodeRecord(v, limits);
const parsed = (v: unknown, limits = {}) => JSON.parse(enc(v, limits).json) as Record<string, unknown>;

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Compare positions in the text: Object.keys would put the integer-like "1" first.
    const text = canonicalJson(input);
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) =>
      text.indexOf(JSON.stringify(k)),
    );
    expect(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]!))).toBe(true);
  });

  it('serialises numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    expect(canonicalJson([1e30, 4.5, 0.002, 0.000001, 1e-7, -0, 333333333.3333333, 1e21])).toBe(
      '[1e+30,4.5,0.002,0.000001,1e-7,0,333333333.3333333,1e+21]',
    );
  });

  it('escapes strings minimally (RFC 8785 §3.2.2.2)', () => {
    expect(canonicalJson('\u0000\b\t\n\f\r"\\/\u001f\u007f€')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\\u001f\u007f€"',
    );
  });

  it('rejects what JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson('\ud800')).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
  });

  it('property: plain JSON values encode canonically and round-trip', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        const again = canonicalJson(JSON.parse(text));
        return text === again && JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON.parse(again));
      }),
      { numRuns: 300 },
    );
  });

  it('property: records of plain JSON are stored unmarked and equal to canonicalJson', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string().filter((k) => k !== '_sealog'),
          fc.jsonValue(),
        ),
        (rec) => {
          const out = enc(rec);
          return out.coerced.length === 0 && out.json === canonicalJson(JSON.parse(JSON.stringify(rec)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('encodeRecord: bad input is stored, marked, never thrown', () => {
  it('circular references become "[Circular]"', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    a.list = [a];
    expect(parsed(a)).toEqual({
      x: 1,
      self: '[Circular]',
      list: ['[Circular]'],
      _sealog: { coerced: ['circular'] },
    });
  });

  it('shared (non-circular) references are serialised in full each time', () => {
    const shared = { k: 1 };
    expect(parsed({ a: shared, b: shared })).toEqual({ a: { k: 1 }, b: { k: 1 } });
  });

  it('BigInt becomes its decimal string', () => {
    expect(parsed({ n: 123456789012345678901234567890n })).toEqual({
      n: '123456789012345678901234567890',
      _sealog: { coerced: ['bigint'] },
    });
  });

  it('undefined is omitted in objects and null in arrays, like JSON.stringify (no mark)', () => {
    const out = enc({ a: undefined, b: [undefined, 1] });
    expect(out.json).toBe('{"b":[null,1]}');
    expect(out.coerced).toEqual([]);
  });

  it('functions and symbols become descriptive strings', () => {
    function handler() {}
    expect(parsed({ f: handler, g: () => 1, s: Symbol('tag'), [Symbol('k')]: 1 })).toEqual({
      f: '[Function: handler]',
      g: '[Function: g]',
      s: 'Symbol(tag)',
      _sealog: { coerced: ['function', 'symbol'] },
    });
  });

  it('lone UTF-16 surrogates become U+FFFD in values and keys', () => {
    expect(parsed({ v: 'a\ud800b', 'k\udc00': 1 })).toEqual({
      v: 'a\ufffdb',
      'k\ufffd': 1,
      _sealog: { coerced: ['lone-surrogate'] },
    });
  });

  it('__proto__ keys are kept as plain data and pollute nothing', () => {
    const rec = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    const out = enc(rec);
    expect(out.json).toBe('{"__proto__":{"polluted":true},"a":1}');
    const back = JSON.parse(out.json);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('Dates become ISO strings; invalid Dates become null', () => {
    expect(parsed({ d: new Date(0), bad: new Date(Number.NaN) })).toEqual({
      d: '1970-01-01T00:00:00.000Z',
      bad: null,
    });
  });

  it('Errors keep type, message, stack, code and cause', () => {
    const cause = new TypeError('root cause');
    const err = Object.assign(new Error('outer', { cause }), { code: 'E_X' });
    const got = parsed({ err }).err as Record<string, unknown>;
    expect(got.type).toBe('Error');
    expect(got.message).toBe('outer');
    expect(got.code).toBe('E_X');
    expect(String(got.stack)).toContain('outer');
    expect((got.cause as Record<string, unknown>).type).toBe('TypeError');
    expect((got.cause as Record<string, unknown>).message).toBe('root cause');
  });

  it('Buffers and typed arrays become base64', () => {
    expect(parsed({ b: Buffer.from('hi'), u: new Uint8Array([1, 2]) })).toEqual({
      b: { type: 'Buffer', base64: 'aGk=' },
      u: { type: 'Buffer', base64: 'AQI=' },
    });
  });

  it('very deep nesting is cut at the depth limit', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const out = enc({ deep }, { maxDepth: 8 });
    expect(out.coerced).toEqual(['depth']);
    expect(out.json).toContain('"[MaxDepth]"');
    expect(() => enc({ deep })).not.toThrow();
  });

  it('very large strings are truncated with a marker stating how much was cut', () => {
    const out = parsed({ s: 'x'.repeat(100) }, { maxStringLength: 10 });
    expect(out.s).toBe(`${'x'.repeat(10)}…[truncated 90 chars]`);
    expect(out._sealog).toEqual({ coerced: ['string-too-long'] });
  });

  it('a key over maxStringLength is cut and marked on every record, whatever was encoded before', () => {
    // The key cache once kept the cut key: the next record lost its mark, and
    // a later encoder with the default limits wrote the cut key too.
    const key = `cut-key-${'k'.repeat(20)}`;
    const cut = {
      json: `{"_sealog":{"coerced":["string-too-long"]},"${key.slice(0, 10)}…[truncated ${key.length - 10} chars]":1}`,
      coerced: ['string-too-long'],
    };
    expect(enc({ [key]: 1 }, { maxStringLength: 10 })).toEqual(cut);
    expect(enc({ [key]: 1 }, { maxStringLength: 10 })).toEqual(cut);
    expect(enc({ [key]: 1 })).toEqual({ json: `{"${key}":1}`, coerced: [] });
    expect(enc({ [key]: 1 }, { maxStringLength: 10 })).toEqual(cut);
  });

  it('an oversized entry keeps its small top-level fields and lists what was dropped', () => {
    const rec = { level: 30, msg: 'big', time: 1, blob: 'y'.repeat(5000), more: 'z'.repeat(5000) };
    const out = parsed(rec, { maxEntryBytes: 2000 });
    expect(out).toMatchObject({ level: 30, msg: 'big', time: 1 });
    expect(out._sealog).toEqual({
      coerced: ['entry-too-large'],
      dropped: ['blob', 'more'],
      originalBytes: Buffer.byteLength(canonicalJson(rec)),
    });
  });

  it('throwing getters and toJSON are contained', () => {
    const rec = {
      get bad() {
        throw new Error('nope');
      },
      t: {
        toJSON() {
          throw new Error('nope');
        },
      },
      ok: 1,
    };
    expect(parsed(rec)).toEqual({
      bad: '[Throws]',
      t: '[Unserializable]',
      ok: 1,
      _sealog: { coerced: ['getter-threw'] },
    });
  });

  it('non-finite numbers become null, marked', () => {
    expect(parsed({ a: Number.POSITIVE_INFINITY, b: Number.NaN })).toEqual({
      a: null,
      b: null,
      _sealog: { coerced: ['non-finite'] },
    });
  });

  it('a non-object record is wrapped as { msg }', () => {
    expect(parsed('just text')).toEqual({ msg: 'just text', _sealog: { coerced: ['not-an-object'] } });
    expect(parsed(null)).toEqual({ msg: null, _sealog: { coerced: ['not-an-object'] } });
  });

  it("a caller's own _sealog field is kept under __sealog", () => {
    expect(parsed({ _sealog: 'mine' })).toEqual({ __sealog: 'mine', _sealog: { coerced: ['reserved-key'] } });
    expect(enc({ _sealog: undefined, a: 1 })).toEqual({ json: '{"a":1}', coerced: [] });
  });

  it('Maps and Sets are stored as objects and arrays', () => {
    expect(parsed({ m: new Map([['a', 1]]), s: new Set([1, 2]) })).toEqual({ m: { a: 1 }, s: [1, 2] });
  });

  it('property: any JS value encodes without throwing into valid, canonical JSON', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
        }),
        (v) => {
          const { json } = enc({ v });
          return canonicalJson(JSON.parse(json)) === json;
        },
      ),
      { numRuns: 300 },
    );
  });
});
