// Issue 19, item 3 (and --level from item 9): time filters read times strictly. A date-time without a
// zone is UTC, like the output (it was local time, so a time copied from the
// output matched nothing under TZ=America/New_York); a bare number is not a
// year; journalctl's relative forms work.
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildQuery } from '../packages/cli/src/filters.js';
import { parseTimeArg } from '../packages/cli/src/time-arg.js';
import { Ledger } from '../packages/core/src/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const T = Date.UTC(2026, 11, 1, 17, 45, 47); // 2026-12-01T17:45:47Z
const NOW = Date.UTC(2026, 11, 3, 10, 30, 0, 250); // a Thursday, mid-morning UTC

async function ledger(): Promise<string> {
  const path = join(tempDir(), 't.db');
  const l = Ledger.open({ path });
  for (let i = -2; i <= 2; i++) l.write({ time: T + i * 1000, level: 30, msg: `at ${i}` });
  await l.close();
  return path;
}

const msgs = (out: string) => [...out.matchAll(/at (-?\d)/g)].map((m) => Number(m[1]));

describe('time filters read a zoneless time as UTC, whatever TZ says', () => {
  let tz: string | undefined;
  beforeEach(() => {
    tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
  });
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('--from "2026-12-01 17:45:47" selects from that UTC second, as the output prints it', async () => {
    expect(new Date(T).getHours()).toBe(12); // the TZ change took effect: local is UTC-5
    const path = await ledger();
    const r = await runCli(['query', path, '--from', '2026-12-01 17:45:47']);
    expect(r.err).toBe('');
    expect(msgs(r.out)).toEqual([0, 1, 2]);
    expect(r.out).toContain('2026-12-01T17:45:47.000Z');
    const to = await runCli(['query', path, '--from', '2026-12-01T17:45:46', '--to', '2026-12-01 17:45:48']);
    expect(msgs(to.out)).toEqual([-1, 0]);
  });

  it('an explicit zone is honoured; a date alone is 00:00 UTC', () => {
    expect(parseTimeArg('from', '2026-12-01T12:45:47-05:00', NOW)).toBe(T);
    expect(parseTimeArg('from', '2026-12-01 18:45:47+0100', NOW)).toBe(T);
    expect(parseTimeArg('from', '2026-12-01 17:45:47 UTC', NOW)).toBe(T);
    expect(parseTimeArg('from', '2026-12-01t17:45:47.250z', NOW)).toBe(T + 250);
    expect(parseTimeArg('from', '2026-12-01', NOW)).toBe(Date.UTC(2026, 11, 1));
    expect(parseTimeArg('from', '2026-12-01 17:45', NOW)).toBe(T - 47_000);
  });
});

