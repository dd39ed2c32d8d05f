import { encodeRecord } from '@sealog/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CopyState, recordFromInfo } from './record.js';
import { decodeLine, encodeLine } from './wire.js';

/** What the worker's encoder stores for the line, next to what it would store in-process. */
function bothWays(info: unknown, maxDepth?: number): { wired: string; direct: string; line: string } {
  const state: CopyState = { plain: true };
  const record = recordFromInfo(info, state);
  const line = encodeLine(record, state.plain, maxDepth);
  const limits = maxDepth === undefined ? {} : { maxDepth };
  return {
    line,
    wired: encodeRecord(decodeLine(line), limits).json,
    direct: encodeRecord(record, limits).json,
  };
}

const hostileKeys = fc.constantFrom('__proto__', '\u0000', '_sealog', 'toJSON', 'constructor', '\ud800', '');

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
      withUnicodeString: true,
      key: fc.oneof(fc.string(), hostileKeys),
    }),
    fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      Symbol('s'),
      Symbol(),
      () => 1,
      new Date(Number.NaN),
    ),
    fc.string().map((m) => new Error(m)),
    fc.string({ unit: 'binary' }),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), hostileKeys), tie('node'), { maxKeys: 4 }),
  ),
}));

describe('wire: a record crosses to the worker without changing the stored bytes', () => {
  it('property: worker-side encoding of the line equals in-process encoding of the record', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), hostileKeys), value.node), (info) => {
        const { wired, direct } = bothWays(info);
        expect(wired).toBe(direct);
      }),
      { numRuns: 400 },
    );
  });

  it('an own __proto__ key stays an own key through the copy (no prototype is set)', () => {
    const info = JSON.parse('{"message":"m","meta":{"__proto__":{"isAdmin":true},"a":1}}');
    const record = recordFromInfo(info);
    const meta = record.meta as Record<string, unknown>;
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.hasOwn(meta, '__proto__')).toBe(true);
    expect((meta as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    const { wired, direct } = bothWays(info);
    expect(wired).toBe(direct);
    expect(direct).toContain('"__proto__":{"isAdmin":true}');
  });

  it('plain records take the JSON.stringify path', () => {
    const { line, wired, direct } = bothWays({ message: 'm', at: new Date(0), n: [1, 'x', null, true] });
    expect(line.startsWith('{')).toBe(true);
    expect(wired).toBe(direct);
  });

  it('keeps the encoder marks: bigint, NaN, function, symbol, Error, Buffer, Map, Set', () => {
    const info = {
      big: 10n ** 30n,
      nan: Number.NaN,
      fn: function handler() {},
      sym: Symbol('k'),
      err: Object.assign(new TypeError('bad'), { code: 'E_X' }),
      buf: Buffer.from('hi'),
      map: new Map<unknown, unknown>([[1, { a: 1 }]]),
      set: new Set([1, 2]),
      bad: new Date(Number.NaN),
    };
    const { line, wired, direct } = bothWays(info);
    expect(line.startsWith('~')).toBe(true);
    expect(wired).toBe(direct);
    expect(JSON.parse(wired)._sealog.coerced).toEqual(['bigint', 'function', 'non-finite', 'symbol']);
  });

  it('cycles: to self, to a grandparent, through an Error cause', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const b: Record<string, unknown> = { inner: { deeper: {} } };
    (b.inner as { deeper: Record<string, unknown> }).deeper.up = b;
    const err = new Error('loop') as Error & { cause?: unknown };
    err.cause = err;
    for (const info of [{ a }, { b }, { err }, { list: [a, a] }]) {
      const { wired, direct } = bothWays(info);
      expect(wired).toBe(direct);
      expect(wired).toContain('circular');
    }
  });

  it('throwing getters, throwing toJSON and throwing proxies keep the same stand-ins and marks', () => {
    class Getter {
      get boom(): never {
        throw new Error('secret-value');
      }
    }
    Object.defineProperty(Getter.prototype, 'boom', { enumerable: true });
    const g = new Getter();
    Object.defineProperty(g, 'own', {
      enumerable: true,
      get: () => {
        throw new Error('x');
      },
    });
    const badToJSON = {
      toJSON: () => {
        throw new Error('y');
      },
    };
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('z');
        },
      },
    );
    const named = Object.defineProperty(() => 1, 'name', {
      get: () => {
        throw new Error('n');
      },
    });
    // Held by a class instance: recordFromInfo copies plain objects (and would trip on the proxy itself).
    const holder = new (class Holder {
      proxy = proxy;
    })();
    for (const info of [{ g }, { t: [badToJSON] }, { holder }, { f: named }, { deep: { f: named } }]) {
      const { wired, direct } = bothWays(info);
      expect(wired).toBe(direct);
      expect(wired).toContain('getter-threw');
      expect(wired).not.toContain('secret-value');
    }
  });

  it('nesting beyond maxDepth is cut exactly where the encoder cuts it, for any maxDepth', () => {
    let deep: Record<string, unknown> = { leaf: 1n };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    for (const maxDepth of [undefined, 3, 80, 200]) {
      const { wired, direct } = bothWays({ deep }, maxDepth);
      expect(wired).toBe(direct);
    }
  });

  it('a line that is not JSON throws a SyntaxError for the worker to count, nothing else', () => {
    expect(() => decodeLine('{"a":')).toThrow(SyntaxError);
    expect(() => decodeLine('~[')).toThrow(SyntaxError);
  });
});
