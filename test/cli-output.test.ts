// `sealog tail` / `query` output modes (issue 19, item 6): -o short|json|cat|csv,
// colour only on a TTY without NO_COLOR, CSV safe for terminals and spreadsheets.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printer, useColor } from '../packages/cli/src/output.js';
import { Ledger, type StoredRecord } from '../packages/core/src/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const T = Date.UTC(2026, 0, 1);

async function ledgerWith(records: object[]): Promise<string> {
  const path = join(tempDir(), 'o.db');
  const ledger = Ledger.open({ path });
  for (const r of records) ledger.write(r);
  await ledger.close();
  return path;
}

const rec = (seq: number, entry: object): StoredRecord =>
  ({ seq, ts: T, entry: Buffer.from(JSON.stringify(entry)) }) as StoredRecord;

function render(values: Parameters<typeof printer>[0], r: StoredRecord, color = false): string {
  let out = '';
  const print = printer(values, (t) => (out += t), color);
  print(r);
  return out;
}

describe('-o short (default)', () => {
  it('drops a levelLabel that repeats the level and shortens long values', async () => {
    const long = 'x'.repeat(500);
    const path = await ledgerWith([
      { time: T, level: 30, levelLabel: 'info', msg: 'hello', user: 'u-1', blob: long, nested: { a: long } },
      { time: T, level: 30, levelLabel: 'audit', msg: 'custom label kept' },
    ]);
    const { code, out } = await runCli(['tail', path]);
    expect(code).toBe(0);
    const [first, second] = out.trim().split('\n');
    expect(first).toMatch(
      /^#0 2026-01-01T00:00:00\.000Z INFO {2}hello blob=x{79}… nested=\{"a":"x{73}… user=u-1$/,
    );
    expect(first).not.toContain('levelLabel');
    expect(first!.length).toBeLessThan(300);
    expect(second).toContain('levelLabel=audit');
  });

  it('colours the level (pino-pretty colours) only when asked, after escaping', () => {
    const r = rec(3, { time: T, level: 50, msg: 'boom \u001b[2J' });
    const plain = render({}, r);
    expect(plain).not.toContain('\u001b');
    const coloured = render({}, r, true);
    expect(coloured).toContain('\u001b[31mERROR');
    // The record's own ESC is still shown escaped; only our SGR codes are raw.
    expect(coloured).toContain('boom \\x1b[2J');
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
  });

  it('never colours json, cat or csv', () => {
    const r = rec(1, { level: 40, msg: 'w' });
    for (const o of ['json', 'cat', 'csv']) expect(render({ output: o }, r, true)).not.toContain('\u001b');
  });
});

describe('useColor', () => {
  it('is on for a TTY only, and NO_COLOR (non-empty) turns it off', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });
});

describe('-o json', () => {
  it('puts seq first, followed by the stored entry; --json is the same', async () => {
    const path = await ledgerWith([{ b: 1, a: 'x\ny', time: 5 }, { time: 6 }]);
    const o = await runCli(['tail', path, '-o', 'json']);
    expect(o.out).toBe('{"seq":0,"a":"x\\ny","b":1,"time":5}\n{"seq":1,"time":6}\n');
    expect((await runCli(['tail', path, '--json'])).out).toBe(o.out);
    expect((await runCli(['query', path, '--output', 'json'])).out).toBe(o.out);
  });

  it("an entry with its own seq is wrapped, so the ledger's seq is never ambiguous; {} stays valid", () => {
    expect(render({ output: 'json' }, rec(7, { seq: 99, msg: 'm' }))).toBe(
      '{"seq":7,"entry":{"seq":99,"msg":"m"}}\n',
    );
    expect(render({ output: 'json' }, rec(8, {}))).toBe('{"seq":8}\n');
  });
});

describe('-o cat', () => {
  it('prints the message only, escaped; a record without one is an empty line', async () => {
    const path = await ledgerWith([{ level: 30, msg: 'one\u001b]0;t\u0007' }, { message: 'two' }, { a: 1 }]);
    const { out } = await runCli(['query', path, '-o', 'cat']);
    expect(out).toBe('one\\x1b]0;t\\x07\ntwo\n\n');
  });
});

describe('option errors', () => {
  it('an unknown mode lists the modes; two modes at once are refused', async () => {
    const path = await ledgerWith([{ msg: 'm' }]);
    const bad = await runCli(['tail', path, '-o', 'pretty']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('short, json, cat, csv');
    expect((await runCli(['tail', path, '--json', '-o', 'cat'])).code).toBe(2);
    expect((await runCli(['tail', path, '--json', '--csv'])).code).toBe(2);
    expect((await runCli(['tail', path, '--json', '-o', 'json'])).code).toBe(0);
  });
});

describe('query --csv', () => {
  it('shows terminal escapes as text, defuses formulas and quotes per RFC 4180', async () => {
    const path = await ledgerWith([
      { time: T, level: 30, msg: '\u001b[31mred\u001b[0m, "q"' },
      { time: T, level: 30, msg: '=1+1', k: '@x' },
      { time: T, msg: 'a\r\nb' },
    ]);
    const { code, out } = await runCli(['query', path, '--csv']);
    expect(code).toBe(0);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out.split('\n')).toEqual([
      'seq,time,level,msg,fields',
      '0,2026-01-01T00:00:00.000Z,INFO,"\\x1b[31mred\\x1b[0m, ""q""",',
      `1,2026-01-01T00:00:00.000Z,INFO,'=1+1,"{""k"":""@x""}"`,
      '2,2026-01-01T00:00:00.000Z,,a\\r\\nb,',
      '',
    ]);
    expect((await runCli(['query', path, '-o', 'csv'])).out).toBe(out);
  });
});
