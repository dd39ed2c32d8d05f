import { describe, expect, it } from 'vitest';
import { normalizeRecord } from './normalize.js';

const levels = {
  labels: { 10: 'trace', 30: 'info', 35: 'audit' },
  values: { trace: 10, info: 30, audit: 35 },
};

describe('normalizeRecord', () => {
  it('adds the label of a numeric level, custom levels included', () => {
    expect(normalizeRecord({ level: 35, msg: 'm' }, { levels })).toEqual({
      level: 35,
      levelLabel: 'audit',
      msg: 'm',
    });
  });

  it('falls back to pino defaults without config, and leaves unknown numbers unlabelled', () => {
    expect(normalizeRecord({ level: 50 }, {})).toEqual({ level: 50, levelLabel: 'error' });
    expect(normalizeRecord({ level: 99 }, { levels })).toEqual({ level: 99 });
  });

  it('restores the number when formatters.level emitted the label', () => {
    expect(normalizeRecord({ level: 'audit' }, { levels })).toEqual({ level: 35, levelLabel: 'audit' });
    expect(normalizeRecord({ level: 'nope' }, { levels })).toEqual({ level: 'nope' });
  });

  it('moves a custom messageKey to msg, never overwriting an existing msg', () => {
    expect(normalizeRecord({ level: 30, text: 'hi' }, { levels, messageKey: 'text' })).toEqual({
      level: 30,
      levelLabel: 'info',
      msg: 'hi',
    });
    expect(normalizeRecord({ text: 'a', msg: 'b' }, { messageKey: 'text' })).toEqual({ text: 'a', msg: 'b' });
  });

  it('does not take a levelLabel the app set itself, nor inherited keys as levels', () => {
    expect(normalizeRecord({ level: 30, levelLabel: 'mine' }, { levels })).toEqual({
      level: 30,
      levelLabel: 'mine',
    });
    expect(normalizeRecord({ level: 'toString' }, { levels })).toEqual({ level: 'toString' });
  });
});
