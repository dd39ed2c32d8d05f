import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

// A log injector controls strings in messages, keys and levels. `sealog tail`
// must print one line per record whatever they contain (no forged lines, no
// terminal repainting), and `query --csv` must not hand a spreadsheet a formula.

const NASTY = [
  '\u001b[31mred\u001b[0m\u001b[2J\u001b]0;title\u0007', // ANSI SGR, clear screen, OSC title
  'line1\nFAKE #999 2026-01-01T00:00:00.000Z INFO  forged',
  'cr\roverwrite',
  'ls\u2028ps\u2029nel\u0085',
  'c1 csi \u009b31m and del \u007f and nul \u0000',
  'bidi \u202eevil\u202c \u2066iso\u2069',
  'lone \ud800 high and \udc00 low',
  "=cmd|' /C calc'!A0",
  '+1+1',
  '-2+3',
  '@SUM(A1:A2)',
  '\t=1+1',
  '\r=1+1',
];

async function hostileLedger(): Promise<string> {
  const path = join(tempDir(), 'hostile.db');
  const sink = await openSink({ path });
  for (const [i, s] of NASTY.entries()) {
    sink.write({ level: 30, time: 1_700_000_000_000 + i, msg: s, [`k${s}`]: s, i });
    sink.write({ level: s, time: 1_700_000_000_000 + i, message: s, i }); // winston-style string level
  }
  await sink.close();
  return path;
}

/** Minimal RFC 4180 parser: rows of cells, quoted cells may hold newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

describe('log injection through tail and query', () => {
  it('tail prints exactly one escaped line per record: no raw control, ANSI or line-separator characters', async () => {
    const path = await hostileLedger();
    const { code, out } = await runCli(['tail', path, '-n', '1000']);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(NASTY.length * 2);
    for (const [k, l] of lines.entries()) expect(l.startsWith(`#${k} `), l).toBe(true);
    // Nothing a terminal would act on survives: C0 (bar none), DEL, C1, LS/PS, lone surrogates.
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(out.isWellFormed()).toBe(true);
    expect(out).toContain('\\x1b[31mred');
    expect(out).toContain('line1\\nFAKE #999');
    expect(out).toContain('\\u2028');
  });

  it('tail --json prints one parseable JSON line per record', async () => {
    const path = await hostileLedger();
    const { code, out } = await runCli(['tail', path, '-n', '1000', '--json']);
    expect(code).toBe(0);
    const lines = out.split('\n').slice(0, -1);
    expect(lines).toHaveLength(NASTY.length * 2);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    // JSON escapes every C0 control, so no raw newline, CR or ESC can split or repaint a line.
    expect(out.slice(0, -1)).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('query --csv defuses formula injection in every cell and keeps one row per record', async () => {
    const path = await hostileLedger();
    const { code, out } = await runCli(['query', path, '--csv']);
    expect(code).toBe(0);
    const rows = parseCsv(out);
    expect(rows[0]).toEqual(['seq', 'time', 'level', 'msg', 'fields']);
    expect(rows).toHaveLength(1 + NASTY.length * 2);
    for (const row of rows.slice(1)) {
      expect(row).toHaveLength(5);
      for (const cell of row) expect(cell, JSON.stringify(row)).not.toMatch(/^[=+\-@\t\r]/);
    }
    // The payloads are there, defused by a leading quote, not dropped.
    expect(rows.some((r) => r[3] === "'=cmd|' /C calc'!A0")).toBe(true);
    expect(rows.some((r) => r[3] === "'@SUM(A1:A2)")).toBe(true);
  });
});
