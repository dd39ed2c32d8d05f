import { describe, expect, it } from 'vitest';
import { UsageError } from './command.js';
import { parseDurationArg, parseTimeArg } from './time-arg.js';

const H = 3_600_000;
const D = 24 * H;

// prune --keep and verify --retention had a parser of their own that refused
// "30 days" while query --since "30 days" ago was accepted (issue 19 audit).
describe('parseDurationArg', () => {
  it('reads every form --since reads as a time ago', () => {
    const now = 10_000 * D;
    for (const text of ['30d', '30 days', '4w2d', '1d 12h', '720h', '30 day']) {
      const ago = parseTimeArg('since', text.includes(' ') ? `${text} ago` : `-${text}`, now);
      expect(parseDurationArg('keep', text), text).toBe(now - ago);
    }
    expect(parseDurationArg('keep', '30 days')).toBe(30 * D);
    expect(parseDurationArg('retention', '1d12h')).toBe(36 * H);
    expect(parseDurationArg('keep', '52w')).toBe(364 * D);
    expect(parseDurationArg('keep', '500ms')).toBe(500);
  });

  it('refuses what is not a duration, naming the flag and the units', () => {
    for (const text of ['', 'abc', '30', '5 parsecs', '30d ago', '1M', `${'1d'.repeat(40)}`, '-3d']) {
      expect(() => parseDurationArg('keep', text), JSON.stringify(text)).toThrow(UsageError);
      expect(() => parseDurationArg('keep', text)).toThrow(
        /^--keep ".*" is not a duration: write numbers with units/,
      );
    }
  });

  it('refuses a duration too large to count in ms exactly', () => {
    expect(() => parseDurationArg('keep', '999999999w999999999w')).toThrow(/is not a duration/);
  });
});
