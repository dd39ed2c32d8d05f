import { describe, expect, it } from 'vitest';
import { validatePrivacyConfig } from './config.js';
import { createPrivacyPipeline } from './pipeline.js';

function redactor(paths: string[], extra: Record<string, unknown> = {}) {
  return createPrivacyPipeline(validatePrivacyConfig({ redact: { paths, ...extra } }));
}

describe('redact', () => {
  // docs/privacy.md "Paths": a path reaches one shape only (as pino's redact does); the
  // docs tell users to list each shape they log. Pinned so the docs stay true.
  it('a path reaches one shape: user.id misses an array and a literal dotted key, which need their own paths', () => {
    const rec = () => ({ a: { user: { id: 'A1' } }, b: { user: [{ id: 'A2' }] }, c: { 'user.id': 'A3' } });
    const narrow = redactor(['a.user.id', 'b.user.id', 'c.user.id']).apply(rec());
    expect(narrow).toEqual({
      a: { user: { id: '[Redacted]' } },
      b: { user: [{ id: 'A2' }] },
      c: { 'user.id': 'A3' },
    });
    const each = redactor(['a.user.id', 'b.user[*].id', 'c["user.id"]']).apply(rec());
    expect(each).toEqual({
      a: { user: { id: '[Redacted]' } },
      b: { user: [{ id: '[Redacted]' }] },
      c: { 'user.id': '[Redacted]' },
    });
  });

  it('censors static, quoted and indexed paths and leaves missing paths alone', () => {
    const p = redactor(['a.b', 'h["x-key"]', 'list[1].s', 'nope.nothing', 'a.missing']);
    const out = p.apply({ a: { b: 1, c: 2 }, h: { 'x-key': 'k', y: 'v' }, list: [{ s: 0 }, { s: 1 }], z: 3 });
    expect(out).toEqual({
      a: { b: '[Redacted]', c: 2 },
      h: { 'x-key': '[Redacted]', y: 'v' },
      list: [{ s: 0 }, { s: '[Redacted]' }],
      z: 3,
    });
  });

  it('wildcards match one level: first, middle, last, several', () => {
    const p = redactor(['*.secret', 'arr[*].pw', 'm.*', 'deep.*.x.*.y']);
    const rec = {
      secret: 'top-level is not matched by *.secret',
      u: { secret: 's1', keep: 1 },
      v: { secret: 's2' },
      w: { inner: { secret: 'two levels down is not matched' } },
      arr: [{ pw: 'p1' }, { pw: 'p2', ok: true }, 'scalar'],
      m: { a: 1, b: [1] },
      deep: { i: { x: { j: { y: 'Y1', n: 0 }, k: { y: 'Y2' } } }, q: { x: 'leaf' } },
    };
    expect(p.apply(rec)).toEqual({
      secret: 'top-level is not matched by *.secret',
      u: { secret: '[Redacted]', keep: 1 },
      v: { secret: '[Redacted]' },
      w: { inner: { secret: 'two levels down is not matched' } },
      arr: [{ pw: '[Redacted]' }, { pw: '[Redacted]', ok: true }, 'scalar'],
      m: { a: '[Redacted]', b: '[Redacted]' },
      deep: { i: { x: { j: { y: '[Redacted]', n: 0 }, k: { y: '[Redacted]' } } }, q: { x: 'leaf' } },
    });
  });

  it('remove deletes keys (and leaves null holes in arrays, as JSON.stringify would)', () => {
    const p = redactor(['a.b', 'l[0]'], { remove: true });
    expect(p.apply({ a: { b: 1, c: 2 }, l: [1, 2] })).toEqual({ a: { c: 2 }, l: [undefined, 2] });
  });

  it('custom censor', () => {
    expect(redactor(['k'], { censor: '***' }).apply({ k: 'v' })).toEqual({ k: '***' });
  });

  it('never mutates the input and shares untouched subtrees', () => {
    const p = redactor(['a.b', '*.c', 'x[*].y']);
    const rec = {
      a: { b: 1, c: 2 },
      big: { c: 'c', other: { n: 1 } },
      x: [{ y: 1 }, { z: 2 }],
      untouched: { q: 1 },
    };
    Object.freeze(rec.a);
    const before = structuredClone(rec);
    const out = p.apply(rec);
    expect(rec).toEqual(before);
    expect(out).not.toBe(rec);
    expect(out.untouched).toBe(rec.untouched);
    expect((out.big as { other: unknown }).other).toBe(rec.big.other);
    expect((out.x as unknown[])[1]).toBe(rec.x[1]);
    expect(out.a).toEqual({ b: '[Redacted]', c: '[Redacted]' });
  });

  it('returns the same object when nothing matched', () => {
    const rec = { msg: 'hi' };
    expect(redactor(['a.b']).apply(rec)).toBe(rec);
  });

  it('__proto__ paths and keys never touch prototypes', () => {
    const p = redactor(['__proto__.polluted', 'a.__proto__', 'b["__proto__"].x', '*.y']);
    const rec = JSON.parse(
      '{"__proto__":{"polluted":"v"},"a":{"__proto__":{"z":1}},"b":{"__proto__":{"x":"s"}},"c":{"y":2}}',
    );
    const out = p.apply(rec);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.a)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe(
      '{"__proto__":{"polluted":"[Redacted]"},"a":{"__proto__":"[Redacted]"},"b":{"__proto__":{"x":"[Redacted]"}},"c":{"y":"[Redacted]"}}',
    );
    // A path through an inherited __proto__ (no own key) finds nothing.
    expect(redactor(['__proto__.toString']).apply({ a: 1 })).toEqual({ a: 1 });
  });

  it('does not treat array length or inherited keys as fields', () => {
    const p = redactor(['l.length', 'o.toString']);
    const rec = { l: [1, 2], o: {} };
    expect(p.apply(rec)).toBe(rec);
  });

  it('descends into Errors (own message), Maps and toJSON values as the encoder would see them', () => {
    const p = redactor(['err.message', 'm.pw', 'j.pw']);
    const err = new Error('secret in message');
    const out = p.apply({ err, m: new Map([['pw', 'x']]), j: { toJSON: () => ({ pw: 'y', k: 1 }) } });
    expect(err.message).toBe('secret in message');
    // The Error is its encoded fields (plain.ts); its stack follows the redacted message.
    const e = out.err as Record<string, unknown>;
    expect(e.type).toBe('Error');
    expect(e.message).toBe('[Redacted]');
    expect(e.stack).toMatch(/^Error: \[Redacted\]\n\s+at /);
    expect(JSON.stringify(out)).not.toContain('secret');
    expect(out.m).toEqual({ pw: '[Redacted]' });
    expect(out.j).toEqual({ pw: '[Redacted]', k: 1 });
  });
});
