import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordFromInfo } from './record.js';

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

describe('recordFromInfo', () => {
  it('stores string-keyed fields and the uncolorized level; not the formatted line or splat', () => {
    const info = {
      level: '\u001b[32minfo\u001b[39m',
      message: 'm',
      user: { id: 1 },
      [LEVEL]: 'info',
      [MESSAGE]: '{"secret":"x"}',
      [SPLAT]: ['x'],
    };
    expect(recordFromInfo(info)).toEqual({ level: 'info', message: 'm', user: { id: 1 } });
  });

  it('copies nested plain data: later mutation of the info does not change the record', () => {
    const info = { message: 'm', meta: { roles: ['reader'] } };
    const rec = recordFromInfo(info);
    info.meta.roles.push('admin');
    expect(rec.meta).toEqual({ roles: ['reader'] });
  });

  it('keeps message and stack of an Error logged as the info itself', () => {
    const err = Object.assign(new Error('boom'), { level: 'error', [LEVEL]: 'error' });
    const rec = recordFromInfo(err);
    expect(rec).toMatchObject({ level: 'error', message: 'boom' });
    expect(String(rec.stack)).toContain('boom');
  });

  it('survives cycles and throwing getters without throwing', () => {
    const cyclic: Record<string, unknown> = { message: 'c' };
    cyclic.self = cyclic;
    const rec = recordFromInfo(cyclic);
    expect((rec.self as Record<string, unknown>).self).toBe(rec.self);
    const hostile = {
      message: 'h',
      get bad(): never {
        throw new Error('getter');
      },
    };
    expect(recordFromInfo(hostile)).toMatchObject({ message: 'h', sealogUnreadableInfo: true });
  });

  it('never mutates the info (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (fields, level) => {
        const info: Record<string | symbol, unknown> = { ...fields, [LEVEL]: level };
        const before = structuredClone(fields);
        recordFromInfo(info);
        expect({ ...info }).toEqual({ ...before, [LEVEL]: level });
      }),
    );
  });
});
