import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { parsePath, pathKey, WILDCARD } from './path.js';

describe('parsePath (pino / fast-redact syntax)', () => {
  it.each([
    ['a', ['a']],
    ['a.b.c', ['a', 'b', 'c']],
    ['a["x-y"]', ['a', 'x-y']],
    ["a['x.y'].z", ['a', 'x.y', 'z']],
    ['a[`b c`]', ['a', 'b c']],
    ['["a"].b', ['a', 'b']],
    ['a[0].b', ['a', '0', 'b']],
    ['a[*].b', ['a', WILDCARD, 'b']],
    ['*.password', [WILDCARD, 'password']],
    ['a.*.c.*', ['a', WILDCARD, 'c', WILDCARD]],
    ['a["*"]', ['a', '*']],
    ['a["q\\"t"]', ['a', 'q"t']],
    ['__proto__.x', ['__proto__', 'x']],
  ])('%s', (path, want) => {
    expect(parsePath(path, 'f')).toEqual(want);
  });

  it.each([
    '',
    'a..b',
    'a.',
    '.a',
    'a[',
    'a[]',
    'a[b]',
    'a[-1]',
    'a[01]',
    'a["x"',
    'a["x"]b',
    'a b',
    'a[0]]',
    'a["\\n"]',
  ])('rejects %j with E_CONFIG naming the field and the path', (path) => {
    try {
      parsePath(path, 'privacy.redact.paths[3]');
      expect.unreachable();
    } catch (err) {
      expect(isSealogError(err) && err.code).toBe('E_CONFIG');
      expect((err as Error).message).toContain('privacy.redact.paths[3]');
      expect((err as Error).message).toContain(JSON.stringify(path));
    }
  });

  it('rejects non-strings', () => {
    expect(() => parsePath(42, 'f')).toThrow(/f must be a string/);
  });

  it('pathKey equates spellings of one path and separates * from ["*"]', () => {
    const k = (p: string) => pathKey(parsePath(p, 'f'));
    expect(k('user.id')).toBe(k('user["id"]'));
    expect(k("['user'].id")).toBe(k('user.id'));
    expect(k('a.*')).not.toBe(k('a["*"]'));
  });
});
