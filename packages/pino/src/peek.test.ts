import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { peekLine } from './decode.js';

// What a shed line is counted under in the gap record: its own level and time,
// read from the line's head without parsing it (red-team finding 11: an ISO
// `time` from pino.stdTimeFunctions.isoTime was counted at the receive time).
function lineFrom(options: pino.LoggerOptions): string {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  pino(options, sink).warn({ a: 1 }, 'shed me');
  return out.trimEnd();
}

describe('peekLine', () => {
  it('reads the level and epoch-ms time pino writes by default', () => {
    const line = lineFrom({});
    const t = (JSON.parse(line) as { time: number }).time;
    expect(peekLine(line)).toEqual({ level: 40, time: t });
  });

  it('reads an ISO time (pino.stdTimeFunctions.isoTime)', () => {
    // isoTime's own format, at a fixed past time so the receive time cannot pass for it.
    const iso = '2020-01-02T03:04:05.678Z';
    expect(pino.stdTimeFunctions.isoTime()).toMatch(/^,"time":"\d{4}-\d\d-\d\dT[\d:.]+Z"$/);
    const line = lineFrom({ timestamp: () => `,"time":"${iso}"` });
    expect(peekLine(line)).toEqual({ level: 40, time: Date.parse(iso) });
  });

  it('reads a level label from formatters.level', () => {
    const line = lineFrom({ formatters: { level: (label) => ({ level: label }) } });
    expect(peekLine(line).level).toBe('warn');
  });

  it('falls back to the receive time for an unreadable or over-long time', () => {
    const before = Date.now();
    for (const line of [
      '{"level":30,"time":"not a date"}',
      `{"level":30,"time":"${'9'.repeat(41)}"}`,
      '{"level":30}',
      'garbage',
    ]) {
      const p = peekLine(line);
      expect(p.time).toBeGreaterThanOrEqual(before);
      expect(p.time).toBeLessThanOrEqual(Date.now());
    }
    expect(peekLine('garbage').level).toBeUndefined();
  });
});