describe('parseTimeArg: the forms the usage lists', () => {
  it('now, today, yesterday, tomorrow (days in UTC)', () => {
    expect(parseTimeArg('since', 'now', NOW)).toBe(NOW);
    expect(parseTimeArg('since', 'today', NOW)).toBe(Date.UTC(2026, 11, 3));
    expect(parseTimeArg('since', 'Yesterday', NOW)).toBe(Date.UTC(2026, 11, 2));
    expect(parseTimeArg('to', 'tomorrow', NOW)).toBe(Date.UTC(2026, 11, 4));
  });

  it('relative times, journalctl style: "2 minutes ago", 1w, -3d, "1h 30m ago", 15m', () => {
    expect(parseTimeArg('since', '2 minutes', NOW)).toBe(NOW - 120_000);
    expect(parseTimeArg('since', '2 minutes ago', NOW)).toBe(NOW - 120_000);
    expect(parseTimeArg('since', '1w', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTimeArg('since', '3 days ago', NOW)).toBe(NOW - 3 * 86_400_000);
    expect(parseTimeArg('since', '-3d', NOW)).toBe(NOW - 3 * 86_400_000);
    expect(parseTimeArg('since', '1h 30m ago', NOW)).toBe(NOW - 5_400_000);
    expect(parseTimeArg('since', '1h30min', NOW)).toBe(NOW - 5_400_000);
    expect(parseTimeArg('since', '15m', NOW)).toBe(NOW - 900_000);
    expect(parseTimeArg('since', '500ms ago', NOW)).toBe(NOW - 500);
    expect(parseTimeArg('since', '1 hour ago', NOW)).toBe(NOW - 3_600_000);
    expect(parseTimeArg('since', '2 weeks ago', NOW)).toBe(NOW - 14 * 86_400_000);
    expect(parseTimeArg('since', '10 sec ago', NOW)).toBe(NOW - 10_000);
  });

  it('epoch times: @seconds, or a bare 10-digit (seconds) or 13-digit (milliseconds) number', () => {
    expect(parseTimeArg('from', `@${T / 1000}`, NOW)).toBe(T);
    expect(parseTimeArg('from', `@${T / 1000}.5`, NOW)).toBe(T + 500);
    expect(parseTimeArg('from', '@1', NOW)).toBe(1000);
    expect(parseTimeArg('from', String(T / 1000), NOW)).toBe(T);
    expect(parseTimeArg('from', String(T), NOW)).toBe(T);
  });

  it('--since takes the same forms (a time, or a duration meaning that long ago)', () => {
    expect(buildQuery({ since: 'yesterday' }, NOW).tsFrom).toBe(Date.UTC(2026, 11, 2));
    expect(buildQuery({ since: '2026-12-01 17:45:47' }, NOW).tsFrom).toBe(T);
    expect(buildQuery({ since: '7d' }, NOW).tsFrom).toBe(NOW - 7 * 86_400_000);
    expect(buildQuery({ from: '1 minute ago', to: 'now' }, NOW)).toMatchObject({
      tsFrom: NOW - 60_000,
      tsTo: NOW,
    });
  });
});

describe('parseTimeArg agrees with the times we print', () => {
  const times = fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });
  const iso4 = (t: number) => {
    const s = new Date(t).toISOString(); // years 0-9999 print as YYYY-...
    return s.startsWith('+') || s.startsWith('-') ? undefined : s;
  };

  it('any printed time reads back exactly, with Z, without a zone, or with a space', () => {
    fc.assert(
      fc.property(times, (t) => {
        const s = iso4(t)!;
        expect(parseTimeArg('from', s, NOW)).toBe(t);
        expect(parseTimeArg('from', s.slice(0, -1), NOW)).toBe(t);
        expect(parseTimeArg('from', s.slice(0, -1).replace('T', ' '), NOW)).toBe(t);
      }),
    );
  });

  it('an offset moves the instant by exactly that much', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (t, off) => {
        const local = iso4(t)!.slice(0, -1);
        const a = Math.abs(off);
        const zone = `${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
        expect(parseTimeArg('from', `${local}${zone}`, NOW)).toBe(t - off * 60_000);
      }),
    );
  });
});

describe('parseTimeArg refuses what it would have to guess, and says what to write', () => {
  const cases: [string, RegExp][] = [
    ['1', /--from "1": a bare number is not a time.*@1/],
    ['2026', /--from "2026": a bare number is not a time.*2026-01-01/],
    ['20261201', /bare number/],
    ['soon', /--from "soon" is not a time; give .*2026-01-31T12:00:00Z.*UTC.*yesterday.*"2 hours ago"/],
    ['2026-02-30', /--from "2026-02-30": day 30 is not in 2026-02/],
    ['2026-13-01', /month 13/],
    ['2026-12-01 24:00', /hour 24/],
    ['2026-12-01 17:60', /minute 60/],
    ['2026-12-01 17:45:61', /second 61/],
    ['2026-12-01 17:45:47 EST', /is not a time/],
    ['2026-12-01T17:45:47+25:00', /offset/],
    ['1 month ago', /is not a time.*units/],
    ['1M', /is not a time/],
    ['Dec 1 2026', /is not a time/],
    ['', /is not a time/],
    [`${'9'.repeat(400)}`, /bare number|not a time/],
    ['99999999999 days ago', /out of range|is not a time/],
  ];
  for (const [text, msg] of cases) {
    it(JSON.stringify(text.slice(0, 30)), () => {
      expect(() => parseTimeArg('from', text, NOW)).toThrow(msg);
    });
  }

  it('through the CLI: exit 2, the message, and one line pointing at --help', async () => {
    const path = await ledger();
    const r = await runCli(['query', path, '--from', '1']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^sealog query: --from "1": a bare number is not a time/);
    expect(r.err).toContain('\nrun sealog query --help for usage\n');
    expect(r.err).not.toContain('usage: sealog');
  });

  it('report reads --from/--to the same way', async () => {
    const path = await ledger();
    const base = ['report', path, '--group-by', 'level', '--epsilon', '1', '--groups', '30'];
    const bad = await runCli([...base, '--from', '1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--from "1": a bare number is not a time/);
    const ok = await runCli([...base, '--from', 'yesterday', '--to', '2 minutes ago']);
    expect(ok.code, ok.err).toBe(0);
  });
});

describe('--level', () => {
  it('--level debugg lists the valid levels and the nearest', async () => {
    const r = await runCli(['query', 'x.db', '--level', 'debugg']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--level "debugg" is not a level; did you mean "debug"\?/);
    for (const l of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'verbose', 'notice', 'crit'])
      expect(r.err).toContain(l);
  });
});
